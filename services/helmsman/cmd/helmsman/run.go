package main

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/distribution/reference"

	"chaossuite.dev/helmsman/internal/helmsman"
	"chaossuite.dev/shared/chaos"
	"chaossuite.dev/shared/chaos/docker"
	"chaossuite.dev/shared/chaos/httpdriver"
	"chaossuite.dev/shared/chaos/kubernetes"
	"chaossuite.dev/shared/config"
	"chaossuite.dev/shared/control"
	"chaossuite.dev/shared/lever"
	"chaossuite.dev/shared/service"
)

// Config is every setting of the helmsman.
type Config struct {
	service.Common
	ListenAddr       string                    `env:"LISTEN_ADDR" envDefault:":8004"`
	Driver           string                    `env:"UPGRADE_DRIVER" envDefault:"http"`
	UpgradeInterval  time.Duration             `env:"UPGRADE_INTERVAL" envDefault:"120s"`
	Versions         []string                  `env:"VERSIONS" envDefault:"beta,alpha" envSeparator:","`
	Types            []string                  `env:"UPGRADE_TYPES" envSeparator:","` // empty: every type UPGRADE_BY allows
	SurgePercents    []string                  `env:"SURGE_PERCENTS" envDefault:"20,50,75" envSeparator:","`
	StatusInterval   time.Duration             `env:"STATUS_INTERVAL" envDefault:"5s"`
	GracePeriod      time.Duration             `env:"GRACE_PERIOD"` // 0: 3 x STATUS_INTERVAL
	LostAfter        time.Duration             `env:"LOST_AFTER"`   // 0: 3 x STATUS_INTERVAL
	ExpectedReplicas int                       `env:"EXPECTED_REPLICAS" envDefault:"3"`
	StepTimeout      time.Duration             `env:"UPGRADE_STEP_TIMEOUT" envDefault:"30s"`
	StepPause        time.Duration             `env:"UPGRADE_STEP_PAUSE" envDefault:"0s"`
	Targets          []string                  `env:"TARGETS" envSeparator:","`
	DNS              string                    `env:"TARGET_DNS"`
	Autostart        bool                      `env:"AUTOSTART" envDefault:"false"`
	UpgradeBy        string                    `env:"UPGRADE_BY" envDefault:"receiver"` // receiver or image
	ReadinessPath    string                    `env:"READINESS_PATH"`                   // by image: GET it for readiness
	Docker           docker.UpgraderConfig     // UPGRADE_DRIVER=docker
	Kubernetes       kubernetes.UpgraderConfig // UPGRADE_DRIVER=kubernetes

	// The former names of TARGETS and TARGET_DNS, refused with a line naming the new ones.
	OldTargets string `env:"RECEIVER_TARGETS"`
	OldDNS     string `env:"RECEIVER_DNS"`

	types  []chaos.UpgradeType
	surges []int
}

var versionPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)

// Upgrade modes (UPGRADE_BY).
const (
	byReceiver = "receiver" // versions are receiver versions: RECEIVER_VERSION, /admin/config
	byImage    = "image"    // versions are image references: replicas replaced with the new image
)

// byImage says whether versions are image references.
func (c *Config) byImage() bool { return c.UpgradeBy == byImage }

// errInPlaceByImage says why IN_PLACE is refused when versions are images.
const errInPlaceByImage = "IN_PLACE changes a receiver through its admin API, which other services lack: with UPGRADE_BY=image use ROLLOUT or MAX_SURGE"

