// Command helmsman upgrades the receiver on a schedule and watches its status all along.
package main

import "chaossuite.dev/shared/service"

func main() { service.Main("helmsman", run) }
