// Package httpdriver drives receivers over their own HTTP API: a node is a process found by a
// list of base URLs or by DNS, killed through POST /admin/halt and upgraded through
// PUT /admin/config.
package httpdriver

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
)

// Discovery finds the receivers: a fixed list of base URLs, or every A record of a host:port
// (as compose network aliases and headless Services give).
type Discovery struct {
	Targets  []string // base URLs, such as http://127.0.0.1:8000
	DNS      string   // host:port whose A records are the nodes, such as receiver:8000
	Resolver *net.Resolver
}

// Validate checks that exactly one source is set and that it is well formed.
func (d Discovery) Validate() error {
	if len(d.Targets) == 0 && d.DNS == "" {
		return fmt.Errorf("no nodes to find: set a list of base URLs or a DNS host:port")
	}
	for _, t := range d.Targets {
		u, err := url.Parse(t)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("target %q is not a base URL such as http://host:8000", t)
		}
	}
	if d.DNS != "" {
		if _, _, err := net.SplitHostPort(d.DNS); err != nil {
			return fmt.Errorf("DNS target %q is not host:port: %v", d.DNS, err)
		}
	}
	return nil
}

// Addresses returns the base URLs of the nodes now, sorted.
func (d Discovery) Addresses(ctx context.Context) ([]string, error) {
	if d.DNS == "" {
		out := make([]string, len(d.Targets))
		for i, t := range d.Targets {
			out[i] = strings.TrimRight(t, "/")
		}
		return out, nil
	}
	host, port, err := net.SplitHostPort(d.DNS)
	if err != nil {
		return nil, err
	}
	r := d.Resolver
	if r == nil {
		r = net.DefaultResolver
	}
	ips, err := r.LookupHost(ctx, host)
	if err != nil {
		return nil, fmt.Errorf("looking up %s: %w", host, err)
	}
	out := make([]string, 0, len(ips))
	for _, ip := range ips {
		out = append(out, "http://"+net.JoinHostPort(ip, port))
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// NodeName is the name a node found at a base URL goes by: its host:port.
func NodeName(base string) string {
	if u, err := url.Parse(base); err == nil && u.Host != "" {
		return u.Host
	}
	return base
}
