package pinger

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"chaossuite.dev/shared/auth"
)

// Peer is a control loop the pinger drives: the reaper or the helmsman.
type Peer struct {
	Name   string
	URL    string // base URL; empty when not configured
	Token  string // never logged
	Client *http.Client
}

func (p *Peer) configured() bool { return p != nil && p.URL != "" }

// PeerState is a peer's answer, or why there is none.
type PeerState struct {
	Status int             `json:"status,omitempty"`
	Answer json.RawMessage `json:"answer,omitempty"`
	Error  string          `json:"error,omitempty"`
}

// Info fetches the peer's /info; an unreachable peer gives an error state, never a failure.
func (p *Peer) Info(ctx context.Context) PeerState {
	return p.call(ctx, http.MethodGet, "/info", nil, 5*time.Second)
}

// PostTimeout bounds POST /start and /stop on a peer: a stop drains first, and the work under
// way can be a whole upgrade (each replacement waits to be healthy, each old replica drains).
const PostTimeout = 3 * time.Minute

// Post sends POST path (/start or /stop) to the peer.
func (p *Peer) Post(ctx context.Context, path string) PeerState {
	return p.call(ctx, http.MethodPost, path, nil, PostTimeout)
}

func (p *Peer) call(ctx context.Context, method, path string, body []byte, limit time.Duration) PeerState {
	if p.URL == "" {
		return PeerState{Error: fmt.Sprintf("%s is not configured (set %s_URL)", p.Name, upper(p.Name))}
	}
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, p.URL+path, rd)
	if err != nil {
		return PeerState{Error: err.Error()}
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	auth.SetBearer(req, p.Token)
	resp, err := p.Client.Do(req)
	if err != nil {
		return PeerState{Error: fmt.Sprintf("%s unreachable: %v", p.Name, err)}
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	st := PeerState{Status: resp.StatusCode}
	if json.Valid(data) {
		st.Answer = data
	} else {
		st.Answer, _ = json.Marshal(string(bytes.TrimSpace(data)))
	}
	if resp.StatusCode/100 != 2 {
		st.Error = fmt.Sprintf("%s answered %d", p.Name, resp.StatusCode)
	}
	return st
}

func upper(s string) string { return string(bytes.ToUpper([]byte(s))) }
