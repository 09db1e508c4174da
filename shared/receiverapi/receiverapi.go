// Package receiverapi is the receiver's HTTP API as its callers see it (the root that relays
// kills, the admin API the drivers upgrade and halt it through) and the nodekiller's POST /kill
// that kills are relayed to: the request and answer types, and one Client for every call.
package receiverapi

import (
	"time"

	"chaossuite.dev/shared/chaos"
)

// RootRequest is the optional body of the receiver's POST /: which node, if any, to kill.
type RootRequest struct {
	KillNode string `json:"kill_node"`
}

// RootAnswer is what the receiver's / answers.
type RootAnswer struct {
	Message string      `json:"message"`
	Version string      `json:"version"`
	Node    string      `json:"node"`
	PID     int         `json:"pid"`
	Kill    *KillAnswer `json:"kill,omitempty"` // what the nodekiller answered, when a kill was asked
}

// KillRequest is the body of the nodekiller's POST /kill.
type KillRequest struct {
	Method   string `json:"method"`
	Target   string `json:"target,omitempty"`   // a node by name; none lets the policy choose
	Duration string `json:"duration,omitempty"` // how long a pause or a partition lasts
}

// KillAnswer is what the nodekiller's POST /kill answers, and what the receiver passes on.
type KillAnswer struct {
	Victim   string    `json:"victim"`
	Method   string    `json:"method"`
	Driver   string    `json:"driver"`
	At       time.Time `json:"at"`
	DryRun   bool      `json:"dry_run,omitempty"`
	Duration string    `json:"duration,omitempty"`
}

// Config is a receiver's in-place configuration, as GET and PUT /admin/config carry it.
type Config = chaos.ReceiverConfig

// ConfigRequest is the body of PUT /admin/config. Version is required; no message means the
// version's default message. (The fields are in name order, as the body always went out.)
type ConfigRequest struct {
	Message *string `json:"message,omitempty"`
	Version *string `json:"version"`
}

// HaltRequest is the body of POST /admin/halt: stop drains first, halt does not.
type HaltRequest struct {
	Method string `json:"method"`
}

// HaltAnswer is what POST /admin/halt answers before the receiver dies.
type HaltAnswer struct {
	Node   string `json:"node"`
	Method string `json:"method"`
	Status string `json:"status"` // always "dying"
}
