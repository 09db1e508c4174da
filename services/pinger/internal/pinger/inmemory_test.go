package pinger

import (
	"net/http"
	"net/http/httptest"
)

// handlerTransport answers every request by calling its handler in the same process, with no
// socket: inside a testing/synctest bubble a request then blocks only on what the handler
// waits for, so the bubble's fake clock runs and the test is exact.
type handlerTransport struct{ h http.Handler }

// RoundTrip implements http.RoundTripper; a request whose context ended before the handler
// returned fails as the network transport's would.
func (t handlerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		defer req.Body.Close()
	}
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, req)
	if err := req.Context().Err(); err != nil {
		return nil, err
	}
	return rec.Result(), nil
}

// inMemory is the network that reaches h alone, whatever the target's URL.
func inMemory(h http.Handler) Network {
	return Network{Wrap: func(http.RoundTripper) http.RoundTripper { return handlerTransport{h} }}
}

// memoryURL is the URL in-memory targets are given: an address, so that no name is resolved.
const memoryURL = "http://127.0.0.1:8000/"
