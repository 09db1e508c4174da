package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"chaossuite.dev/pinger/internal/pinger"
	"chaossuite.dev/shared/httpclient"
)

// httpSuite drives pingers over HTTP: every one probes, the first also drives the chaos.
type httpSuite struct {
	clients []*client
	clock   RunClock
	log     io.Writer

	mu      sync.Mutex
	rated   map[string]bool // targets whose load was set, to reset
	chaosed bool            // chaos settings were set, to reset
	targets bool            // the plan's targets were set, to reset
}

func newHTTPSuite(urls []string, token string, clock RunClock, log io.Writer) *httpSuite {
	s := &httpSuite{clock: clock, log: log, rated: map[string]bool{}}
	for _, u := range urls {
		s.clients = append(s.clients, &client{base: strings.TrimRight(u, "/"), token: token, http: &http.Client{}})
	}
	return s
}

// resolveProbes lists the pingers a plan names: its list, every address of its name, or the
// command line's (which wins).
func resolveProbes(ctx context.Context, p *Plan, flagURLs []string) ([]string, error) {
	switch {
	case len(flagURLs) > 0:
		return flagURLs, nil
	case len(p.Pingers) > 0:
		return p.Pingers, nil
	case p.PingersDNS != "":
		host, port, _ := net.SplitHostPort(p.PingersDNS)
		addrs, err := net.DefaultResolver.LookupHost(ctx, host)
		if err != nil {
			return nil, fmt.Errorf("pingers_dns %s: %w", p.PingersDNS, err)
		}
		slices.Sort(addrs)
		out := make([]string, len(addrs))
		for i, a := range addrs {
			out[i] = "http://" + net.JoinHostPort(a, port)
		}
		return out, nil
	}
	return []string{"http://127.0.0.1:8002"}, nil
}

func (s *httpSuite) Probes() []string {
	out := make([]string, len(s.clients))
	for i, c := range s.clients {
		out[i] = c.base
	}
	return out
}

func (s *httpSuite) lead() *client { return s.clients[0] }

