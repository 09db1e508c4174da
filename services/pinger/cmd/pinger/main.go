// Command pinger probes the receiver at a constant rate, reports how available it stays, and
// starts and stops the reaper and the helmsman.
package main

import "chaossuite.dev/shared/service"

func main() { service.Main("pinger", run) }
