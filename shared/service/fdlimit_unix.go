//go:build unix

package service

import (
	"log/slog"
	"syscall"
)

// fdBound lowers the connection bound n below the process's file descriptor limit, keeping a
// quarter of them (32 at least) for everything else: outgoing calls, files, the listener.
func fdBound(n int, log *slog.Logger) int {
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err != nil || r.Cur > uint64(1<<30) {
		return n
	}
	fds := int(r.Cur)
	allowed := fds - max(32, fds/4)
	if n <= allowed {
		return n
	}
	allowed = max(allowed, 1)
	log.Warn("MAX_CONNECTIONS lowered below the file descriptor limit", "max_connections", n,
		"file_descriptors", fds, "serving_at_most", allowed)
	return allowed
}
