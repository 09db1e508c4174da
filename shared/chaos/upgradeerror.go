package chaos

import (
	"errors"
	"fmt"
)

// Why an upgrade failed, as a bounded set fit for a metric label. Upgrader says which
// failure gets which.
const (
	ReasonRefused     = "refused"     // a replica, the platform or the driver refused the change
	ReasonUnreachable = "unreachable" // a replica or the platform did not answer at all
	ReasonUnverified  = "unverified"  // the change was taken but a replica never served it
	ReasonCanceled    = "canceled"    // the upgrade was stopped before it converged
	ReasonOther       = "other"
)

// UpgradeError is a failed upgrade: which replica stopped it, why (one of the Reason
// constants) and the underlying error.
type UpgradeError struct {
	Replica string
	Reason  string
	Err     error
}

// Error implements error.
func (e *UpgradeError) Error() string {
	if e.Replica == "" {
		return fmt.Sprintf("%s: %v", e.Reason, e.Err)
	}
	return fmt.Sprintf("replica %s %s: %v", e.Replica, e.Reason, e.Err)
}

// Unwrap returns the cause.
func (e *UpgradeError) Unwrap() error { return e.Err }

// UpgradeReason returns the reason an upgrade failed with err: "" for nil, the UpgradeError's
// reason when there is one, "other" otherwise.
func UpgradeReason(err error) string {
	if err == nil {
		return ""
	}
	var ue *UpgradeError
	if errors.As(err, &ue) && ue.Reason != "" {
		return ue.Reason
	}
	return ReasonOther
}
