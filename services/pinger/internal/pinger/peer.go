package pinger

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"chaossuite.dev/shared/httpclient"
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
	var in any
	if body != nil {
		in = json.RawMessage(body)
	}
	var answer json.RawMessage
	err := httpclient.DoJSON(ctx, p.Client, httpclient.Call{
		Method: method, URL: p.URL + path, Token: p.Token, In: in, Out: &answer, Limit: 4 << 20,
	})
	var se *httpclient.StatusError
	switch {
	case err == nil:
		return PeerState{Status: http.StatusOK, Answer: answer}
	case errors.As(err, &se):
		st := PeerState{Status: se.Status, Error: fmt.Sprintf("%s answered %d", p.Name, se.Status)}
		if json.Valid(se.Body) {
			st.Answer = se.Body
		} else {
			st.Answer, _ = json.Marshal(string(bytes.TrimSpace(se.Body)))
		}
		return st
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return PeerState{Error: fmt.Sprintf("%s unreachable: %v", p.Name, err)}
	}
	return PeerState{Error: fmt.Sprintf("%s: %v", p.Name, err)}
}

func upper(s string) string { return string(bytes.ToUpper([]byte(s))) }
