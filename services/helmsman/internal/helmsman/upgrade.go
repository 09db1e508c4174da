package helmsman

import (
	"context"
	"time"

	"chaossuite.dev/shared/chaos"
)

// Upgrades runs the upgrade loop until ctx is done: every UpgradeInterval, once the grace
// period is over, one upgrade. An upgrade under way when ctx ends runs to its end (base
// bounds it: the process's own context), so that stopping drains.
func (h *Helmsman) Upgrades(base context.Context) func(ctx context.Context) {
	return func(ctx context.Context) {
		h.mu.Lock()
		h.loopRunning = true
		h.sinceStart = map[string]uint64{}
		h.mu.Unlock()
		defer func() {
			h.mu.Lock()
			h.loopRunning, h.nextUpgradeAt = false, time.Time{}
			h.mu.Unlock()
		}()
		for {
			h.mu.Lock()
			h.nextUpgradeAt = later(h.o.Now().Add(h.o.UpgradeInterval), h.graceEnd)
			wait := h.nextUpgradeAt.Sub(h.o.Now())
			h.mu.Unlock()
			if ok, changed := h.settings.sleep(ctx, wait); !ok {
				return
			} else if changed {
				continue // new settings: the next upgrade is scheduled by them
			}
			for !h.ready() {
				if !sleep(ctx, h.o.StatusInterval) {
					return
				}
			}
			h.upgradeOnce(base)
		}
	}
}

// ready reports whether an upgrade may start: the grace period is over and a version is
// desired.
func (h *Helmsman) ready() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return !h.o.Now().Before(h.graceEnd) && h.desired != ""
}

func (h *Helmsman) upgradeOnce(ctx context.Context) {
	h.change.Lock()
	defer h.change.Unlock()
	if h.settings.lever.Halted() {
		h.o.Logger.Info("halted: no upgrade")
		return
	}
	h.mu.Lock()
	from := h.desired
	plan := h.o.Planner.Take(from)
	if plan.Version == from {
		h.mu.Unlock()
		h.o.Logger.Info("no other version to upgrade to", "version", from)
		return
	}
	up := &Upgrade{Type: plan.Type, SurgePercent: plan.SurgePercent, Version: plan.Version, From: from, StartedAt: h.o.Now().UTC()}
	h.upgrading = up
	h.setDesiredLocked(plan.Version, "upgrade")
	types := make([]string, len(chaos.UpgradeTypes))
	for i, t := range chaos.UpgradeTypes {
		types[i] = string(t)
	}
	oneHot(h.o.Metrics.upgradeTyp, types, string(plan.Type))
	h.updateLocked(h.o.Now())
	h.mu.Unlock()

	h.o.Logger.Info("upgrade starting", "plan", plan.String(), "from", from)
	start := time.Now()
	err := h.o.Upgrader.Upgrade(ctx, plan)
	took := time.Since(start)

	result := "ok"
	if err != nil {
		result = chaos.UpgradeReason(err)
		h.o.Logger.Warn("upgrade failed", "plan", plan.String(), "reason", result, "error", err)
	} else {
		h.o.Logger.Info("upgrade converged", "plan", plan.String(), "seconds", took.Seconds())
	}
	h.o.Metrics.duration.WithLabelValues(result).Observe(took.Seconds())
	h.o.Metrics.upgrades.WithLabelValues(string(plan.Type), result).Inc()

	h.mu.Lock()
	up.DurationSeconds, up.Result = took.Seconds(), result
	if err != nil {
		up.Error = err.Error()
		h.failures = prepend(h.failures, *up)
	}
	h.history = prepend(h.history, *up)
	h.total[result]++
	h.sinceStart[result]++
	h.upgrading = nil
	if plan.Type != chaos.InPlace {
		h.replacedUntil = h.o.Now()
	}
	h.updateLocked(h.o.Now())
	h.mu.Unlock()
	h.wake()
}

func prepend(list []Upgrade, u Upgrade) []Upgrade {
	list = append([]Upgrade{u}, list...)
	if len(list) > historySize {
		list = list[:historySize]
	}
	return list
}

func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
