package httpdriver

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"chaossuite.dev/shared/chaos"
	"chaossuite.dev/shared/httpclient"
)

// Upgrader upgrades receiver processes in place through PUT /admin/config. Its "new replicas"
// are the same processes reconfigured: IN_PLACE changes all at once, ROLLOUT one at a time,
// MAX_SURGE in batches of plan.BatchSize. Each change is verified by reading the replica's
// configuration back, and every upgrade ends by reading back every replica's version.
type Upgrader struct {
	Discovery Discovery
	Client    *Client
	// StepTimeout bounds how long one replica may take to take a change and serve it, retries
	// included; a replica that comes back within it still converges. 0 means 30s.
	StepTimeout time.Duration
	// StepPause is a wait after each batch has converged before the next starts, as a
	// platform's minimum ready time; it leaves the mixed-version window visible. 0: none.
	StepPause time.Duration
	// ProbeTimeout bounds each question Replicas asks. 0 means 1s.
	ProbeTimeout time.Duration
	// Poll is the first wait between attempts at a replica. 0 means 100ms.
	Poll time.Duration
}

// Driver implements chaos.Upgrader.
func (u *Upgrader) Driver() string { return "http" }

// Replicas implements chaos.Upgrader: every node found, asked /readyz and /admin/config at
// once. A node that does not answer is listed with Ready false.
func (u *Upgrader) Replicas(ctx context.Context) ([]chaos.Replica, error) {
	addrs, err := u.Discovery.Addresses(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]chaos.Replica, len(addrs))
	var wg sync.WaitGroup
	for i, a := range addrs {
		out[i] = chaos.Replica{Name: NodeName(a), Address: a}
		wg.Go(func() {
			pctx, cancel := context.WithTimeout(ctx, u.probeTimeout())
			defer cancel()
			var ready bool
			var inner sync.WaitGroup
			inner.Go(func() { ready = u.Client.Ready(pctx, a) })
			cfg, err := u.Client.Config(pctx, a)
			inner.Wait()
			if err == nil {
				out[i].Version, out[i].Generation = cfg.Version, cfg.Generation
			}
			out[i].Ready = ready && err == nil
		})
	}
	wg.Wait()
	return out, nil
}

// Upgrade implements chaos.Upgrader. It fails with a *chaos.UpgradeError naming the replica
// and the reason: refused, unreachable, unverified or canceled.
func (u *Upgrader) Upgrade(ctx context.Context, plan chaos.UpgradePlan) error {
	addrs, err := u.Discovery.Addresses(ctx)
	if err != nil {
		return &chaos.UpgradeError{Reason: chaos.ReasonUnreachable, Err: err}
	}
	if len(addrs) == 0 {
		return &chaos.UpgradeError{Reason: chaos.ReasonUnreachable, Err: errors.New("no replica found")}
	}
	msg := plan.Message
	if msg == "" {
		msg = chaos.DefaultMessage(plan.Version)
	}
	size := plan.BatchSize(len(addrs))
	for start := 0; start < len(addrs); start += size {
		if start > 0 && u.StepPause > 0 {
			if err := sleep(ctx, u.StepPause); err != nil {
				return &chaos.UpgradeError{Reason: chaos.ReasonCanceled, Err: err}
			}
		}
		if err := u.applyAll(ctx, addrs[start:min(start+size, len(addrs))], plan.Version, msg); err != nil {
			return err
		}
	}
	return u.readBack(ctx, plan.Version, msg)
}

// Reset implements chaos.Upgrader: the replica is set to version (with its default message)
// even when it already runs it, so that its configuration is fresh.
func (u *Upgrader) Reset(ctx context.Context, r chaos.Replica, version string) error {
	return u.apply(ctx, r.Address, version, chaos.DefaultMessage(version))
}

// readBack asks every replica found now for its version and brings any that lags (one the
// batches missed, or one restarted from an old configuration meanwhile) to version.
func (u *Upgrader) readBack(ctx context.Context, version, msg string) error {
	replicas, err := u.Replicas(ctx)
	if err != nil {
		return &chaos.UpgradeError{Reason: chaos.ReasonUnreachable, Err: err}
	}
	var lagging []string
	for _, r := range replicas {
		if !r.Ready || r.Version != version {
			lagging = append(lagging, r.Address)
		}
	}
	return u.applyAll(ctx, lagging, version, msg)
}

// applyAll changes every replica of addrs at once and returns the first failure.
func (u *Upgrader) applyAll(ctx context.Context, addrs []string, version, msg string) error {
	errs := make([]error, len(addrs))
	var wg sync.WaitGroup
	for i, a := range addrs {
		wg.Go(func() { errs[i] = u.apply(ctx, a, version, msg) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// apply sets one replica to version and waits until it serves it, retrying within
// StepTimeout while the replica is unreachable, draining or serving something else.
func (u *Upgrader) apply(ctx context.Context, base, version, msg string) error {
	sctx, cancel := context.WithTimeout(ctx, u.stepTimeout())
	defer cancel()
	name := NodeName(base)
	var last *chaos.UpgradeError
	policy := httpclient.Policy{MaxAttempts: 1 << 20, Base: u.poll(), Max: time.Second}
	err := httpclient.Do(sctx, policy, func(ctx context.Context, _ int) error {
		if _, err := u.Client.SetConfig(ctx, base, version, msg); err != nil {
			last = classify(name, err)
			if last.Reason == chaos.ReasonRefused && !retryableRefusal(err) {
				return last
			}
			return httpclient.Retryable(last)
		}
		cfg, err := u.Client.Config(ctx, base)
		if err != nil {
			last = classify(name, err)
			return httpclient.Retryable(last)
		}
		if cfg.Version != version {
			last = &chaos.UpgradeError{Replica: name, Reason: chaos.ReasonUnverified,
				Err: fmt.Errorf("serves %q after the change to %q", cfg.Version, version)}
			return httpclient.Retryable(last)
		}
		return nil
	})
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return &chaos.UpgradeError{Replica: name, Reason: chaos.ReasonCanceled, Err: ctx.Err()}
	}
	if last != nil {
		return last
	}
	return &chaos.UpgradeError{Replica: name, Reason: chaos.ReasonUnreachable, Err: err}
}

// classify names why a call to a replica failed.
func classify(name string, err error) *chaos.UpgradeError {
	var se *httpclient.StatusError
	if errors.As(err, &se) {
		return &chaos.UpgradeError{Replica: name, Reason: chaos.ReasonRefused, Err: err}
	}
	return &chaos.UpgradeError{Replica: name, Reason: chaos.ReasonUnreachable, Err: err}
}

// retryableRefusal reports whether a replica's error answer may pass: it is draining or
// overloaded, not saying no.
func retryableRefusal(err error) bool {
	var se *httpclient.StatusError
	return errors.As(err, &se) && (httpclient.RetryableStatus(se.Status) || se.Status == http.StatusTooManyRequests)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func (u *Upgrader) stepTimeout() time.Duration {
	if u.StepTimeout > 0 {
		return u.StepTimeout
	}
	return 30 * time.Second
}

func (u *Upgrader) probeTimeout() time.Duration {
	if u.ProbeTimeout > 0 {
		return u.ProbeTimeout
	}
	return time.Second
}

func (u *Upgrader) poll() time.Duration {
	if u.Poll > 0 {
		return u.Poll
	}
	return 100 * time.Millisecond
}
