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
// from the environment (the Deployment sets them through the downward API). Outside a pod the
// kubeconfig's current context gives the cluster, credentials and namespace.
func ExampleConnectKiller() {
	cfg, err := config.Load[kubernetes.KillerConfig](os.Getenv)
	if err != nil {
		fmt.Println(err)
		return
	}
	k, conn, err := kubernetes.ConnectKiller(cfg)
	if err != nil {
		fmt.Println(err) // neither a pod nor a kubeconfig
		return
	}
	fmt.Println("killing in", conn.Namespace, "through", conn.Source)
	var killer chaos.Killer = k
	nodes, err := killer.Nodes(context.Background())
	fmt.Println(nodes, err)
}

// The helmsman's main with UPGRADE_DRIVER=kubernetes: K8S_NAMESPACE and K8S_DEPLOYMENT from the
// environment; the admin API client carries the shared token for IN_PLACE and resets.
func ExampleConnectUpgrader() {
	cfg, err := config.Load[kubernetes.UpgraderConfig](os.Getenv)
	if err != nil {
		fmt.Println(err)
		return
	}
	up, _, err := kubernetes.ConnectUpgrader(cfg, &httpdriver.Client{Token: os.Getenv("AUTH_TOKEN")})
	if err != nil {
		fmt.Println(err)
		return
	}
	st, err := up.Status(context.Background()) // conditions and replica counts for /info
	fmt.Println(st.Progress(), err)
}
