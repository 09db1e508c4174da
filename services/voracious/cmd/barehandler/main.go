// Command barehandler serves the bare baseline handler that make bench compares voracious
// with, on LISTEN_ADDR (default 127.0.0.1:8090).
package main

import (
	"fmt"
	"net/http"
	"os"
	"time"

	"chaossuite.dev/voracious/internal/bare"
)

func main() {
	addr := os.Getenv("LISTEN_ADDR")
	if addr == "" {
		addr = "127.0.0.1:8090"
	}
	srv := &http.Server{Addr: addr, Handler: bare.Handler(), ReadHeaderTimeout: 10 * time.Second}
	if err := srv.ListenAndServe(); err != nil {
		fmt.Fprintln(os.Stderr, "barehandler:", err)
		os.Exit(1)
	}
}
