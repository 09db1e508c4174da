package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"chaossuite.dev/pinger/internal/pinger"
	"chaossuite.dev/shared/config"
	"chaossuite.dev/shared/httpclient"
	"chaossuite.dev/shared/lever"
	"chaossuite.dev/shared/service"
)

// Config is every setting of the pinger.
type Config struct {
	service.Common
	ListenAddr     string        `env:"LISTEN_ADDR" envDefault:":8002"`
	ReceiverURL    string        `env:"RECEIVER_URL"`
	ReceiverQPS    float64       `env:"RECEIVER_QPS" envDefault:"10"`
	ReceiverConn   string        `env:"RECEIVER_CONNECTION" envDefault:"spread"`
	VersionHeader  string        `env:"VERSION_HEADER" envDefault:"X-Receiver-Version"`
	ConnMaxAge     time.Duration `env:"CONN_MAX_AGE" envDefault:"1s"`
	SelfQPS        float64       `env:"SELF_QPS" envDefault:"0"`
	Targets        string        `env:"PINGER_TARGETS"`
	PendingFactor  float64       `env:"MAX_PENDING_FACTOR" envDefault:"2.5"`
	MaxAttempts    uint64        `env:"MAX_ATTEMPTS" envDefault:"5"`
	RetryBase      time.Duration `env:"RETRY_BASE" envDefault:"100ms"`
	RetryMax       time.Duration `env:"RETRY_MAX" envDefault:"2s"`
	RequestTimeout time.Duration `env:"REQUEST_TIMEOUT" envDefault:"10s"`
	ReaperURL      string        `env:"REAPER_URL"`
	HelmsmanURL    string        `env:"HELMSMAN_URL"`
	NodekillerURL  string        `env:"NODEKILLER_URL"`
	Autostart      bool          `env:"AUTOSTART" envDefault:"false"`

	targets []pinger.Target
}

// The bounds of the pinger's numbers. maxQPS is a target's own bound (PINGER_TARGETS has it
// too): beyond it one machine measures itself, not the target.
const (
	maxQPS           = 50000
	maxPendingFactor = 100
)

// Validate implements config.Validator and builds the target list.
func (c *Config) Validate() error {
	if err := c.Common.Validate(); err != nil {
		return err
	}
	// NaN and infinities never get this far (config.Load refuses them in every float setting);
	// what is left is each number's range.
	switch {
	case c.PendingFactor <= 0 || c.PendingFactor > maxPendingFactor:
		return config.Invalid("MAX_PENDING_FACTOR", fmt.Sprint(c.PendingFactor), fmt.Sprintf("a number above 0, at most %d", maxPendingFactor))
	case c.MaxAttempts < 1 || c.MaxAttempts > 20:
		return config.Invalid("MAX_ATTEMPTS", fmt.Sprint(c.MaxAttempts), "a whole number from 1 to 20")
	case c.RetryBase <= 0 || c.RetryBase > time.Minute:
		return config.Invalid("RETRY_BASE", c.RetryBase.String(), "a positive duration, at most 1m")
	case c.RetryMax < c.RetryBase || c.RetryMax > 10*time.Minute:
		return config.Invalid("RETRY_MAX", c.RetryMax.String(), "a duration of at least RETRY_BASE, at most 10m")
	case c.RequestTimeout <= 0 || c.RequestTimeout > 10*time.Minute:
		return config.Invalid("REQUEST_TIMEOUT", c.RequestTimeout.String(), "a positive duration, at most 10m")
	case c.ConnMaxAge < 10*time.Millisecond || c.ConnMaxAge > time.Hour:
		return config.Invalid("CONN_MAX_AGE", c.ConnMaxAge.String(), "a duration from 10ms to 1h")
	case c.ReceiverQPS <= 0 || c.ReceiverQPS > maxQPS:
		return config.Invalid("RECEIVER_QPS", fmt.Sprint(c.ReceiverQPS), fmt.Sprintf("a rate above 0, at most %d", maxQPS))
	case c.SelfQPS < 0 || c.SelfQPS > maxQPS:
		return config.Invalid("SELF_QPS", fmt.Sprint(c.SelfQPS), fmt.Sprintf("a rate of 0 or more, at most %d", maxQPS))
	}
	switch pinger.ConnectionMode(c.ReceiverConn) {
	case pinger.Spread, pinger.KeepAlive, pinger.NewConnection:
	default:
		return config.Invalid("RECEIVER_CONNECTION", c.ReceiverConn, "spread, keepalive or new-connection")
	}
	versionHeader, err := pinger.ValidVersionHeader(c.VersionHeader)
	if err != nil {
		return config.Invalid("VERSION_HEADER", c.VersionHeader, "a response header name such as X-Receiver-Version, or none")
	}
	if c.ReceiverURL != "" {
		t := pinger.Target{Name: "receiver", URL: c.ReceiverURL, QPS: c.ReceiverQPS, Body: []byte(`{"kill_node":"spare"}`),
			Connection: pinger.ConnectionMode(c.ReceiverConn), SharedToken: true, VersionHeader: versionHeader}
		if err := t.Validate(); err != nil {
			return config.Invalid("RECEIVER_URL", c.ReceiverURL+" at "+fmt.Sprint(c.ReceiverQPS)+" QPS", "an http(s) URL and RECEIVER_QPS above 0 ("+err.Error()+")")
		}
		c.targets = append(c.targets, t)
	}
	if c.SelfQPS > 0 {
		t := pinger.Target{Name: "pinger", URL: "http://" + loopback(c.ListenAddr) + "/", QPS: c.SelfQPS, Method: "GET",
			SharedToken: true, Connection: pinger.KeepAlive}
		if err := t.Validate(); err != nil {
			return config.Invalid("SELF_QPS", fmt.Sprint(c.SelfQPS), "a rate above 0 for the pinger's own target ("+err.Error()+")")
		}
		c.targets = append(c.targets, t)
	}
	if c.Targets != "" {
		ts, err := pinger.ParseTargets(c.Targets)
		if err != nil {
			return config.Invalid("PINGER_TARGETS", "(list)", "a JSON list of {name, url, qps, method, body, token, shared_token, connection, version_header}: "+err.Error())
		}
		for _, t := range ts {
			for _, have := range c.targets {
				if have.Name == t.Name {
					return config.Invalid("PINGER_TARGETS", t.Name, "target names other than receiver and pinger")
				}
			}
		}
		c.targets = append(c.targets, ts...)
	}
	for _, u := range []struct{ name, v string }{{"REAPER_URL", c.ReaperURL}, {"HELMSMAN_URL", c.HelmsmanURL}, {"NODEKILLER_URL", c.NodekillerURL}} {
		if u.v != "" && !strings.HasPrefix(u.v, "http://") && !strings.HasPrefix(u.v, "https://") {
			return config.Invalid(u.name, u.v, "a base URL such as http://reaper:8003")
		}
	}
	return nil
}

