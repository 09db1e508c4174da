// Command voracious emulates many OCO backends for load-testing servo emulators, and with
// `voracious emulate` is such a load generator itself.
package main

import "chaossuite.dev/shared/service"

func main() { service.Main("voracious", run) }
