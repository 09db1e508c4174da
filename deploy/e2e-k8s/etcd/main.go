// Command etcd is etcd's own main, built from go.etcd.io/etcd/server/v3 at the version
// k8s.io/kubernetes requires, so that the control plane comes from the module proxy alone.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