// loopback is where the pinger reaches its own listener.
func loopback(listen string) string {
	if strings.HasPrefix(listen, ":") {
		return "127.0.0.1" + listen
	}
	return listen
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) > 1 && args[1] == "experiment" {
		return experiment(ctx, args[2:], getenv, stdout, stderr)
	}
	if len(args) > 1 && args[1] == "compare" {
		return compare(args[2:], stdout, stderr)
	}
	cfg, err := config.Load[Config](getenv)
	if err != nil {
		return err
	}
	rt, err := service.Start(ctx, "pinger", args, getenv, stderr, cfg.Common, cfg.ListenAddr)
	if rt == nil {
		return err
	}
	defer rt.Close()

	peers := httpclient.New(rt.Telemetry, 4)
	p := pinger.New(ctx, pinger.Options{
		Targets:       cfg.targets,
		Network:       pinger.Network{Wrap: rt.Telemetry.Transport, ConnMaxAge: cfg.ConnMaxAge},
		Token:         cfg.AuthToken,
		Policy:        httpclient.Policy{MaxAttempts: cfg.MaxAttempts, Base: cfg.RetryBase, Max: cfg.RetryMax},
		Timeout:       cfg.RequestTimeout,
		PendingFactor: cfg.PendingFactor,
		Metrics:       pinger.NewMetrics(rt.Registry),
		Logger:        rt.Logger,
		Reaper:        &pinger.Peer{Name: "reaper", URL: strings.TrimRight(cfg.ReaperURL, "/"), Token: cfg.AuthToken, Client: peers},
		Helmsman:      &pinger.Peer{Name: "helmsman", URL: strings.TrimRight(cfg.HelmsmanURL, "/"), Token: cfg.AuthToken, Client: peers},
		Nodekiller:    &pinger.Peer{Name: "nodekiller", URL: strings.TrimRight(cfg.NodekillerURL, "/"), Token: cfg.AuthToken, Client: peers},
		Lever:         lever.New(rt.Registry),
	})
	defer p.Loop().Stop()
	if len(cfg.targets) == 0 {
		rt.Logger.Warn("no targets: set RECEIVER_URL, SELF_QPS or PINGER_TARGETS")
	}
	if cfg.Autostart {
		p.Loop().Start()
	}
	names := make([]string, len(cfg.targets))
	for i, t := range cfg.targets {
		names[i] = t.Name
	}
	rt.Logger.Info("starting", "targets", strings.Join(names, ","), "receiver", config.RedactURL(cfg.ReceiverURL),
		"reaper", config.RedactURL(cfg.ReaperURL), "helmsman", config.RedactURL(cfg.HelmsmanURL), "autostart", cfg.Autostart)
	return rt.Serve(ctx, cfg.ListenAddr, pinger.Routes(p, cfg.Token()))
}