// each calls f on every pinger at once and joins their errors, each named by its pinger.
func (s *httpSuite) each(f func(c *client) error) error {
	errs := make([]error, len(s.clients))
	var wg sync.WaitGroup
	for i, c := range s.clients {
		wg.Go(func() {
			if err := f(c); err != nil {
				errs[i] = fmt.Errorf("%s: %w", c.base, err)
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (s *httpSuite) Infos(ctx context.Context) ([]pinger.Info, error) {
	out := make([]pinger.Info, len(s.clients))
	err := s.each(func(c *client) error {
		i := slices.Index(s.clients, c)
		return c.call(ctx, http.MethodGet, "/info", nil, &out[i])
	})
	return out, err
}

// SetTargets makes every pinger probe the plan's targets (stopping the pingers first: the
// list changes only while they are stopped); Restore puts their own back.
func (s *httpSuite) SetTargets(ctx context.Context, ts []PlanTarget) error {
	list := make([]pinger.Target, 0, len(ts))
	for _, t := range ts {
		if t.URL == "" {
			return fmt.Errorf("target %s: with other targets that have a url, it needs one too", t.Name)
		}
		list = append(list, t.Target())
	}
	s.mu.Lock()
	s.targets = true
	s.mu.Unlock()
	return s.each(func(c *client) error {
		if err := c.call(ctx, http.MethodPost, "/stop-pingers", nil, nil); err != nil {
			return err
		}
		return c.call(ctx, http.MethodPut, "/targets", list, nil)
	})
}

func (s *httpSuite) SetLoad(ctx context.Context, target string, l *Load) error {
	body := map[string]any{"target": target}
	switch {
	case l == nil:
		s.mu.Lock()
		was := s.rated[target]
		s.mu.Unlock()
		if !was {
			return nil
		}
		body["reset"] = true
	case l.QPS > 0:
		body["qps"] = l.QPS
	default:
		body["qps"], body["to"], body["over"] = l.From, l.To, l.Over.D().String()
	}
	s.mu.Lock()
	s.rated[target] = l != nil
	s.mu.Unlock()
	return s.each(func(c *client) error { return c.call(ctx, http.MethodPut, "/rate", body, nil) })
}

func (s *httpSuite) StartPingers(ctx context.Context) error {
	return s.each(func(c *client) error {
		// A start after a stop begins a new window: the verdict covers the phase alone.
		if err := c.call(ctx, http.MethodPost, "/stop-pingers", nil, nil); err != nil {
			return err
		}
		return c.call(ctx, http.MethodPost, "/start-pingers", nil, nil)
	})
}

func (s *httpSuite) StopPingers(ctx context.Context) error {
	return s.each(func(c *client) error { return c.call(ctx, http.MethodPost, "/stop-pingers", nil, nil) })
}

// StartChaos sets the reaper and the helmsman for the phase (through the lead pinger), then
// starts the loops it runs and stops the others. The helmsman refuses to start while it learns
// the replicas (503): that is waited out.
func (s *httpSuite) StartChaos(ctx context.Context, ch Chaos) error {
	c := s.lead()
	// Settings left out mean the service's own: sent as {} only once a phase has set some.
	s.mu.Lock()
	chaosed := s.chaosed
	s.mu.Unlock()
	settings := map[string]any{}
	if k := ch.Kill; k != nil {
		if m := killSettings(k); len(m) > 0 || chaosed {
			settings["kill"] = m
		}
	}
	if u := ch.Upgrade; u != nil {
		if m := upgradeSettings(u); len(m) > 0 || chaosed {
			settings["upgrade"] = m
		}
	}
	if len(settings) > 0 {
		s.mu.Lock()
		s.chaosed = true
		s.mu.Unlock()
		if err := c.call(ctx, http.MethodPut, "/chaos", settings, nil); err != nil {
			return err
		}
	}
	var errs []error
	for _, part := range []struct {
		on   bool
		name string
	}{{ch.Kill != nil, "reaper"}, {ch.Upgrade != nil, "helmsman"}} {
		if !part.on {
			if err := c.call(ctx, http.MethodPost, "/stop-"+part.name, nil, nil); err != nil {
				errs = append(errs, err)
			}
			continue
		}
		deadline := s.clock.Now().Add(time.Minute)
		for {
			err := c.call(ctx, http.MethodPost, "/start-"+part.name, nil, nil)
			if err == nil || !strings.Contains(err.Error(), `"status":503`) || !s.clock.Now().Before(deadline) {
				if err != nil {
					errs = append(errs, err)
				}
				break
			}
			fmt.Fprintf(s.log, "experiment: the %s is not ready yet (%v); trying again\n", part.name, shortErr(err))
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-s.clock.After(2 * time.Second):
			}
		}
	}
	return errors.Join(errs...)
}

func shortErr(err error) string {
	s := err.Error()
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}

func killSettings(k *KillChaos) map[string]any {
	m := map[string]any{}
	if len(k.Methods) > 0 {
		m["methods"] = k.Methods
	}
	if k.Interval != 0 {
		m["interval"] = k.Interval.D().String()
	}
	return m
}

func upgradeSettings(u *UpgradeChaos) map[string]any {
	m := map[string]any{}
	if len(u.Types) > 0 {
		m["types"] = u.Types
	}
	if u.Interval != 0 {
		m["interval"] = u.Interval.D().String()
	}
	return m
}

func (s *httpSuite) StopChaos(ctx context.Context) error {
	c := s.lead()
	return errors.Join(c.call(ctx, http.MethodPost, "/stop-reaper", nil, nil), c.call(ctx, http.MethodPost, "/stop-helmsman", nil, nil))
}

func (s *httpSuite) Reports(ctx context.Context) ([]ProbeReport, error) {
	out := make([]ProbeReport, len(s.clients))
	err := s.each(func(c *client) error {
		i := slices.Index(s.clients, c)
		out[i].URL = c.base
		return c.call(ctx, http.MethodGet, "/report.json", nil, &out[i].Report)
	})
	return out, err
}

func (s *httpSuite) Halt(ctx context.Context) error {
	return s.lead().call(ctx, http.MethodPost, "/halt", nil, nil)
}

func (s *httpSuite) Resume(ctx context.Context) error {
	return s.lead().call(ctx, http.MethodPost, "/resume", nil, nil)
}

// Restore puts back what the plan changed: the targets' rates and the chaos settings.
func (s *httpSuite) Restore(ctx context.Context) {
	s.mu.Lock()
	var rated []string
	for t, on := range s.rated {
		if on {
			rated = append(rated, t)
		}
	}
	chaosed, targets := s.chaosed, s.targets
	s.mu.Unlock()
	if targets {
		// The plan's targets go, and their rates with them.
		if err := s.each(func(c *client) error {
			if err := c.call(ctx, http.MethodPost, "/stop-pingers", nil, nil); err != nil {
				return err
			}
			return c.call(ctx, http.MethodDelete, "/targets", nil, nil)
		}); err != nil {
			fmt.Fprintf(s.log, "experiment: putting the pingers' own targets back: %v\n", err)
		}
		rated = nil
	}
	for _, t := range rated {
		if err := s.SetLoad(ctx, t, nil); err != nil {
			fmt.Fprintf(s.log, "experiment: resetting the load of %s: %v\n", t, err)
		}
	}
	if chaosed {
		if err := s.lead().call(ctx, http.MethodPut, "/chaos", map[string]any{"kill": map[string]any{}, "upgrade": map[string]any{}}, nil); err != nil {
			fmt.Fprintf(s.log, "experiment: resetting the chaos settings: %v\n", err)
		}
	}
}

type client struct {
	base, token string
	http        *http.Client
}

// call sends method path with body (JSON, when not nil) and decodes the answer into out.
func (c *client) call(ctx context.Context, method, path string, body, out any) error {
	limit := 15 * time.Second
	if method == http.MethodPost {
		limit = pinger.PostTimeout + 15*time.Second // a stop waits for an upgrade under way
	}
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	err := httpclient.DoJSON(ctx, c.http, httpclient.Call{
		Method: method, URL: c.base + path, Token: c.token, In: body, Out: out, Limit: 256 << 20, // a report holds whole histograms
	})
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	return nil
}
