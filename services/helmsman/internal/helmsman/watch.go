package helmsman

import (
	"context"
	"time"

	"chaossuite.dev/shared/chaos"
)

// Watch observes the replicas every StatusInterval until ctx is done, resetting the lost ones
// that return and reconciling the stale ones.
func (h *Helmsman) Watch(ctx context.Context) {
	t := time.NewTicker(h.o.StatusInterval)
	defer t.Stop()
	for {
		h.observe(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-h.poke:
		}
	}
}

func (h *Helmsman) wake() {
	select {
	case h.poke <- struct{}{}:
	default:
	}
}

// observe takes one look at the replicas and acts on what it sees.
func (h *Helmsman) observe(ctx context.Context) {
	tick := h.o.Now()
	reps, err := h.o.Upgrader.Replicas(ctx)
	if ctx.Err() != nil {
		return
	}
	if err != nil {
		h.o.Logger.Warn("listing replicas failed", "error", err)
	}
	h.mu.Lock()
	for _, r := range h.replicas {
		r.listed, r.Ready = false, false
	}
	for _, seen := range reps {
		k := key(seen)
		r := h.replicas[k]
		if r == nil {
			r = &replica{firstListed: tick}
			h.replicas[k] = r
		}
		known := r.Version
		r.Replica, r.listed = seen, true
		if !seen.Ready {
			r.Version = known // keep the last version it served, for the table
			r.back = false
			continue
		}
		if r.lost && !r.back {
			r.back = true
			h.o.Logger.Info("lost replica is back; reset before it counts", "replica", seen.Name, "version", seen.Version)
		}
		r.lastSeen = tick
	}
	for k, r := range h.replicas {
		if !r.listed && err == nil && !r.lost && h.replacingLocked(r) {
			h.o.Logger.Info("replica replaced by the upgrade", "replica", r.Name, "version", r.Version)
			delete(h.replicas, k)
			continue
		}
		if !r.listed && err == nil && !r.resetAt.IsZero() && tick.Sub(r.resetAt) < h.o.LostAfter {
			h.o.Logger.Info("replica replaced by its reset", "replica", r.Name)
			delete(h.replicas, k)
			continue
		}
		since := later(r.lastSeen, r.firstListed)
		if r.Ready || tick.Sub(since) < h.o.LostAfter {
			continue
		}
		if !r.lost {
			r.lost, r.back = true, false
			why := r.Reason
			if !r.listed {
				why = "gone from discovery"
			}
			h.o.Logger.Warn("replica lost", "replica", r.Name, "unseen_for", tick.Sub(since).String(), "why", why)
		}
		if !r.listed && tick.Sub(since) > 2*h.o.LostAfter {
			// Gone from discovery: replaced by an upgrade, or down so long that, should it
			// return, it is a new replica (and reconciled if stale).
			delete(h.replicas, k)
		}
	}
	inGrace := tick.Before(h.graceEnd)
	if !inGrace && h.desired == "" {
		var versions []string
		for _, r := range h.replicas {
			if r.Ready {
				versions = append(versions, r.Version)
			}
		}
		if v := majority(versions, h.o.Planner.Versions); v != "" {
			h.setDesiredLocked(v, "adopted")
			h.o.Logger.Info("adopted the version most replicas run as desired", "version", v, "replicas", len(versions))
		}
	}
	var resets, stale []chaos.Replica
	if !inGrace && h.desired != "" && h.upgrading == nil {
		for _, r := range h.replicas {
			switch {
			case r.Ready && r.lost:
				resets = append(resets, r.Replica)
			case r.Ready && r.Version != h.desired:
				stale = append(stale, r.Replica)
			}
		}
	}
	desired := h.desired
	h.updateLocked(tick)
	h.mu.Unlock()

	if (len(resets) > 0 || len(stale) > 0) && h.change.TryLock() {
		defer h.change.Unlock()
		h.mu.Lock()
		moved := h.desired != desired // an upgrade came and went since the look
		h.mu.Unlock()
		if moved {
			return
		}
		for _, r := range resets {
			h.reset(ctx, r, desired, true)
		}
		for _, r := range stale {
			h.reset(ctx, r, desired, false)
		}
		h.mu.Lock()
		h.updateLocked(h.o.Now())
		h.mu.Unlock()
	}
}

// replacingLocked reports whether r, gone from discovery, went while an upgrade that replaces
// replicas ran: one runs now, or one ended after r was last seen.
func (h *Helmsman) replacingLocked(r *replica) bool {
	if h.upgrading != nil && h.upgrading.Type != chaos.InPlace {
		return true
	}
	return !h.replacedUntil.IsZero() && !later(r.lastSeen, r.firstListed).After(h.replacedUntil)
}

// reset sets one replica to desired: a lost one that came back (lost), or one found at a
// stale version outside an upgrade (a reconcile).
func (h *Helmsman) reset(ctx context.Context, r chaos.Replica, desired string, lost bool) {
	rctx, cancel := context.WithTimeout(ctx, max(h.o.LostAfter, 2*time.Second))
	defer cancel()
	err := h.o.Upgrader.Reset(rctx, r, desired)
	h.mu.Lock()
	defer h.mu.Unlock()
	if err != nil {
		h.changeErrors++
		h.lastChangeErr = err.Error()
		h.o.Logger.Warn("resetting a replica failed", "replica", r.Name, "lost", lost, "version", desired, "error", err)
		return
	}
	st := h.replicas[key(r)]
	if st == nil {
		return
	}
	if lost {
		h.resets++
		st.lost = false
		h.o.Logger.Info("lost replica reset to the desired version", "replica", r.Name, "version", desired, "was", r.Version)
	} else {
		h.reconciles++
		h.o.Metrics.reconciles.Inc()
		h.o.Logger.Info("stale replica reconciled", "replica", r.Name, "version", desired, "was", r.Version)
	}
	st.Version = desired
	st.Generation++
	st.resetAt = h.o.Now()
}

// key names a replica across observations: its name where the driver gives one (a container
// or pod keeps it when it restarts at another address), else its address.
func key(r chaos.Replica) string {
	if r.Name != "" {
		return r.Name
	}
	return r.Address
}