// Validate implements config.Validator and fills in the defaults that depend on others.
func (c *Config) Validate() error {
	if err := c.Common.Validate(); err != nil {
		return err
	}
	if c.OldTargets != "" {
		return config.Invalid("RECEIVER_TARGETS", c.OldTargets, "it renamed: set TARGETS instead")
	}
	if c.OldDNS != "" {
		return config.Invalid("RECEIVER_DNS", c.OldDNS, "it renamed: set TARGET_DNS instead")
	}
	if !slices.Contains(upgradeDrivers, c.Driver) {
		return config.Invalid("UPGRADE_DRIVER", c.Driver, "one of "+strings.Join(upgradeDrivers, ", "))
	}
	if err := c.validateMode(); err != nil {
		return err
	}
	if err := config.DurationIn("UPGRADE_INTERVAL", c.UpgradeInterval, 10*time.Millisecond, 24*time.Hour, "a positive duration such as 120s, from 10ms to 24h"); err != nil {
		return err
	}
	versions := strings.Join(c.Versions, ",")
	if len(c.Versions) == 0 {
		return config.Invalid("VERSIONS", versions, "a comma-separated list of one or more versions, such as beta,alpha")
	}
	for i, v := range c.Versions {
		if c.byImage() {
			if !isImageReference(v) {
				return config.Invalid("VERSIONS", versions, "with UPGRADE_BY=image a comma-separated list of image references with a tag or digest, such as chaossuite-httpbin:v2.25.0,chaossuite-httpbin:v2.26.0")
			}
		} else if !versionPattern.MatchString(v) {
			return config.Invalid("VERSIONS", versions, "a comma-separated list of versions of 1 to 63 letters, digits, '.', '-' or '_', such as beta,alpha")
		}
		if slices.Contains(c.Versions[:i], v) {
			return config.Invalid("VERSIONS", versions, "a list without repeats: "+v+" is listed twice")
		}
	}
	if len(c.Types) == 0 {
		c.Types = []string{string(chaos.InPlace), string(chaos.Rollout), string(chaos.MaxSurge)}
		if c.byImage() {
			c.Types = c.Types[1:]
		}
	}
	c.types = nil
	for _, s := range c.Types {
		t, err := chaos.ParseUpgradeType(s)
		if err != nil {
			return config.Invalid("UPGRADE_TYPES", strings.Join(c.Types, ","), "a comma-separated list of IN_PLACE, ROLLOUT, MAX_SURGE")
		}
		if t == chaos.InPlace && c.byImage() {
			return config.Invalid("UPGRADE_TYPES", strings.Join(c.Types, ","), "ROLLOUT or MAX_SURGE only: "+errInPlaceByImage)
		}
		c.types = append(c.types, t)
	}
	if len(c.types) == 0 {
		return config.Invalid("UPGRADE_TYPES", "", "a comma-separated list of IN_PLACE, ROLLOUT, MAX_SURGE")
	}
	c.surges = nil
	for _, s := range c.SurgePercents {
		p, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(s, "%")))
		if err != nil || p < 1 || p > 100 {
			return config.Invalid("SURGE_PERCENTS", strings.Join(c.SurgePercents, ","), "a comma-separated list of percentages from 1 to 100, such as 20,50,75")
		}
		c.surges = append(c.surges, p)
	}
	if len(c.surges) == 0 {
		return config.Invalid("SURGE_PERCENTS", "", "a comma-separated list of percentages from 1 to 100, such as 20,50,75")
	}
	// Every round asks every replica: a round each few nanoseconds is a flood.
	if err := config.DurationIn("STATUS_INTERVAL", c.StatusInterval, 100*time.Millisecond, time.Hour, "a positive duration such as 5s, from 100ms to 1h"); err != nil {
		return err
	}
	if c.GracePeriod == 0 {
		c.GracePeriod = 3 * c.StatusInterval
	}
	if c.GracePeriod > 24*time.Hour {
		return config.Invalid("GRACE_PERIOD", c.GracePeriod.String(), "a duration of at most 24h")
	}
	if c.GracePeriod <= 2*c.StatusInterval {
		return config.Invalid("GRACE_PERIOD", c.GracePeriod.String(), "more than twice STATUS_INTERVAL (over "+(2*c.StatusInterval).String()+"), so that every replica is seen before any change")
	}
	if c.LostAfter == 0 {
		c.LostAfter = 3 * c.StatusInterval
	}
	if c.LostAfter > 24*time.Hour {
		return config.Invalid("LOST_AFTER", c.LostAfter.String(), "a duration of at most 24h")
	}
	if c.LostAfter < c.StatusInterval {
		return config.Invalid("LOST_AFTER", c.LostAfter.String(), "at least STATUS_INTERVAL ("+c.StatusInterval.String()+")")
	}
	if c.ExpectedReplicas < 1 || c.ExpectedReplicas > 10000 {
		return config.Invalid("EXPECTED_REPLICAS", fmt.Sprint(c.ExpectedReplicas), "a whole number from 1 to 10000")
	}
	if err := config.DurationIn("UPGRADE_STEP_TIMEOUT", c.StepTimeout, 10*time.Millisecond, time.Hour, "a positive duration such as 30s, from 10ms to 1h"); err != nil {
		return err
	}
	if err := config.DurationIn("UPGRADE_STEP_PAUSE", c.StepPause, 0, time.Hour, "a duration of 0 or more, at most 1h"); err != nil {
		return err
	}
	if len(c.Targets) == 0 && c.DNS == "" {
		c.DNS = "receiver:8000"
	}
	if len(c.Targets) > 0 && c.DNS != "" {
		return config.Invalid("TARGET_DNS", c.DNS, "unset when TARGETS is set: one source of replicas")
	}
	if err := c.discovery().Validate(); err != nil {
		if c.DNS != "" {
			return config.Invalid("TARGET_DNS", c.DNS, "host:port such as receiver:8000")
		}
		return config.Invalid("TARGETS", strings.Join(c.Targets, ","), "receiver base URLs such as http://127.0.0.1:8000,http://127.0.0.1:8010 ("+err.Error()+")")
	}
	if c.Driver == "docker" {
		return c.Docker.Validate()
	}
	return nil
}

