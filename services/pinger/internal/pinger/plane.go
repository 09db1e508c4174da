package pinger

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"

	"chaossuite.dev/shared/auth"
	"chaossuite.dev/shared/lever"
	"chaossuite.dev/shared/web"
)

// The plan's control plane: the safety lever fanned out to every service that causes chaos,
// the chaos settings relayed to the reaper and the helmsman, and each target's load.

// SuiteHalt is the lever across the suite as /info shows it: halted when the pinger or any
// peer is.
type SuiteHalt struct {
	Halted bool                   `json:"halted"`
	Since  *time.Time             `json:"since,omitempty"`
	By     []string               `json:"by,omitempty"` // the services halted
	States map[string]lever.State `json:"states"`
	Errors []string               `json:"errors,omitempty"`
}

// haltState gathers the lever of the pinger and its peers.
func (p *Pinger) haltState(ctx context.Context) SuiteHalt {
	h := SuiteHalt{States: map[string]lever.State{"pinger": p.lever.State()}}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, peer := range p.chaosPeers() {
		wg.Go(func() {
			st := peer.call(ctx, http.MethodGet, "/halt", nil, 5*time.Second)
			mu.Lock()
			defer mu.Unlock()
			if st.Error != "" {
				h.Errors = append(h.Errors, st.Error)
				return
			}
			var s lever.State
			if json.Unmarshal(st.Answer, &s) == nil {
				h.States[peer.Name] = s
			}
		})
	}
	wg.Wait()
	for _, name := range []string{"pinger", "nodekiller", "reaper", "helmsman"} {
		s, ok := h.States[name]
		if !ok || !s.Halted {
			continue
		}
		h.Halted = true
		h.By = append(h.By, name)
		if s.Since != nil && (h.Since == nil || s.Since.Before(*h.Since)) {
			h.Since = s.Since
		}
	}
	return h
}

// chaosPeers are the configured services that cause chaos.
func (p *Pinger) chaosPeers() []*Peer {
	var out []*Peer
	for _, peer := range []*Peer{p.nodekiller, p.reaper, p.helmsman} {
		if peer.configured() {
			out = append(out, peer)
		}
	}
	return out
}

// planRoutes adds the plan's control plane; everything that changes state needs the token.
func planRoutes(r chi.Router, p *Pinger) {
	guard := r.With(auth.Destructive(p.token))
	guard.Method(http.MethodPost, "/halt", handleLever(p, true))
	guard.Method(http.MethodPost, "/resume", handleLever(p, false))
	r.Method(http.MethodGet, "/halt", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		web.Encode(w, http.StatusOK, p.haltState(r.Context()))
	}))
	guard.Method(http.MethodPut, "/chaos", handleChaos(p))
	guard.Method(http.MethodPut, "/rate", handleRate(p))
	guard.Method(http.MethodPut, "/targets", handleSetTargets(p))
	guard.Method(http.MethodDelete, "/targets", handleResetTargets(p))
}

// refuseChaosWhenHalted answers 409 to whatever would start chaos while the pinger's lever is
// pulled.
func (p *Pinger) refuseChaosWhenHalted(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			switch r.URL.Path {
			case "/start", "/start-reaper", "/start-helmsman":
				if p.lever.Refuse(w, "chaos is") {
					return
				}
			}
		}
		next.ServeHTTP(w, r)
	})
}

// LeverAnswer is what POST /halt and /resume answer: the pinger's lever and each peer's.
type LeverAnswer struct {
	Pinger lever.Answer         `json:"pinger"`
	Peers  map[string]PeerState `json:"peers"`
}

