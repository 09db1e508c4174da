package main

import (
	"context"
	"io"
	"net/url"
	"os"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"chaossuite.dev/receiver/internal/receiver"
	"chaossuite.dev/shared/config"
	"chaossuite.dev/shared/httpclient"
	"chaossuite.dev/shared/receiverapi"
	"chaossuite.dev/shared/service"
)

// Config is every setting of the receiver.
type Config struct {
	service.Common
	ListenAddr    string `env:"LISTEN_ADDR" envDefault:":8000"`
	Version       string `env:"RECEIVER_VERSION" envDefault:"alpha"`
	Message       string `env:"RECEIVER_MESSAGE"`
	NodeName      string `env:"NODE_NAME"`
	NodekillerURL string `env:"NODEKILLER_URL"`
	// NodekillerTimeout bounds a kill forwarded to the nodekiller. (KILL_TIMEOUT, its old
	// name, is the reaper's limit on its own kill requests: set here, it stops the receiver.)
	NodekillerTimeout time.Duration `env:"NODEKILLER_TIMEOUT" envDefault:"10s"`
	OldKillTimeout    string        `env:"KILL_TIMEOUT"`
}

// Validate implements config.Validator.
func (c Config) Validate() error {
	if err := c.Common.Validate(); err != nil {
		return err
	}
	if err := receiver.ValidVersion(c.Version); err != nil {
		return config.Invalid("RECEIVER_VERSION", c.Version, "1 to 63 letters, digits, '.', '-' or '_'")
	}
	// Served strings: what PUT /admin/config refuses, the environment may not set either.
	if len(c.Message) > 1024 || !utf8.ValidString(c.Message) {
		return config.Invalid("RECEIVER_MESSAGE", c.Message, "valid UTF-8 of at most 1024 bytes")
	}
	if len(c.NodeName) > 253 || !utf8.ValidString(c.NodeName) || strings.ContainsFunc(c.NodeName, unicode.IsControl) {
		return config.Invalid("NODE_NAME", c.NodeName, "a name of at most 253 bytes, valid UTF-8 without control characters")
	}
	if c.NodekillerURL != "" {
		if u, err := url.Parse(c.NodekillerURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return config.Invalid("NODEKILLER_URL", c.NodekillerURL, "a base URL such as http://nodekiller:8001")
		}
	}
	if c.OldKillTimeout != "" {
		return config.Invalid("KILL_TIMEOUT", c.OldKillTimeout, "it unset: the receiver's limit on a forwarded kill is NODEKILLER_TIMEOUT now")
	}
	if err := config.DurationIn("NODEKILLER_TIMEOUT", c.NodekillerTimeout, time.Millisecond, 10*time.Minute, "a positive duration, at most 10m"); err != nil {
		return err
	}
	return nil
}

func run(ctx context.Context, args []string, getenv func(string) string, _, stderr io.Writer) error {
	cfg, err := config.Load[Config](getenv)
	if err != nil {
		return err
	}
	rt, err := service.Start(ctx, "receiver", args, getenv, stderr, cfg.Common, cfg.ListenAddr)
	if rt == nil {
		return err
	}
	defer rt.Close()
	node := cfg.NodeName
	if node == "" {
		node, _ = os.Hostname()
	}

	// stop ends the serve loop gracefully, as SIGTERM does; halt ends the process at once.
	ctx, stop := context.WithCancel(ctx)
	defer stop()

	metrics := receiver.NewMetrics(rt.Registry, node)
	deps := &receiver.Deps{
		Config:  receiver.NewConfig(cfg.Version, cfg.Message, metrics.Swapped),
		Metrics: metrics,
		Killer: &receiver.KillForwarder{
			URL:    strings.TrimRight(cfg.NodekillerURL, "/"),
			Client: &receiverapi.Client{HTTP: httpclient.New(rt.Telemetry, 16), Token: cfg.AuthToken, Timeout: cfg.NodekillerTimeout},
		},
		Halter:    halter{stop: stop},
		Token:     cfg.Token(),
		Logger:    rt.Logger,
		Node:      node,
		PID:       os.Getpid(),
		StartedAt: time.Now(),
	}
	rt.Logger.Info("starting", "version", cfg.Version, "node", node, "nodekiller", config.RedactURL(cfg.NodekillerURL))
	return rt.Serve(ctx, cfg.ListenAddr, receiver.Routes(deps))
}

type halter struct{ stop context.CancelFunc }

func (h halter) Stop() { h.stop() }

// Halt exits as a SIGKILLed process would, with status 137.
func (h halter) Halt() { os.Exit(137) }
