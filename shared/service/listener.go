package service

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"chaossuite.dev/shared/web"
)

// limitListener serves at most cap(sem) connections at once: Accept waits for one to close,
// and the kernel's listen backlog holds the newcomers meanwhile. A bound below the process's
// file descriptors means clients can never take them all, so the service keeps answering
// /healthz and making its own outgoing calls.
type limitListener struct {
	net.Listener
	sem       chan struct{}
	done      chan struct{}
	closeOnce sync.Once
	log       *slog.Logger
	lastFull  atomic.Int64 // unix nanoseconds of the last "limit reached" log line
}

func newLimitListener(ln net.Listener, n int, log *slog.Logger) *limitListener {
	return &limitListener{Listener: ln, sem: make(chan struct{}, n), done: make(chan struct{}), log: log}
}

// Accept implements net.Listener.
func (l *limitListener) Accept() (net.Conn, error) {
	select {
	case l.sem <- struct{}{}:
	default:
		l.full()
		select {
		case l.sem <- struct{}{}:
		case <-l.done:
			return nil, net.ErrClosed
		}
	}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.sem
		return nil, err
	}
	return &conn{Conn: c, release: func() { <-l.sem }}, nil
}

// Close implements net.Listener; an Accept waiting for a free slot returns.
func (l *limitListener) Close() error {
	l.closeOnce.Do(func() { close(l.done) })
	return l.Listener.Close()
}

// open is the number of connections open now.
func (l *limitListener) open() int { return len(l.sem) }

// full logs, at most once a minute, that the bound is reached.
func (l *limitListener) full() {
	now := time.Now().UnixNano()
	last := l.lastFull.Load()
	if now-last < int64(time.Minute) || !l.lastFull.CompareAndSwap(last, now) {
		return
	}
	l.log.Warn("connection limit reached: new connections wait until one closes (MAX_CONNECTIONS)",
		"max_connections", cap(l.sem))
}

// conn frees its slot once closed, and answers as JSON what net/http answers as plain text
// before any handler runs (a malformed request, headers too large).
type conn struct {
	net.Conn
	once    sync.Once
	release func()
}

// Close implements net.Conn.
func (c *conn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}

// CloseWrite lets net/http half-close the connection, as it does on a TCP connection, so
// that its last answer is read before the connection goes.
func (c *conn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// Write implements net.Conn.
func (c *conn) Write(p []byte) (int, error) {
	if j, ok := goErrorAsJSON(p); ok {
		if _, err := c.Conn.Write(j); err != nil {
			return 0, err
		}
		return len(p), nil
	}
	return c.Conn.Write(p)
}

// goErrorHeaders are the headers net/http writes with its own error answers, in one Write of
// the whole answer. A handler's answer never has them: net/http writes a handler's headers
// sorted (Connection before Content-Type) and with a Date.
const goErrorHeaders = "\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n"

// goErrorAsJSON rewrites one of net/http's own plain-text error answers, such as
// "HTTP/1.1 400 Bad Request: missing required Host header" or "431 Request Header Fields Too
// Large", into the suite's JSON error shape. ok is false for anything else.
func goErrorAsJSON(p []byte) ([]byte, bool) {
	const proto = "HTTP/1.1 "
	if !bytes.HasPrefix(p, []byte(proto)) {
		return nil, false
	}
	i := bytes.Index(p, []byte(goErrorHeaders))
	if i < 0 {
		return nil, false
	}
	line := string(p[len(proto):i])
	if len(line) < 4 || strings.ContainsAny(line, "\r\n") || line[3] != ' ' {
		return nil, false
	}
	code, err := strconv.Atoi(line[:3])
	if err != nil || code < 400 || code > 599 {
		return nil, false
	}
	_, detail, _ := strings.Cut(line[4:], ": ")
	if detail == "" {
		body := strings.TrimPrefix(string(p[i+len(goErrorHeaders):]), line[:3]+" "+http.StatusText(code))
		detail = strings.TrimSpace(strings.TrimPrefix(body, ":"))
	}
	if detail == "" {
		switch code {
		case http.StatusRequestHeaderFieldsTooLarge:
			detail = "the request's headers are too large"
		default:
			detail = "the request is not well-formed HTTP"
		}
	}
	body, _ := json.Marshal(web.ErrorBody{Error: strings.ToLower(http.StatusText(code)), Detail: detail})
	body = append(body, '\n')
	var b bytes.Buffer
	b.WriteString(proto + line + "\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: ")
	b.WriteString(strconv.Itoa(len(body)))
	b.WriteString("\r\n\r\n")
	b.Write(body)
	return b.Bytes(), true
}
