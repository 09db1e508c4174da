package kubernetes_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"chaossuite.dev/shared/chaos/kubernetes"
)

// apiStub answers pod lists as an API server would and records who asked for what.
type apiStub struct {
	mu    sync.Mutex
	paths []string
	auth  []string
}

func (a *apiStub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	a.paths = append(a.paths, r.URL.Path)
	a.auth = append(a.auth, r.Header.Get("Authorization"))
	a.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"kind":"PodList","apiVersion":"v1","items":[]}`))
}

// kubeconfig writes a kubeconfig with two contexts, the current one naming namespace ns.
func kubeconfig(t *testing.T, server, ns string) string {
	t.Helper()
	nsLine := ""
	if ns != "" {
		nsLine = "\n    namespace: " + ns
	}
	body := `apiVersion: v1
kind: Config
clusters:
- name: test
  cluster:
    server: ` + server + `
    insecure-skip-tls-verify: true
- name: elsewhere
  cluster:
    server: http://127.0.0.1:1
users:
- name: nodekiller
  user:
    token: sa-token
contexts:
- name: chaos
  context:
    cluster: test
    user: nodekiller` + nsLine + `
- name: other
  context:
    cluster: elsewhere
    user: nodekiller
    namespace: wrong
current-context: chaos
`
	p := filepath.Join(t.TempDir(), "config")
	require.NoError(t, os.WriteFile(p, []byte(body), 0o600))
	return p
}

// outOfCluster makes the test process look like a laptop: no pod environment, and kubeconfig
// from KUBECONFIG only.
func outOfCluster(t *testing.T, kubeconfigPath string) {
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	t.Setenv("KUBERNETES_SERVICE_PORT", "")
	t.Setenv("HOME", t.TempDir()) // no ~/.kube/config of the machine's
	t.Setenv("KUBECONFIG", kubeconfigPath)
}

func TestConnectOutOfClusterUsesKubeconfigAndItsContextNamespace(t *testing.T) {
	stub := &apiStub{}
	srv := httptest.NewTLSServer(stub)
	defer srv.Close()
	outOfCluster(t, kubeconfig(t, srv.URL, "chaos-e2e"))

	k, conn, err := kubernetes.ConnectKiller(kubernetes.KillerConfig{Selector: "chaos.target=receiver"})
	require.NoError(t, err)
	assert.False(t, conn.InCluster)
	assert.Equal(t, "chaos-e2e", conn.Namespace)
	assert.Contains(t, conn.Source, `context "chaos"`)
	assert.Empty(t, k.Self, "no own pod outside a cluster")
	_, err = k.Nodes(context.Background())
	require.NoError(t, err)

	stub.mu.Lock()
	defer stub.mu.Unlock()
	assert.Equal(t, []string{"/api/v1/namespaces/chaos-e2e/pods"}, stub.paths)
	assert.Equal(t, []string{"Bearer sa-token"}, stub.auth)
}

func TestConnectNamespaceGivenWinsOverTheContext(t *testing.T) {
	stub := &apiStub{}
	srv := httptest.NewServer(stub)
	defer srv.Close()
	outOfCluster(t, kubeconfig(t, srv.URL, "chaos-e2e"))

	u, conn, err := kubernetes.ConnectUpgrader(kubernetes.UpgraderConfig{Namespace: "given", Deployment: "receiver"}, nil)
	require.NoError(t, err)
	assert.Equal(t, "given", conn.Namespace)
	assert.Equal(t, "given", u.Namespace)
}

func TestConnectContextWithoutNamespaceMeansDefault(t *testing.T) {
	outOfCluster(t, kubeconfig(t, "http://127.0.0.1:1", ""))
	conn, err := kubernetes.Connect("")
	require.NoError(t, err)
	assert.Equal(t, "default", conn.Namespace, "as kubectl does")
}

func TestConnectOutOfClusterWithoutKubeconfigSaysWhatItNeeds(t *testing.T) {
	outOfCluster(t, filepath.Join(t.TempDir(), "missing"))
	_, err := kubernetes.Connect("")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "current context")
	assert.Contains(t, err.Error(), "KUBECONFIG")
	assert.Contains(t, err.Error(), "ServiceAccount")

	_, _, err = kubernetes.ConnectUpgrader(kubernetes.UpgraderConfig{Namespace: ns}, nil)
	assert.ErrorContains(t, err, "K8S_DEPLOYMENT")
}

func TestConnectReportsABrokenKubeconfig(t *testing.T) {
	p := filepath.Join(t.TempDir(), "config")
	require.NoError(t, os.WriteFile(p, []byte("apiVersion: v1\nkind: Config\ncurrent-context: gone\n"), 0o600))
	outOfCluster(t, p)
	_, err := kubernetes.Connect("")
	require.Error(t, err)
	assert.True(t, strings.Contains(err.Error(), `"gone"`), err.Error())
}

func TestNamespaceGivenIsKept(t *testing.T) {
	got, err := kubernetes.Namespace("given")
	require.NoError(t, err)
	assert.Equal(t, "given", got)
}
