package chaostest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"chaossuite.dev/shared/chaos"
)

// Receiver is a loopback replica for harnesses: a real HTTP server on 127.0.0.1 that speaks
// the receiver's admin API (GET and PUT /admin/config) and answers every other GET, /readyz
// and a readiness path alike, 200 while ready and 503 otherwise. Its fault says how it takes
// a change: Refuses answers a PUT 400, NeverServes answers it 200 and keeps serving its old
// version. It is closed at the end of the test that made it.
type Receiver struct {
	srv *httptest.Server

	mu         sync.Mutex
	version    string
	generation int64
	ready      bool
	fault      Fault
}

// NewReceiver starts a ready loopback replica serving version, with fault ("" for none).
func NewReceiver(t testing.TB, version string, fault Fault) *Receiver {
	t.Helper()
	r := &Receiver{version: version, generation: 1, ready: true, fault: fault}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

// URL is the replica's base URL, such as http://127.0.0.1:41234.
func (r *Receiver) URL() string { return r.srv.URL }

// Addr is the replica's host:port.
func (r *Receiver) Addr() string { return strings.TrimPrefix(r.srv.URL, "http://") }

// Version is the version the replica serves now.
func (r *Receiver) Version() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.version
}

// SetReady makes the replica answer its readiness checks 200 (true) or 503 (false).
func (r *Receiver) SetReady(ready bool) {
	r.mu.Lock()
	r.ready = ready
	r.mu.Unlock()
}

func (r *Receiver) serve(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if req.URL.Path != "/admin/config" {
		if req.Method != http.MethodGet {
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		if !r.ready {
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusOK)
		return
	}
	switch req.Method {
	case http.MethodGet:
	case http.MethodPut:
		var in struct {
			Version string `json:"version"`
		}
		if err := json.NewDecoder(req.Body).Decode(&in); err != nil || in.Version == "" {
			http.Error(w, "bad config", http.StatusBadRequest)
			return
		}
		switch r.fault {
		case Refuses:
			http.Error(w, "this replica refuses every change", http.StatusBadRequest)
			return
		case NeverServes:
		default:
			r.version = in.Version
			r.generation++
		}
	default:
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(chaos.ReceiverConfig{
		Version: r.version, Message: chaos.DefaultMessage(r.version), Generation: r.generation,
	})
}
