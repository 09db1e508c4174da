package kubernetes_test

import (
	"context"
	"fmt"
	"os"

	"chaossuite.dev/shared/chaos"
	"chaossuite.dev/shared/chaos/httpdriver"
	"chaossuite.dev/shared/chaos/kubernetes"
	"chaossuite.dev/shared/config"
)

// The nodekiller's main with KILL_DRIVER=kubernetes: K8S_NAMESPACE, K8S_SELECTOR and POD_NAME
// from the environment (the Deployment sets them through the downward API).
func ExampleInClusterKiller() {
	cfg, err := config.Load[kubernetes.KillerConfig](os.Getenv)
	if err != nil {
		fmt.Println(err)
		return
	}
	var killer chaos.Killer
	killer, err = kubernetes.InClusterKiller(cfg)
	if err != nil {
		fmt.Println(err) // outside a pod: no ServiceAccount
		return
	}
	nodes, err := killer.Nodes(context.Background())
	fmt.Println(nodes, err)
}

// The helmsman's main with UPGRADE_DRIVER=kubernetes: K8S_NAMESPACE and K8S_DEPLOYMENT from the
// environment; the admin API client carries the shared token for IN_PLACE and resets.
func ExampleInClusterUpgrader() {
	cfg, err := config.Load[kubernetes.UpgraderConfig](os.Getenv)
	if err != nil {
		fmt.Println(err)
		return
	}
	up, err := kubernetes.InClusterUpgrader(cfg, &httpdriver.Client{Token: os.Getenv("AUTH_TOKEN")})
	if err != nil {
		fmt.Println(err)
		return
	}
	st, err := up.Status(context.Background()) // conditions and replica counts for /info
	fmt.Println(st.Progress(), err)
}
