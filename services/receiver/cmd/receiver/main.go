// Command receiver is the service under test: three replicas, one per node, answer a constant
// probe while their nodes are killed and upgraded.
package main

import "chaossuite.dev/shared/service"

func main() { service.Main("receiver", run) }