// validateMode checks UPGRADE_BY and READINESS_PATH against the driver.
func (c *Config) validateMode() error {
	switch c.UpgradeBy {
	case byReceiver:
		if c.ReadinessPath != "" {
			return config.Invalid("READINESS_PATH", c.ReadinessPath, "unset unless UPGRADE_BY=image: a receiver says its readiness on /readyz")
		}
		return nil
	case byImage:
	default:
		return config.Invalid("UPGRADE_BY", c.UpgradeBy, "receiver or image")
	}
	if c.Driver == "http" {
		return config.Invalid("UPGRADE_BY", c.UpgradeBy, "receiver with UPGRADE_DRIVER=http, which reconfigures receivers; upgrades by image need UPGRADE_DRIVER=docker or kubernetes")
	}
	if p := c.ReadinessPath; p != "" {
		u, err := url.Parse(p)
		if err != nil || !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || u.Host != "" || u.Fragment != "" || len(p) > 1024 {
			return config.Invalid("READINESS_PATH", p, "a path on the replicas, such as /status/200 or /healthz")
		}
	}
	return nil
}

// isImageReference says whether v names an image with a tag or digest, as docker and
// Kubernetes read it.
func isImageReference(v string) bool {
	ref, err := reference.ParseNormalizedNamed(v)
	return err == nil && !reference.IsNameOnly(ref)
}

// refused are the upgrade types the helmsman refuses through its API, with why.
func (c *Config) refused() map[chaos.UpgradeType]string {
	if c.byImage() {
		return map[chaos.UpgradeType]string{chaos.InPlace: errInPlaceByImage}
	}
	return nil
}

func (c *Config) discovery() httpdriver.Discovery {
	return httpdriver.Discovery{Targets: c.Targets, DNS: c.DNS}
}

func run(ctx context.Context, args []string, getenv func(string) string, _, stderr io.Writer) error {
	cfg, err := config.Load[Config](getenv)
	if err != nil {
		return err
	}
	rt, err := service.Start(ctx, "helmsman", args, getenv, stderr, cfg.Common, cfg.ListenAddr)
	if rt == nil {
		return err
	}
	defer rt.Close()

	upgrader, closeDriver, err := newUpgrader(ctx, &cfg, rt)
	if err != nil {
		return err
	}
	defer closeDriver()

	metrics := helmsman.NewMetrics(rt.Registry, cfg.Versions)
	h := helmsman.New(helmsman.Options{
		Upgrader:         upgrader,
		Planner:          &helmsman.Planner{Versions: cfg.Versions, Types: cfg.types, SurgePercents: cfg.surges},
		UpgradeInterval:  cfg.UpgradeInterval,
		StatusInterval:   cfg.StatusInterval,
		GracePeriod:      cfg.GracePeriod,
		LostAfter:        cfg.LostAfter,
		ExpectedReplicas: cfg.ExpectedReplicas,
		Logger:           rt.Logger,
		Metrics:          metrics,
		Lever:            lever.New(rt.Registry),
		Refused:          cfg.refused(),
	})

	// The watch runs as long as the process; the upgrade loop only while started.
	watchCtx, stopWatch := context.WithCancel(ctx)
	watchDone := make(chan struct{})
	go func() { defer close(watchDone); h.Watch(watchCtx) }()
	defer func() { stopWatch(); <-watchDone }()

	loop := control.New(ctx, "helmsman", h.Upgrades(ctx), metrics.SetRunning)
	defer loop.Stop()
	rt.Logger.Info("starting", "driver", upgrader.Driver(), "versions", strings.Join(cfg.Versions, ","),
		"types", fmt.Sprint(cfg.types), "upgrade_interval", cfg.UpgradeInterval, "status_interval", cfg.StatusInterval,
		"grace_period", cfg.GracePeriod, "lost_after", cfg.LostAfter, "expected_replicas", cfg.ExpectedReplicas, "autostart", cfg.Autostart,
		"upgrade_by", cfg.UpgradeBy, "readiness_path", cfg.ReadinessPath,
		"targets", config.RedactURLs(strings.Join(cfg.Targets, ",")), "target_dns", cfg.DNS)
	if cfg.Autostart {
		loop.Start()
	}
	return rt.Serve(ctx, cfg.ListenAddr, helmsman.Routes(h, loop, cfg.Token()))
}