// handleLever pulls (halt) or lifts the lever here and on the nodekiller, the reaper and the
// helmsman at once. A halt answers once each has stopped its chaos; a peer that could not be
// told makes it 502, naming it, while the lever holds wherever it landed.
func handleLever(p *Pinger, halt bool) http.Handler {
	path := "/resume"
	if halt {
		path = "/halt"
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var out LeverAnswer
		if halt {
			out.Pinger.Changed = p.lever.Halt(r.RemoteAddr)
			p.log.Warn("halted: the suite refuses kills and upgrades until POST /resume", "by", r.RemoteAddr)
		} else {
			out.Pinger.Changed = p.lever.Resume()
			p.log.Info("resumed: the lever is lifted", "by", r.RemoteAddr)
		}
		out.Pinger.State = p.lever.State()
		out.Peers = map[string]PeerState{}
		var mu sync.Mutex
		var wg sync.WaitGroup
		for _, peer := range p.chaosPeers() {
			wg.Go(func() {
				st := peer.Post(r.Context(), path)
				mu.Lock()
				defer mu.Unlock()
				out.Peers[peer.Name] = st
			})
		}
		wg.Wait()
		status := http.StatusOK
		for _, st := range out.Peers {
			if st.Error != "" {
				status = http.StatusBadGateway
			}
		}
		web.Encode(w, status, out)
	})
}

// ChaosRequest is the body of PUT /chaos: the reaper's settings (kill) and the helmsman's
// (upgrade), each passed on as its PUT /settings; a part left out is not touched, an empty one
// ({}) puts the service back to its configured settings.
type ChaosRequest struct {
	Kill    json.RawMessage `json:"kill,omitempty"`
	Upgrade json.RawMessage `json:"upgrade,omitempty"`
}

func handleChaos(p *Pinger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req ChaosRequest
		if err := web.Decode(r, &req); err != nil {
			web.Fail(w, err)
			return
		}
		out := map[string]PeerState{}
		status := http.StatusOK
		for _, part := range []struct {
			peer *Peer
			body json.RawMessage
		}{{p.reaper, req.Kill}, {p.helmsman, req.Upgrade}} {
			if len(part.body) == 0 {
				continue
			}
			if !part.peer.configured() {
				web.Error(w, http.StatusConflict, part.peer.Name+" is not configured (set "+upper(part.peer.Name)+"_URL): its settings cannot be set")
				return
			}
			st := part.peer.call(r.Context(), http.MethodPut, "/settings", part.body, 10*time.Second)
			out[part.peer.Name] = st
			if st.Status/100 == 4 && status == http.StatusOK {
				status = st.Status
			} else if st.Error != "" {
				status = http.StatusBadGateway
			}
		}
		web.Encode(w, status, out)
	})
}

// RateRequest is the body of PUT /rate: a target's load from now (from the next start while
// the pingers are stopped): qps, or a ramp from qps to `to` over `over`; reset goes back to
// its configured rate.
type RateRequest struct {
	Target string  `json:"target"`
	QPS    float64 `json:"qps,omitempty"`
	To     float64 `json:"to,omitempty"`
	Over   string  `json:"over,omitempty"`
	Reset  bool    `json:"reset,omitempty"`
}

func handleRate(p *Pinger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req RateRequest
		if err := web.Decode(r, &req); err != nil {
			web.Fail(w, err)
			return
		}
		var pr *probe
		for _, t := range p.probes() {
			if t.target.Name == req.Target {
				pr = t
			}
		}
		if pr == nil {
			web.Error(w, http.StatusNotFound, "no target "+req.Target)
			return
		}
		pacer := pr.attacker.Pacer.(*ShapedPacer)
		now := p.clock.Now()
		if req.Reset {
			pacer.Reset(now)
		} else {
			s := Shape{From: req.QPS, To: req.QPS}
			if req.Over != "" {
				d, err := time.ParseDuration(req.Over)
				if err != nil || d < 0 || d > 24*time.Hour {
					web.Error(w, http.StatusBadRequest, "over "+req.Over+": want a duration up to 24h, such as 60s")
					return
				}
				s.Over, s.To = d, req.To
			}
			if err := pacer.Set(now, s); err != nil {
				web.Error(w, http.StatusBadRequest, "target "+req.Target+": want "+err.Error())
				return
			}
		}
		web.Encode(w, http.StatusOK, map[string]any{"target": req.Target, "shape": pacer.Shape(), "rate": pacer.Rate(now)})
	})
}

func (t *probe) rate(now time.Time) float64 {
	if s, ok := t.attacker.Pacer.(*ShapedPacer); ok {
		return s.Rate(now)
	}
	return t.target.QPS
}
