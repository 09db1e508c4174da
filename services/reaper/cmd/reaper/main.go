// Command reaper kills receiver nodes on a schedule, through the receiver's kill_node.
package main

import "chaossuite.dev/shared/service"

func main() { service.Main("reaper", run) }
