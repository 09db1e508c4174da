package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"chaossuite.dev/shared/config"
	"chaossuite.dev/shared/service"
	"chaossuite.dev/voracious/internal/emulate"
	"chaossuite.dev/voracious/internal/servo"
	"chaossuite.dev/voracious/internal/voracious"
)

// Config is every setting of voracious.
type Config struct {
	service.Common
	ListenAddr    string        `env:"LISTEN_ADDR" envDefault:":8080"`
	Apps          int           `env:"VORACIOUS_APPS" envDefault:"5"`
	AppFormat     string        `env:"VORACIOUS_APP_FORMAT" envDefault:"app%05d"`
	AdjustPayload string        `env:"VORACIOUS_ADJUST_PAYLOAD"`
	StateFile     string        `env:"VORACIOUS_STATE_FILE"`
	SaveInterval  time.Duration `env:"VORACIOUS_SAVE_INTERVAL" envDefault:"1s"`
	Resync        bool          `env:"VORACIOUS_RESYNC" envDefault:"false"`
	MaxApps       int           `env:"VORACIOUS_MAX_APPS" envDefault:"250000"`
	EvictAfter    time.Duration `env:"VORACIOUS_EVICT_AFTER" envDefault:"1h"`
}

// maxAppsLimit bounds VORACIOUS_MAX_APPS: ten million apps of the longest names are some 8 GiB.
const maxAppsLimit = 10_000_000

// Validate implements config.Validator.
func (c Config) Validate() error {
	if err := c.Common.Validate(); err != nil {
		return err
	}
	if c.Apps < 0 || c.Apps > 1_000_000 {
		return config.Invalid("VORACIOUS_APPS", fmt.Sprint(c.Apps), "a whole number from 0 to 1000000")
	}
	if n := strings.Count(strings.ReplaceAll(c.AppFormat, "%%", ""), "%"); n != 1 || strings.Contains(fmt.Sprintf(c.AppFormat, 0), "%!") {
		return config.Invalid("VORACIOUS_APP_FORMAT", c.AppFormat, "a format with one integer verb, such as app%05d")
	}
	if c.MaxApps < max(1, c.Apps) || c.MaxApps > maxAppsLimit {
		return config.Invalid("VORACIOUS_MAX_APPS", fmt.Sprint(c.MaxApps), fmt.Sprintf("a whole number from VORACIOUS_APPS (%d, at least 1) to %d", c.Apps, maxAppsLimit))
	}
	if c.EvictAfter != 0 && c.EvictAfter < time.Second {
		return config.Invalid("VORACIOUS_EVICT_AFTER", c.EvictAfter.String(), "0 (never evict) or a duration of at least 1s")
	}
	if c.SaveInterval <= 0 || c.SaveInterval > time.Second {
		return config.Invalid("VORACIOUS_SAVE_INTERVAL", c.SaveInterval.String(), "a duration above 0 and at most 1s")
	}
	if c.StateFile != "" {
		if fi, err := os.Stat(filepath.Dir(c.StateFile)); err != nil || !fi.IsDir() {
			return config.Invalid("VORACIOUS_STATE_FILE", c.StateFile, "a file path in an existing directory")
		}
	}
	if _, err := voracious.LoadAdjustPayload(c.AdjustPayload); err != nil {
		return config.Invalid("VORACIOUS_ADJUST_PAYLOAD", c.AdjustPayload, "a readable YAML or JSON file holding state.application.components.<c>.settings.<s>.value ("+err.Error()+")")
	}
	return nil
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) > 1 && args[1] == "emulate" {
		return emulate.Main(ctx, args[2:], stdout, stderr)
	}
	cfg, err := config.Load[Config](getenv)
	if err != nil {
		return err
	}
	rt, err := service.Start(ctx, "voracious", args, getenv, stderr, cfg.Common, cfg.ListenAddr)
	if rt == nil {
		if ue := (*service.UsageError)(nil); errors.As(err, &ue) && args[1] != "healthcheck" {
			return &service.UsageError{Msg: fmt.Sprintf("unknown command %q (usage: voracious [healthcheck | emulate --url URL ...])", args[1])}
		}
		return err
	}
	defer rt.Close()

	adjust, err := voracious.LoadAdjustPayload(cfg.AdjustPayload)
	if err != nil {
		return err
	}
	// The metrics read the store's counts and the store reports every event to the metrics;
	// metrics is set before the store sees its first event.
	var metrics *voracious.Metrics
	store := servo.NewStore(servo.Options{Resync: cfg.Resync, MaxApps: cfg.MaxApps, OnEvent: func(e servo.Event, r servo.Result, err error) {
		metrics.Observe(e, r, err)
	}})
	metrics = voracious.NewMetrics(rt.Registry, store.Count)
	if cfg.StateFile != "" {
		n, err := voracious.LoadState(cfg.StateFile, store)
		if err != nil {
			return err
		}
		rt.Logger.Info("state loaded", "path", cfg.StateFile, "apps", n)
		if n > cfg.MaxApps {
			rt.Logger.Warn("the state file holds more apps than VORACIOUS_MAX_APPS: new apps are refused until terminated ones are evicted",
				"apps", n, "max_apps", cfg.MaxApps)
		}
	}

	apps := make([]string, cfg.Apps)
	for i := range apps {
		apps[i] = fmt.Sprintf(cfg.AppFormat, i)
	}
	deps := &voracious.Deps{
		Store: store, Logger: rt.Logger, Commands: voracious.NewCommands(adjust), Apps: apps,
		Info: voracious.ConfigInfo{Apps: cfg.Apps, AppFormat: cfg.AppFormat, StateFile: cfg.StateFile, Resync: cfg.Resync,
			MaxApps: cfg.MaxApps, EvictAfter: cfg.EvictAfter.String()},
		StartedAt: time.Now(),
	}

	// The persister outlives the server's drain so that its last save holds every answered event.
	pctx, stopPersist := context.WithCancel(context.Background())
	defer stopPersist()
	var wg sync.WaitGroup
	var persistErr error
	if cfg.StateFile != "" {
		p := &voracious.Persister{Path: cfg.StateFile, Store: store, Interval: cfg.SaveInterval, Logger: rt.Logger, Now: time.Now}
		wg.Go(func() { persistErr = p.Run(pctx) })
	}
	if cfg.EvictAfter > 0 {
		e := &voracious.Evictor{Store: store, After: cfg.EvictAfter, Logger: rt.Logger, Now: time.Now}
		wg.Go(func() { e.Run(pctx) })
	}
	rt.Logger.Info("starting", "apps", cfg.Apps, "app_format", cfg.AppFormat, "resync", cfg.Resync, "state_file", cfg.StateFile,
		"max_apps", cfg.MaxApps, "evict_after", cfg.EvictAfter.String())
	serveErr := rt.Serve(ctx, cfg.ListenAddr, voracious.Routes(deps))
	stopPersist()
	wg.Wait()
	if serveErr != nil {
		return serveErr
	}
	if persistErr != nil {
		return fmt.Errorf("saving state: %w", persistErr)
	}
	return nil
}
