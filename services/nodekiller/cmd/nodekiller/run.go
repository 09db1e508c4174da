package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"chaossuite.dev/nodekiller/internal/nodekiller"
	"chaossuite.dev/shared/chaos"
	"chaossuite.dev/shared/chaos/docker"
	"chaossuite.dev/shared/chaos/kubernetes"
	"chaossuite.dev/shared/config"
	"chaossuite.dev/shared/lever"
	"chaossuite.dev/shared/service"
)

// Config is every setting of the nodekiller.
type Config struct {
	service.Common
	ListenAddr      string           `env:"LISTEN_ADDR" envDefault:":8001"`
	Driver          string           `env:"KILL_DRIVER" envDefault:"http"`
	Policy          chaos.KillPolicy `env:"KILL_POLICY" envDefault:"random"`
	MinAvailable    int              `env:"MIN_AVAILABLE" envDefault:"1"`
	DryRun          bool             `env:"DRY_RUN" envDefault:"false"`
	RecoveryTimeout time.Duration    `env:"RECOVERY_TIMEOUT" envDefault:"5m"`
	HTTP            HTTPDriverConfig
	Docker          docker.KillerConfig     // KILL_DRIVER=docker
	Kubernetes      kubernetes.KillerConfig // KILL_DRIVER=kubernetes
}

// maxMinAvailable bounds MIN_AVAILABLE: more nodes than that is a typing error.
const maxMinAvailable = 10000

// Validate implements config.Validator.
func (c Config) Validate() error {
	if err := c.Common.Validate(); err != nil {
		return err
	}
	if c.MinAvailable < 0 || c.MinAvailable > maxMinAvailable {
		return config.Invalid("MIN_AVAILABLE", fmt.Sprint(c.MinAvailable), fmt.Sprintf("a whole number from 0 to %d", maxMinAvailable))
	}
	if err := config.DurationIn("RECOVERY_TIMEOUT", c.RecoveryTimeout, time.Second, 24*time.Hour, "a positive duration from 1s to 24h"); err != nil {
		return err
	}
	if _, ok := drivers[c.Driver]; !ok {
		return config.Invalid("KILL_DRIVER", c.Driver, driverNames())
	}
	if c.Driver == "docker" {
		return c.Docker.Validate()
	}
	return nil
}

func run(ctx context.Context, args []string, getenv func(string) string, _, stderr io.Writer) error {
	cfg, err := config.Load[Config](getenv)
	if err != nil {
		return err
	}
	rt, err := service.Start(ctx, "nodekiller", args, getenv, stderr, cfg.Common, cfg.ListenAddr)
	if rt == nil {
		return err
	}
	defer rt.Close()

	killer, closeDriver, err := drivers[cfg.Driver](ctx, cfg, rt)
	if err != nil {
		return err
	}
	defer closeDriver()

	nk := nodekiller.New(ctx, nodekiller.Options{
		Killer:   killer,
		Selector: &chaos.Selector{Policy: cfg.Policy, MinAvailable: cfg.MinAvailable},
		DryRun:   cfg.DryRun,
		Logger:   rt.Logger,
		Metrics:  nodekiller.NewMetrics(rt.Registry),
		Watch:    nodekiller.Watch{Timeout: cfg.RecoveryTimeout},
		Lever:    lever.New(rt.Registry),
	})
	defer nk.Wait()

	rt.Logger.Info("starting", "driver", killer.Driver(), "policy", cfg.Policy, "min_available", cfg.MinAvailable, "dry_run", cfg.DryRun,
		"targets", config.RedactURLs(strings.Join(cfg.HTTP.Targets, ",")), "target_dns", cfg.HTTP.TargetDNS)
	return rt.Serve(ctx, cfg.ListenAddr, nodekiller.Routes(nk, cfg.Token()))
}
