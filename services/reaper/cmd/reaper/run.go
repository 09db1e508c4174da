package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"chaossuite.dev/reaper/internal/reaper"
	"chaossuite.dev/shared/chaos"
	"chaossuite.dev/shared/config"
	"chaossuite.dev/shared/control"
	"chaossuite.dev/shared/httpclient"
	"chaossuite.dev/shared/lever"
	"chaossuite.dev/shared/receiverapi"
	"chaossuite.dev/shared/service"
)

// Config is every setting of the reaper.
type Config struct {
	service.Common
	ListenAddr    string        `env:"LISTEN_ADDR" envDefault:":8003"`
	Via           string        `env:"KILL_VIA" envDefault:"receiver"`
	ReceiverURL   string        `env:"RECEIVER_URL" envDefault:"http://receiver:8000/"`
	NodekillerURL string        `env:"NODEKILLER_URL"`
	Interval      time.Duration `env:"KILL_INTERVAL" envDefault:"60s"`
	Jitter        Jitter        `env:"KILL_JITTER" envDefault:"10%"`
	Methods       []string      `env:"KILL_METHODS" envDefault:"stop,halt" envSeparator:","`
	Timeout       time.Duration `env:"KILL_TIMEOUT" envDefault:"3s"`
	Autostart     bool          `env:"AUTOSTART" envDefault:"false"`

	methods []chaos.KillMethod
}

// Jitter is KILL_JITTER: a duration (5s) or a share of KILL_INTERVAL (10%).
type Jitter struct {
	Duration time.Duration
	Percent  float64 // used when Duration is 0 and Percent is not
}

// UnmarshalText parses a duration or a percentage.
func (j *Jitter) UnmarshalText(b []byte) error {
	s := strings.TrimSpace(string(b))
	if p, ok := strings.CutSuffix(s, "%"); ok {
		v, err := strconv.ParseFloat(p, 64)
		if err != nil || math.IsNaN(v) || v < 0 || v >= 100 {
			return config.Invalid("KILL_JITTER", s, "a duration such as 5s, or a percentage of KILL_INTERVAL from 0% to 99%")
		}
		*j = Jitter{Percent: v}
		return nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 || d > maxInterval {
		return config.Invalid("KILL_JITTER", s, "a duration such as 5s, or a percentage of KILL_INTERVAL from 0% to 99%")
	}
	*j = Jitter{Duration: d}
	return nil
}

// Of returns the jitter for interval.
func (j Jitter) Of(interval time.Duration) time.Duration {
	if j.Duration > 0 {
		return j.Duration
	}
	return time.Duration(float64(interval) * j.Percent / 100)
}

// The bounds of the reaper's durations: a kill every few nanoseconds is a busy loop.
const (
	minInterval    = 10 * time.Millisecond
	maxInterval    = 24 * time.Hour
	maxKillTimeout = 10 * time.Minute
)

// Validate implements config.Validator.
func (c *Config) Validate() error {
	if err := c.Common.Validate(); err != nil {
		return err
	}
	switch c.Via {
	case reaper.ViaReceiver:
		if !httpURL(c.ReceiverURL) {
			return config.Invalid("RECEIVER_URL", c.ReceiverURL, "a URL such as http://receiver:8000/")
		}
	case reaper.ViaNodekiller:
		if !httpURL(c.NodekillerURL) {
			return config.Invalid("NODEKILLER_URL", c.NodekillerURL, "the nodekiller's base URL such as http://nodekiller:8001, which KILL_VIA=nodekiller needs")
		}
	default:
		return config.Invalid("KILL_VIA", c.Via, "receiver (POST RECEIVER_URL {\"kill_node\"}) or nodekiller (POST NODEKILLER_URL/kill)")
	}
	if c.Interval < minInterval || c.Interval > maxInterval {
		return config.Invalid("KILL_INTERVAL", c.Interval.String(), "a positive duration such as 60s, from "+minInterval.String()+" to 24h")
	}
	if j := c.Jitter.Of(c.Interval); j >= c.Interval {
		return config.Invalid("KILL_JITTER", j.String(), "less than KILL_INTERVAL ("+c.Interval.String()+")")
	}
	if c.Timeout <= 0 || c.Timeout > maxKillTimeout {
		return config.Invalid("KILL_TIMEOUT", c.Timeout.String(), "a positive duration such as 3s, at most "+maxKillTimeout.String())
	}
	c.methods = nil
	for _, s := range c.Methods {
		m, err := chaos.ParseKillMethod(s)
		if err != nil {
			return config.Invalid("KILL_METHODS", strings.Join(c.Methods, ","), "a comma-separated list of spare, stop, halt, pause, partition (ray_stop, node_halt as aliases)")
		}
		c.methods = append(c.methods, m)
	}
	if len(c.methods) == 0 {
		return config.Invalid("KILL_METHODS", "", "at least one kill method, such as stop,halt")
	}
	if c.Via == reaper.ViaNodekiller && slices.Contains(c.methods, chaos.Spare) {
		return config.Invalid("KILL_METHODS", strings.Join(c.Methods, ","), "stop, halt, pause or partition: with KILL_VIA=nodekiller spare kills nothing and the nodekiller refuses it")
	}
	return nil
}

// httpURL reports whether s is an http or https URL with a host.
func httpURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

func run(ctx context.Context, args []string, getenv func(string) string, _, stderr io.Writer) error {
	cfg, err := config.Load[Config](getenv)
	if err != nil {
		return err
	}
	rt, err := service.Start(ctx, "reaper", args, getenv, stderr, cfg.Common, cfg.ListenAddr)
	if rt == nil {
		return err
	}
	defer rt.Close()

	metrics := reaper.NewMetrics(rt.Registry, cfg.methods)
	client := &receiverapi.Client{HTTP: httpclient.New(rt.Telemetry, 4), Token: cfg.AuthToken, Timeout: cfg.Timeout}
	var sender reaper.Sender = &reaper.ReceiverSender{URL: cfg.ReceiverURL, Client: client}
	target := cfg.ReceiverURL
	if cfg.Via == reaper.ViaNodekiller {
		sender = &reaper.NodekillerSender{URL: cfg.NodekillerURL, Client: client}
		target = cfg.NodekillerURL
	}
	r := reaper.New(reaper.Options{
		Schedule: reaper.Schedule{Interval: cfg.Interval, Jitter: cfg.Jitter.Of(cfg.Interval), Methods: cfg.methods},
		Sender:   sender,
		Via:      cfg.Via,
		Logger:   rt.Logger,
		Metrics:  metrics,
		Lever:    lever.New(rt.Registry),
	})
	loop := control.New(ctx, "reaper", r.Run, metrics.SetRunning)
	defer loop.Stop()
	rt.Logger.Info("starting", "via", cfg.Via, "to", config.RedactURL(target), "interval", cfg.Interval,
		"jitter", cfg.Jitter.Of(cfg.Interval), "methods", fmt.Sprint(cfg.methods), "autostart", cfg.Autostart)
	if cfg.Autostart {
		loop.Start()
	}
	return rt.Serve(ctx, cfg.ListenAddr, reaper.Routes(r, loop, cfg.Token()))
}
