#!/usr/bin/env bash
# make e2e-k8s: the Kubernetes deployment and drivers against a real control plane on loopback.
#
# etcd, kube-apiserver, kube-controller-manager (deployment, replicaset, serviceaccount,
# disruption, garbage collector controllers) and kube-scheduler run as local processes, built
# by build.sh from the Go module proxy into a cache folder. simkubelet stands in for the
# kubelets of three nodes: each receiver pod is a real receiver process on a loopback address
# of its own. The kind overlay is applied (client-side, then server-side, strictly validated),
# and the nodekiller and the helmsman run out of cluster with KILL_DRIVER/UPGRADE_DRIVER=
# kubernetes, each through a kubeconfig holding its own ServiceAccount's token. Then it checks
# placement, PodSecurity, RBAC and the admission policies both ways, kills and recovery,
# partition, every upgrade type, and a stalled rollout. Last, the harness overlay alone against
# a go-httpbin Deployment in a namespace of its own: kills by its selector, upgrades by image.
#
# Prints SKIPPED and exits 0 where the control plane cannot be built. Bounded by
# E2E_K8S_TIMEOUT (default 900 s once built); every process it started is ended on exit.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
timeout_s=${E2E_K8S_TIMEOUT:-900}
base_port=${E2E_K8S_PORT:-26000}
etcd_port=$((base_port + 79)) etcd_peer=$((base_port + 80)) api_port=$((base_port + 443))
nk_port=$((base_port + 1)) hm_port=$((base_port + 4))

t0=$(date +%s)
pass=0 fail=0
say() { printf '%s [%4ss] %s\n' "e2e-k8s" "$(( $(date +%s) - t0 ))" "$*"; }
ok() { pass=$((pass + 1)); say "PASS $*"; }
bad() { fail=$((fail + 1)); say "FAIL $*"; }
check() { # check <description> <command...>: PASS when the command succeeds
	local what=$1; shift
	if "$@" >/dev/null 2>&1; then ok "$what"; else bad "$what"; fi
}

# --- build (cached) --------------------------------------------------------------------------
say "building the control plane (cached under ${CHAOSSUITE_K8S_CACHE:-$HOME/.cache/chaossuite-k8s})"
bin=$(bash "$here/build.sh" 2> >(sed 's/^/  /' >&2) | tail -1)
rc=${PIPESTATUS[0]}
if [ "$rc" = 3 ]; then echo "SKIPPED: the control plane cannot be built here: ${bin#SKIP: }"; exit 0; fi
if [ "$rc" != 0 ] || [ ! -x "$bin/kube-apiserver" ]; then echo "e2e-k8s: build failed" >&2; exit 1; fi
say "control plane in $bin"
for p in openssl curl jq; do
	command -v "$p" >/dev/null || { echo "SKIPPED: $p is not installed"; exit 0; }
done

work=$(mktemp -d /tmp/chaossuite-e2e-k8s.XXXXXX)
mkdir -p "$work/bin" "$work/logs" "$work/pods" "$work/certs"
pids=()
stop_loop() { # stop_loop <pid>: a background loop, then what it runs (the loop first: it would report it)
	[ -n "$1" ] || return 0
	local kids
	kids=$(pgrep -P "$1")
	kill "$1" 2>/dev/null
	[ -n "$kids" ] && kill $kids 2>/dev/null
	return 0
}
cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	[ "$rc" = 0 ] || bad "stopped before the end (exit $rc: a timeout, a signal or a setup failure)"
	say "stopping every process started (${#pids[@]})"
	for ((i = ${#pids[@]} - 1; i >= 0; i--)); do kill -TERM "${pids[i]}" 2>/dev/null; done
	for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
		for _ in $(seq 50); do kill -0 "${pids[i]}" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "${pids[i]}" 2>/dev/null
		wait "${pids[i]}" 2>/dev/null
	done
	stop_loop "${watchdog:-}"; stop_loop "${sampler:-}"
	if [ "$fail" -gt 0 ] || [ "$rc" != 0 ]; then
		say "logs kept in $work/logs and $work/pods"
	else
		rm -rf "$work"
	fi
	echo "$pass passed, $fail failed"
	if [ "$fail" -gt 0 ] && [ "$rc" = 0 ]; then rc=1; fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
( sleep "$timeout_s"; say "timed out after ${timeout_s}s"; kill -TERM $$ ) &
watchdog=$!
disown "$watchdog"

start() { # start <name> <command...>: runs in the background, output in logs/<name>.log
	local name=$1; shift
	"$@" >"$work/logs/$name.log" 2>&1 &
	pids+=($!)
}
wait_for() { # wait_for <seconds> <command...>
	local deadline=$(( $(date +%s) + $1 )); shift
	until "$@" >/dev/null 2>&1; do
		[ "$(date +%s)" -ge "$deadline" ] && return 1
		sleep 0.5
	done
}

say "building the services"
for s in receiver nodekiller helmsman; do
	(cd "$root" && CGO_ENABLED=0 nice -n 10 go build -o "$work/bin/$s" "./services/$s/cmd/$s") || { bad "build $s"; exit 1; }
done
# go-httpbin, the service this project did not write, in two releases (binaries only, cached).
httpbin_cache=${HTTPBIN_CACHE:-$HOME/.cache/chaossuite-httpbin}
httpbin="" httpbin_runs=()
if httpbin_why=$(HTTPBIN_BINARIES_ONLY=1 HTTPBIN_CACHE="$httpbin_cache" bash "$root/deploy/docker/build-httpbin.sh" v2.25.0 v2.26.0 2>&1); then
	httpbin=$httpbin_cache
	for v in v2.25.0 v2.26.0; do httpbin_runs+=(--run "chaossuite-httpbin:$v=$httpbin/$v/go-httpbin"); done
else
	httpbin_why=$(tail -1 <<<"$httpbin_why")
fi

# --- control plane ---------------------------------------------------------------------------
admin_token=$(openssl rand -hex 16)
echo "$admin_token,admin,admin,system:masters" > "$work/tokens.csv"
openssl genrsa -out "$work/sa.key" 2048 2>/dev/null && openssl rsa -in "$work/sa.key" -pubout -out "$work/sa.pub" 2>/dev/null
kubeconfig() { # kubeconfig <file> <user> <token> <namespace>
	cat > "$1" <<-EOF
	apiVersion: v1
	kind: Config
	clusters:
	- name: e2e
	  cluster:
	    server: https://127.0.0.1:$api_port
	    insecure-skip-tls-verify: true
	users:
	- name: $2
	  user:
	    token: $3
	contexts:
	- name: $2
	  context:
	    cluster: e2e
	    user: $2
	    namespace: $4
	current-context: $2
	EOF
}
kubeconfig "$work/admin.kubeconfig" admin "$admin_token" chaos
export KUBECONFIG=$work/admin.kubeconfig
k() { "$bin/kubectl" --request-timeout=20s "$@"; }

start etcd "$bin/etcd" --name e2e --data-dir "$work/etcd" \
	--listen-client-urls "http://127.0.0.1:$etcd_port" --advertise-client-urls "http://127.0.0.1:$etcd_port" \
	--listen-peer-urls "http://127.0.0.1:$etcd_peer" --initial-advertise-peer-urls "http://127.0.0.1:$etcd_peer" \
	--initial-cluster "e2e=http://127.0.0.1:$etcd_peer" --unsafe-no-fsync --log-level warn
start kube-apiserver "$bin/kube-apiserver" --etcd-servers "http://127.0.0.1:$etcd_port" \
	--bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$api_port" --cert-dir "$work/certs" \
	--token-auth-file "$work/tokens.csv" --authorization-mode RBAC \
	--service-account-issuer https://kubernetes.default.svc --service-account-key-file "$work/sa.pub" \
	--service-account-signing-key-file "$work/sa.key" --service-cluster-ip-range 10.96.0.0/16 \
	--endpoint-reconciler-type none --profiling=false --v=1
wait_for 90 k get --raw /readyz || { bad "kube-apiserver ready (logs/kube-apiserver.log)"; tail -20 "$work/logs/kube-apiserver.log"; exit 1; }
ok "kube-apiserver $(k version -o json | jq -r .serverVersion.gitVersion) ready on 127.0.0.1:$api_port"
start kube-controller-manager "$bin/kube-controller-manager" --kubeconfig "$KUBECONFIG" \
	--controllers deployment-controller,replicaset-controller,serviceaccount-controller,disruption-controller,garbage-collector-controller \
	--leader-elect=false --secure-port 0 --use-service-account-credentials=false --v=1
start kube-scheduler "$bin/kube-scheduler" --kubeconfig "$KUBECONFIG" --leader-elect=false --secure-port 0 --v=1
start simkubelet "$bin/simkubelet" --kubeconfig "$KUBECONFIG" --nodes 3 \
	--run "chaossuite/receiver:dev=$work/bin/receiver" "${httpbin_runs[@]}" --log-dir "$work/pods"
wait_for 30 sh -c "[ \$('$bin/kubectl' get nodes --no-headers 2>/dev/null | grep -c ' Ready ') = 3 ]" && ok "3 simulated nodes Ready" || bad "3 simulated nodes Ready"

# --- apply: client-side, then server-side strict ---------------------------------------------
overlay=$root/deploy/kubernetes/overlays/kind
if k apply -k "$overlay" > "$work/logs/apply.log" 2>&1; then ok "kubectl apply -k (client-side)"; else bad "kubectl apply -k: $(tail -3 "$work/logs/apply.log")"; fi
if k apply --server-side --validate=strict -k "$overlay" > "$work/logs/apply-ss.log" 2>&1; then
	ok "then kubectl apply --server-side --validate=strict -k: no conflict"
else
	bad "server-side apply after client-side: $(grep -m3 -i conflict "$work/logs/apply-ss.log")"
fi
# Both ways: a fieldRef without apiVersion (the server defaults it to v1, and fieldRef is
# atomic) makes the same switch conflict.
ssa_probe() { # ssa_probe <name> <fieldRef apiVersion line or nothing>
	cat <<-EOF
	apiVersion: apps/v1
	kind: Deployment
	metadata: {name: $1, namespace: default}
	spec:
	  replicas: 0
	  selector: {matchLabels: {app: $1}}
	  template:
	    metadata: {labels: {app: $1}}
	    spec:
	      containers:
	      - name: c
	        image: chaossuite/receiver:dev
	        env:
	        - name: NODE_NAME
	          valueFrom:
	            fieldRef: {$2fieldPath: metadata.name}
	EOF
}
ssa_probe no-apiversion "" | k apply -f - >/dev/null 2>&1
out=$(ssa_probe no-apiversion "" | k apply --server-side -f - 2>&1)
grep -q "conflict.*fieldRef" <<<"$out" && ok "without apiVersion in a fieldRef the same switch conflicts (the check above would catch it)" || bad "fieldRef without apiVersion did not conflict: $out"
ssa_probe with-apiversion "apiVersion: v1, " | k apply -f - >/dev/null 2>&1
out=$(ssa_probe with-apiversion "apiVersion: v1, " | k apply --server-side -f - 2>&1) && ok "with apiVersion: v1 it does not" || bad "fieldRef with apiVersion conflicted: $out"
k -n default delete deploy no-apiversion with-apiversion >/dev/null 2>&1
wait_for 30 k -n chaos get serviceaccount default || bad "default ServiceAccount"
deploys=$(k -n chaos get deploy -o name | wc -l)
if wait_for 120 k -n chaos wait --for=condition=Available deploy --all --timeout=5s; then
	ok "all $deploys Deployments available: every pod admitted under PodSecurity restricted"
else
	bad "Deployments available: $(k -n chaos get deploy --no-headers | tr '\n' ';')"
fi
out=$(k -n chaos run nosec --image=chaossuite/receiver:dev --restart=Never 2>&1)
if grep -q 'violates PodSecurity "restricted' <<<"$out"; then ok "a pod without securityContext is refused: PodSecurity restricted"; else bad "pod without securityContext admitted: $out"; fi

receivers() { k -n chaos get pods -l chaos.target=receiver -o json | jq -c '[.items[] | select(.metadata.deletionTimestamp == null)]'; }
r=$(receivers)
nodes=$(jq -r '[.[].spec.nodeName] | unique | length' <<<"$r")
[ "$nodes" = 3 ] && ok "3 receivers on 3 nodes (topology spread)" || bad "receivers on $nodes nodes: $(jq -r '[.[].spec.nodeName]' <<<"$r")"
served=0
for ip in $(jq -r '.[].status.podIP' <<<"$r"); do curl -sf "http://$ip:8000/readyz" >/dev/null && served=$((served + 1)); done
[ "$served" = 3 ] && ok "each receiver pod serves /readyz on its own pod IP" || bad "$served of 3 receivers serve on their pod IP"
check "PodDisruptionBudget receiver allows one disruption" sh -c "[ \$('$bin/kubectl' -n chaos get pdb receiver -o jsonpath='{.status.disruptionsAllowed}') = 1 ]"

# --- ServiceAccount tokens ---------------------------------------------------------------------
for sa in nodekiller helmsman; do
	kubeconfig "$work/$sa.kubeconfig" "$sa" "$(k -n chaos create token "$sa" --duration 2h)" chaos
done
as() { local who=$1; shift; "$bin/kubectl" --kubeconfig "$work/$who.kubeconfig" --request-timeout=20s "$@"; }
can() { [ "$(as "$1" auth can-i "${@:2}" 2>/dev/null)" = yes ]; }
cannot() { ! can "$@"; }

# --- RBAC: every verb the drivers use, nothing more ----------------------------------------------
for v in "list pods" "get pods" "delete pods" "patch pods" "create networkpolicies.networking.k8s.io" "delete networkpolicies.networking.k8s.io"; do
	check "RBAC nodekiller may $v" can nodekiller $v
done
for v in "watch pods" "create pods" "update pods" "deletecollection pods" "get secrets" "list networkpolicies.networking.k8s.io" "patch networkpolicies.networking.k8s.io" "patch deployments.apps" "get pods -n kube-system"; do
	check "RBAC nodekiller may not $v" cannot nodekiller $v
done
for v in "get deployments.apps/receiver" "watch deployments.apps/receiver" "patch deployments.apps/receiver" "list pods"; do
	check "RBAC helmsman may $v" can helmsman $v
done
for v in "get deployments.apps/pinger" "patch deployments.apps/pinger" "list deployments.apps" "patch deployments.apps/receiver --subresource=scale" "update deployments.apps/receiver" "get pods" "watch pods" "delete pods" "get secrets"; do
	check "RBAC helmsman may not $v" cannot helmsman $v
done
# What the driver does to follow a rollout: a watch with a field selector on the name, which
# RBAC authorizes by resourceNames.
out=$(as helmsman -n chaos get deploy receiver --watch --request-timeout=2s 2>&1)
grep -qi "forbidden" <<<"$out" && bad "the helmsman cannot watch its Deployment by name: $out" || ok "the helmsman may watch the receiver Deployment by name"
out=$(as helmsman -n chaos patch deploy pinger --type merge -p '{"spec":{"replicas":0}}' --dry-run=server 2>&1)
grep -q '"pinger" is forbidden: User "system:serviceaccount:chaos:helmsman" cannot' <<<"$out" && ok "RBAC refuses the helmsman a patch of another Deployment" || bad "helmsman patched pinger: $out"

# --- admission policies both ways ----------------------------------------------------------------
pinger=$(k -n chaos get pods -l app.kubernetes.io/name=pinger -o jsonpath='{.items[0].metadata.name}')
victim=$(jq -r '.[0].metadata.name' <<<"$r")
dry() { as "$@" --dry-run=server; }
# Each forbidden action, and the word its refusal carries.
forbidden_nk=(
	"delete the pinger's pod|delete pod $pinger|chaos.target=receiver"
	"label the pinger's pod as partitioned|label pod $pinger chaossuite.dev/partitioned=true|chaos.target=receiver"
	"change another label of a receiver pod|label pod $victim --overwrite app.kubernetes.io/name=x|only the label"
	"partition label with another value|label pod $victim chaossuite.dev/partitioned=yes|only the label"
	"annotate a receiver pod|annotate pod $victim x=y|nothing of a pod"
)
allowed_nk=("delete a receiver pod|delete pod $victim" "label a receiver pod as partitioned|label pod $victim chaossuite.dev/partitioned=true")
np_allow='{"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy","metadata":{"name":"allow-all","labels":{"app.kubernetes.io/managed-by":"nodekiller"}},"spec":{"podSelector":{},"ingress":[{}],"policyTypes":["Ingress"]}}'
patch_ok='{"spec":{"strategy":{"type":"RollingUpdate","rollingUpdate":{"maxSurge":0,"maxUnavailable":1}},"template":{"metadata":{"annotations":{"chaossuite.dev/upgraded-at":"now"}},"spec":{"containers":[{"name":"receiver","env":[{"name":"RECEIVER_VERSION","value":"beta"}]}]}}}}'
forbidden_hm=(
	"scale the receiver to 0|{\"spec\":{\"replicas\":0}}|replicas"
	"run the receiver as the nodekiller's ServiceAccount|{\"spec\":{\"template\":{\"spec\":{\"serviceAccountName\":\"nodekiller\",\"automountServiceAccountToken\":true}}}}|ServiceAccount"
	"read a Secret through env|{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"receiver\",\"env\":[{\"name\":\"STOLEN\",\"valueFrom\":{\"secretKeyRef\":{\"name\":\"chaos-auth\",\"key\":\"AUTH_TOKEN\"}}}]}]}}}}|RECEIVER_VERSION"
	"the version env from a Secret|{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"receiver\",\"env\":[{\"name\":\"RECEIVER_VERSION\",\"value\":null,\"valueFrom\":{\"secretKeyRef\":{\"name\":\"chaos-auth\",\"key\":\"AUTH_TOKEN\"}}}]}]}}}}|RECEIVER_VERSION"
	"relabel the receiver pods|{\"spec\":{\"template\":{\"metadata\":{\"labels\":{\"chaos.target\":\"none\"}}}}}|upgraded-at"
	"mount a volume|{\"spec\":{\"template\":{\"spec\":{\"volumes\":[{\"name\":\"x\",\"emptyDir\":{}}]}}}}|volumes"
)
admission_checks() { # admission_checks <on|off>: with the bindings (on) each forbidden action is refused
	local mode=$1 item what cmd word out
	for item in "${forbidden_nk[@]}"; do
		IFS='|' read -r what cmd word <<<"$item"
		# shellcheck disable=SC2086
		out=$(dry nodekiller -n chaos $cmd 2>&1)
		if [ "$mode" = on ]; then
			grep -q "ValidatingAdmissionPolicy.*denied" <<<"$out" && grep -q "$word" <<<"$out" && ok "admission refuses the nodekiller: $what" || bad "nodekiller allowed to $what: $out"
		else
			grep -q "denied\|forbidden" <<<"$out" && bad "without the policy, RBAC alone refuses: $what: $out" || ok "without the policy RBAC alone allows it: $what"
		fi
	done
	out=$(echo "$np_allow" | dry nodekiller -n chaos create -f - 2>&1)
	if [ "$mode" = on ]; then
		grep -q "denied" <<<"$out" && ok "admission refuses the nodekiller: an allow-all NetworkPolicy" || bad "nodekiller created an allow-all NetworkPolicy: $out"
	else
		grep -q "denied\|forbidden" <<<"$out" && bad "without the policy: allow-all NetworkPolicy refused: $out" || ok "without the policy RBAC alone allows it: an allow-all NetworkPolicy"
	fi
	for item in "${forbidden_hm[@]}"; do
		IFS='|' read -r what cmd word <<<"$item"
		out=$(dry helmsman -n chaos patch deploy receiver --type strategic -p "$cmd" 2>&1)
		if [ "$mode" = on ]; then
			grep -q "ValidatingAdmissionPolicy.*denied" <<<"$out" && grep -q "$word" <<<"$out" && ok "admission refuses the helmsman: $what" || bad "helmsman allowed to $what: $out"
		else
			grep -q "denied\|forbidden" <<<"$out" && bad "without the policy, RBAC alone refuses: $what: $out" || ok "without the policy RBAC alone allows it: $what"
		fi
	done
}
allowed_checks() {
	local item what cmd out
	for item in "${allowed_nk[@]}"; do
		IFS='|' read -r what cmd <<<"$item"
		# shellcheck disable=SC2086
		out=$(dry nodekiller -n chaos $cmd 2>&1) && ok "the nodekiller may $what" || bad "nodekiller refused to $what: $out"
	done
	out=$(dry helmsman -n chaos patch deploy receiver --type strategic -p "$patch_ok" 2>&1) && ok "the helmsman may patch an upgrade (version env, strategy, annotation)" || bad "helmsman upgrade patch refused: $out"
	out=$(dry helmsman -n chaos patch deploy receiver --type strategic -p '{"spec":{"template":{"spec":{"containers":[{"name":"receiver","image":"chaossuite/receiver:v2"}]}}}}' 2>&1) && ok "the helmsman may change the receiver's image" || bad "helmsman image patch refused: $out"
}
policies_ready() { # a forbidden dry run of each binding is refused (on) or accepted (off) once the API server has the change
	# One probe per binding: the API server takes each binding in, or lets it go, on its own.
	local out probe
	for probe in pods networkpolicies helmsman; do
		case $probe in
		pods) out=$(dry nodekiller -n chaos delete pod "$pinger" 2>&1) ;;
		networkpolicies) out=$(echo "$np_allow" | dry nodekiller -n chaos create -f - 2>&1) ;;
		helmsman) out=$(dry helmsman -n chaos patch deploy receiver --type strategic -p '{"spec":{"replicas":0}}' 2>&1) ;;
		esac
		if [ "$1" = on ]; then
			grep -q denied <<<"$out" || return 1
		else
			! grep -q denied <<<"$out" || return 1
		fi
	done
}
wait_for 30 policies_ready on || bad "admission policies in force within 30s"
admission_checks on
allowed_checks
k delete validatingadmissionpolicybinding chaossuite-nodekiller-pods chaossuite-nodekiller-networkpolicies chaossuite-helmsman >/dev/null
wait_for 30 policies_ready off || bad "admission policies lifted within 30s"
admission_checks off
k apply --server-side -k "$overlay" >/dev/null 2>&1
wait_for 30 policies_ready on && ok "admission policies back in force" || bad "admission policies back"

# --- the nodekiller, out of cluster on its own token --------------------------------------------
auth=$(k -n chaos get secret chaos-auth -o jsonpath='{.data.AUTH_TOKEN}' | base64 -d)
start nodekiller env -i PATH="$PATH" HOME="$work" KUBECONFIG="$work/nodekiller.kubeconfig" KILL_DRIVER=kubernetes \
	K8S_SELECTOR=chaos.target=receiver MIN_AVAILABLE=2 AUTH_TOKEN="$auth" LISTEN_ADDR="127.0.0.1:$nk_port" \
	RECOVERY_TIMEOUT=60s LOG_FORMAT=json "$work/bin/nodekiller"
nk_pid=${pids[-1]}
nk() { curl -s --max-time 40 -H "Authorization: Bearer $auth" -H 'Content-Type: application/json' "http://127.0.0.1:$nk_port$@"; }
wait_for 20 curl -sf "http://127.0.0.1:$nk_port/readyz" || bad "nodekiller up (logs/nodekiller.log)"
grep -q 'kubernetes driver connected.*nodekiller.kubeconfig' "$work/logs/nodekiller.log" && ok "nodekiller connected out of cluster through its kubeconfig, namespace from the context" || bad "nodekiller connection log: $(head -5 "$work/logs/nodekiller.log")"
n=$(nk /info | jq '.nodes | length')
[ "$n" = 3 ] && ok "nodekiller sees the 3 receiver pods" || bad "nodekiller sees $n nodes: $(nk /info)"
available3() { [ "$(k -n chaos get deploy receiver -o jsonpath='{.status.availableReplicas}')" = 3 ] && [ "$(receivers | jq length)" = 3 ]; }
for method in stop halt; do
	wait_for 60 available3 || bad "3 receivers available before $method"
	before=$(date +%s.%N)
	ans=$(nk /kill -X POST -d "{\"method\":\"$method\"}")
	v=$(jq -r .victim <<<"$ans")
	[ -n "$v" ] && [ "$v" != null ] || { bad "$method: $ans"; continue; }
	if [ "$method" = stop ]; then
		g=$(k -n chaos get pod "$v" -o jsonpath='{.metadata.deletionGracePeriodSeconds}' 2>/dev/null)
		[ "$g" = 30 ] && ok "stop deletes $v with its grace period (30 s): it drains" || bad "stop: grace period '$g' on $v"
	else
		gone() { ! k -n chaos get pod "$v" >/dev/null 2>&1; }
		wait_for 3 gone && ok "halt deletes $v with grace period 0: gone at once" || bad "halt: $v still there"
	fi
	if wait_for 60 available3; then
		ok "$method: the Deployment replaced $v, 3 available again after $(awk -v a="$before" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}') s"
	else
		bad "$method: no recovery: $(k -n chaos get pods -l chaos.target=receiver --no-headers | tr '\n' ';')"
	fi
done
rec=$(nk /info | jq '[.kills[] | select(.result == "ok" and .recovery_seconds != null)] | length')
[ "$rec" -ge 2 ] && ok "nodekiller measured recovery of both kills: $(nk /info | jq -c '[.kills[] | {method, recovery_seconds}]')" || bad "nodekiller recovery: $(nk /info | jq -c .kills)"
out=$(nk /kill -X POST -d '{"method":"pause"}' -w '%{http_code}')
[ "${out: -3}" = 400 ] && ok "pause answers 400 (no API equivalent)" || bad "pause: $out"
out=$(nk /kill -X POST -d "{\"method\":\"halt\",\"target\":\"$pinger\"}" -w '%{http_code}')
[ "${out: -3}" = 409 ] && k -n chaos get pod "$pinger" >/dev/null && ok "a kill outside the selector is refused (409), the pinger lives" || bad "kill of the pinger: $out"
wait_for 60 available3
ans=$(nk /kill -X POST -d '{"method":"partition","duration":"6s"}')
v=$(jq -r .victim <<<"$ans")
if [ -n "$v" ] && [ "$v" != null ]; then
	np() { k -n chaos get networkpolicy "chaos-partition-$v" -o json 2>/dev/null; }
	labelled() { [ "$(k -n chaos get pod "$v" -o jsonpath='{.metadata.labels.chaossuite\.dev/partitioned}')" = true ]; }
	if np | jq -e '.spec.podSelector.matchLabels["chaossuite.dev/partitioned"] == "true" and (.spec.policyTypes | length) == 2 and (.spec.ingress // [] | length) == 0' >/dev/null && labelled; then
		ok "partition of $v: pod labelled, deny-all NetworkPolicy selecting it"
	else
		bad "partition objects of $v: $(np) $(k -n chaos get pod "$v" --show-labels --no-headers)"
	fi
	healed() { ! np >/dev/null && ! labelled; }
	wait_for 20 healed && ok "partition healed after 6s: NetworkPolicy and label gone" || bad "partition of $v not healed"
else
	bad "partition: $ans"
fi
settled() { available3 && [ "$(nk /info | jq '.recovering | length')" = 0 ]; }
wait_for 60 settled || bad "nodekiller done following its kills"
# MIN_AVAILABLE=2 of 3: once one is halted, a second kill at once would leave fewer than 2.
out=$(nk /kill -X POST -d '{"method":"halt"}' -w '%{http_code}')
out2=$(nk /kill -X POST -d '{"method":"halt"}' -w '%{http_code}')
[ "${out: -3}" = 200 ] && [ "${out2: -3}" = 409 ] && ok "MIN_AVAILABLE=2 holds: after one halt the next kill is refused (409)" || bad "MIN_AVAILABLE: $out / $out2"
kill -TERM "$nk_pid"; wait "$nk_pid" 2>/dev/null
# The driver's RBAC refusal names the Role and the verb: the nodekiller pointed at kube-system.
start nodekiller-elsewhere env -i PATH="$PATH" HOME="$work" KUBECONFIG="$work/nodekiller.kubeconfig" KILL_DRIVER=kubernetes \
	K8S_NAMESPACE=kube-system AUTH_TOKEN="$auth" LISTEN_ADDR="127.0.0.1:$((nk_port + 10))" "$work/bin/nodekiller"
other=${pids[-1]}
wait_for 20 curl -sf "http://127.0.0.1:$((nk_port + 10))/readyz"
err=$(curl -s -H "Authorization: Bearer $auth" "http://127.0.0.1:$((nk_port + 10))/info" | jq -r .nodes_error)
grep -q 'Role "nodekiller".*must allow verb "list" on "pods"' <<<"$err" && ok "an RBAC refusal names the Role and the verb: ${err:0:160}" || bad "RBAC refusal through the driver: $err"
kill -TERM "$other"; wait "$other" 2>/dev/null

# --- the helmsman, out of cluster on its own token: every upgrade type --------------------------
wait_for 90 available3 || bad "3 receivers before the upgrades"
helmsman() { # helmsman <types> <step timeout>
	start helmsman env -i PATH="$PATH" HOME="$work" KUBECONFIG="$work/helmsman.kubeconfig" UPGRADE_DRIVER=kubernetes \
		K8S_DEPLOYMENT=receiver EXPECTED_REPLICAS=3 VERSIONS=beta,alpha UPGRADE_TYPES="$1" SURGE_PERCENTS=50 \
		UPGRADE_INTERVAL=4s STATUS_INTERVAL=1s UPGRADE_STEP_TIMEOUT="$2" AUTOSTART=true AUTH_TOKEN="$auth" \
		LISTEN_ADDR="127.0.0.1:$hm_port" LOG_FORMAT=json "$work/bin/helmsman"
	hm_pid=${pids[-1]}
	wait_for 20 curl -sf "http://127.0.0.1:$hm_port/readyz"
}
hm() { curl -s --max-time 10 -H "Authorization: Bearer $auth" "http://127.0.0.1:$hm_port/info"; }
# Receiver pods not being deleted, sampled all along the upgrades: "epoch count" lines.
sample_pods() { while :; do echo "$(date +%s.%N) $(receivers | jq length)"; sleep 0.2; done > "$work/logs/pod-counts.log" 2>/dev/null; }
sample_pods &
sampler=$!
disown "$sampler"
helmsman IN_PLACE,ROLLOUT,MAX_SURGE 60s
grep -q 'kubernetes driver connected.*helmsman.kubeconfig' "$work/logs/helmsman.log" && ok "helmsman connected out of cluster through its kubeconfig" || bad "helmsman connection: $(head -5 "$work/logs/helmsman.log")"
three_ok() { [ "$(hm | jq '[.history[] | select(.result == "ok") | .type] | unique | length')" = 3 ]; }
if wait_for 240 three_ok; then
	ok "IN_PLACE, ROLLOUT and MAX_SURGE converge: $(hm | jq -c '[.history[] | {type, version, result, s: .duration_seconds}]')"
else
	bad "upgrades: $(hm | jq -c '{status, history, failures}')"
fi
fails=$(hm | jq '[.history[] | select(.result != "ok")] | length')
[ "$fails" = 0 ] && ok "no upgrade failed" || bad "$fails upgrades failed: $(hm | jq -c .failures)"
grep -q '"replica replaced by the upgrade"' "$work/logs/helmsman.log" && ok "replicas replaced by a rollout are logged as replaced" || bad "no replaced replica logged"
grep -q '"replica lost"' "$work/logs/helmsman.log" && bad "a replica was logged lost during the upgrades: $(grep -m2 '"replica lost"' "$work/logs/helmsman.log")" || ok "no replica logged lost during the upgrades"
stop_loop "$sampler"
# Pods during each upgrade: ROLLOUT (maxSurge 0, maxUnavailable 1) 2 to 3, MAX_SURGE 50%
# (maxSurge 2, maxUnavailable 0) 3 to 5, IN_PLACE 3 (nothing replaced).
while read -r typ started secs; do
	from=$(date -d "$started" +%s.%N)
	read -r lo hi <<<"$(awk -v a="$from" -v b="$secs" '$1 >= a - 0.3 && $1 <= a + b + 0.3 {if (lo == "" || $2 < lo) lo = $2; if ($2 > hi) hi = $2} END {print lo, hi}' "$work/logs/pod-counts.log")"
	case $typ in
	ROLLOUT) want_lo=2 want_hi=3 ;; MAX_SURGE) want_lo=3 want_hi=5 ;; *) want_lo=3 want_hi=3 ;;
	esac
	if [ -n "$lo" ] && [ "$lo" -ge "$want_lo" ] && [ "$hi" -le "$want_hi" ]; then
		ok "$typ: $lo to $hi receiver pods during the upgrade (allowed $want_lo to $want_hi)"
	else
		bad "$typ: ${lo:-?} to ${hi:-?} receiver pods during the upgrade, want $want_lo to $want_hi"
	fi
done < <(hm | jq -r '.history[] | select(.result == "ok") | "\(.type) \(.started_at) \(.duration_seconds)"')
kill -TERM "$hm_pid"; wait "$hm_pid" 2>/dev/null
mv "$work/logs/helmsman.log" "$work/logs/helmsman-upgrades.log"
wait_for 60 available3 || bad "3 receivers after the upgrades"

# --- a stalled rollout fails cleanly --------------------------------------------------------------
k -n chaos patch deploy receiver --type strategic -p '{"spec":{"progressDeadlineSeconds":8,"template":{"spec":{"containers":[{"name":"receiver","image":"chaossuite/receiver:missing"}]}}}}' >/dev/null
helmsman ROLLOUT 120s
stalled() { hm | jq -e '.failures[0].result == "unverified" and (.failures[0].error | test("stalled")) and (.failures[0].error | test("ProgressDeadlineExceeded"))'; }
if wait_for 120 stalled; then
	ok "a stalled rollout fails after its progress deadline: $(hm | jq -r '.failures[0].error' | cut -c1-220)"
else
	bad "stalled rollout: $(hm | jq -c '{status, failures}')"
fi
hm | jq -e '.failures[0].error | test("ErrImagePull")' >/dev/null && ok "the failure says why the new pod is not ready (ErrImagePull)" || bad "no reason in $(hm | jq -r '.failures[0].error')"
curl -sf "http://127.0.0.1:$hm_port/readyz" >/dev/null && ok "the helmsman keeps running after the failure" || bad "helmsman down after the failure"
k -n chaos patch deploy receiver --type strategic -p '{"spec":{"template":{"spec":{"containers":[{"name":"receiver","image":"chaossuite/receiver:dev"}]}}}}' >/dev/null
wait_for 90 available3 && ok "back to 3 available once the image is fixed" || bad "no recovery after the stalled rollout"

# --- your own service: the harness overlay against go-httpbin -------------------------------------
# A Deployment this project did not write (go-httpbin, two releases, each pod a real go-httpbin
# process), in a namespace of its own; overlays/harness installs the harness alone next to it,
# and the nodekiller and the helmsman run out of cluster on the harness's own ServiceAccount
# tokens: kills by the user's selector, upgrades by image, versions read from the pods.
kill -TERM "$hm_pid" 2>/dev/null; wait "$hm_pid" 2>/dev/null # the stalled rollout's helmsman
if [ -n "$httpbin" ]; then
	# Ports of their own, so that nothing left of the runs above can answer for them; nk and
	# hm follow.
	nk_port=$((base_port + 21)) hm_port=$((base_port + 24))
	# A cluster of the user's, without the suite's admission policies (they guard the suite's
	# own receiver: any ServiceAccount named nodekiller may delete only chaos.target=receiver).
	k delete validatingadmissionpolicybinding chaossuite-nodekiller-pods chaossuite-nodekiller-networkpolicies chaossuite-helmsman >/dev/null 2>&1
	k create namespace web >/dev/null
	k apply -f - >/dev/null <<-EOF
	apiVersion: apps/v1
	kind: Deployment
	metadata: {name: web, namespace: web, labels: {app: web}}
	spec:
	  replicas: 3
	  selector: {matchLabels: {app: web}}
	  template:
	    metadata: {labels: {app: web}}
	    spec:
	      containers:
	        - name: web
	          image: chaossuite-httpbin:v2.25.0
	          env:
	            - {name: HOST, valueFrom: {fieldRef: {fieldPath: status.podIP}}}
	            - {name: PORT, value: "8080"}
	            - {name: USE_FULL_VERSION, value: "true"}
	          ports: [{containerPort: 8080}]
	          readinessProbe: {httpGet: {path: /status/200, port: 8080}, periodSeconds: 1}
	---
	apiVersion: v1
	kind: Service
	metadata: {name: web, namespace: web}
	spec: {selector: {app: web}, ports: [{port: 8080}]}
	EOF
	webpods() { k -n web get pods -l app=web -o json | jq -c '[.items[] | select(.metadata.deletionTimestamp == null)]'; }
	web_available3() { [ "$(k -n web get deploy web -o jsonpath='{.status.availableReplicas}')" = 3 ] && [ "$(webpods | jq length)" = 3 ]; }
	wait_for 60 web_available3 && ok "go-httpbin: 3 pods of chaossuite-httpbin:v2.25.0 available" || bad "go-httpbin pods: $(k -n web get pods --no-headers | tr '\n' ';')"
	# What each pod's process says it is: the ground truth of the version served.
	served() { for ip in $(webpods | jq -r '.[].status.podIP'); do curl -s --max-time 2 "http://$ip:8080/version" | jq -r .version; done | sort | uniq -c | tr -s ' ' | tr '\n' ';'; }
	say "go-httpbin serves: $(served)"

	# The overlay as a user edits it: their images and readiness path; the rest are its defaults
	# (Deployment web, selector app=web, port 8080, namespace web).
	mkdir -p "$work/kustomize/overlays"
	ln -s "$root/deploy/kubernetes/base" "$work/kustomize/base"
	cp -r "$root/deploy/kubernetes/overlays/harness" "$work/kustomize/overlays/harness"
	hov=$work/kustomize/overlays/harness
	sed -i 's#^      - versions=.*#      - versions=chaossuite-httpbin:v2.26.0,chaossuite-httpbin:v2.25.0#; s#^      - readiness_path=.*#      - readiness_path=/status/200#' "$hov/kustomization.yaml"
	k -n web create secret generic chaos-auth --from-literal=AUTH_TOKEN="$auth" >/dev/null
	if k kustomize "$hov" > "$work/harness.yaml" 2>"$work/logs/harness-render.log"; then
		scoped=$(k api-resources --namespaced=false --no-headers | awk '{print $NF}' | sort -u)
		cluster=$(grep '^kind:' "$work/harness.yaml" | awk '{print $2}' | sort -u | grep -xF -f <(echo "$scoped") | tr '\n' ' ')
		[ -z "$cluster" ] && ok "the harness overlay renders $(grep -c '^kind:' "$work/harness.yaml") objects, none cluster-scoped" || bad "the harness overlay renders cluster-scoped kinds: $cluster"
	else
		bad "kubectl kustomize overlays/harness: $(tail -3 "$work/logs/harness-render.log")"
	fi
	if k apply --server-side --validate=strict -k "$hov" > "$work/logs/harness-apply.log" 2>&1; then
		ok "kubectl apply --server-side --validate=strict -k overlays/harness into namespace web"
	else
		bad "apply overlays/harness: $(tail -3 "$work/logs/harness-apply.log")"
	fi
	deps=$(k -n web get deploy -o jsonpath='{.items[*].metadata.name}' | tr ' ' '\n' | sort | tr '\n' ' ')
	[ "$deps" = "helmsman nodekiller pinger reaper web " ] && ok "namespace web holds the harness and the user's Deployment only: $deps" || bad "Deployments in web: $deps"
	k get ns chaos-suite >/dev/null 2>&1 && bad "the overlay made a Namespace of its own" || true
	for sa in nodekiller helmsman; do
		kubeconfig "$work/web-$sa.kubeconfig" "$sa" "$(k -n web create token "$sa" --duration 1h)" web
	done

	# The nodekiller: the user's pods by the user's selector, nothing else.
	start web-nodekiller env -i PATH="$PATH" HOME="$work" KUBECONFIG="$work/web-nodekiller.kubeconfig" KILL_DRIVER=kubernetes \
		K8S_SELECTOR=app=web TARGET_PORT=8080 MIN_AVAILABLE=2 AUTH_TOKEN="$auth" LISTEN_ADDR="127.0.0.1:$nk_port" \
		RECOVERY_TIMEOUT=60s LOG_FORMAT=json "$work/bin/nodekiller"
	wnk_pid=${pids[-1]}
	wait_for 20 curl -sf "http://127.0.0.1:$nk_port/readyz" || bad "harness nodekiller up (logs/web-nodekiller.log)"
	names=$(nk /info | jq -r '[.nodes[].name] | sort | join(" ")')
	want=$(webpods | jq -r '[.[].metadata.name] | sort | join(" ")')
	[ -n "$names" ] && [ "$names" = "$want" ] && ok "the harness nodekiller sees the 3 go-httpbin pods, nothing else: $names" || bad "harness nodekiller nodes: '$names', want '$want'"
	for method in stop halt; do
		wait_for 60 web_available3 || bad "3 go-httpbin pods available before $method"
		ans=$(nk /kill -X POST -d "{\"method\":\"$method\"}")
		v=$(jq -r .victim <<<"$ans")
		if [[ "$v" == web-* ]] && wait_for 60 web_available3; then
			ok "$method of go-httpbin pod $v: replaced, 3 available again"
		else
			bad "$method of a go-httpbin pod: $ans; $(k -n web get pods --no-headers | tr '\n' ';')"
		fi
	done
	hpod=$(k -n web get pods -l app.kubernetes.io/name=helmsman -o jsonpath='{.items[0].metadata.name}' 2>/dev/null)
	[ -n "$hpod" ] || hpod=$(k -n web get pods -o name | grep -m1 helmsman | cut -d/ -f2)
	out=$(nk /kill -X POST -d "{\"method\":\"halt\",\"target\":\"$hpod\"}" -w '%{http_code}')
	[ "${out: -3}" = 409 ] && k -n web get pod "$hpod" >/dev/null && ok "a kill of the harness's own helmsman pod is refused (409)" || bad "kill of $hpod: $out"
	kill -TERM "$wnk_pid"; wait "$wnk_pid" 2>/dev/null

	# The helmsman: by image, between the two releases, ROLLOUT then MAX_SURGE.
	out=$(env -i PATH="$PATH" HOME="$work" KUBECONFIG="$work/web-helmsman.kubeconfig" UPGRADE_DRIVER=kubernetes UPGRADE_BY=image \
		K8S_DEPLOYMENT=web VERSIONS=chaossuite-httpbin:v2.26.0,chaossuite-httpbin:v2.25.0 UPGRADE_TYPES=IN_PLACE \
		AUTH_TOKEN="$auth" LISTEN_ADDR="127.0.0.1:$hm_port" "$work/bin/helmsman" 2>&1)
	rc=$?
	[ "$rc" = 2 ] && grep -q IN_PLACE <<<"$out" && ok "by image, IN_PLACE is refused at start (exit 2): $(tail -1 <<<"$out" | cut -c1-160)" || bad "IN_PLACE by image: exit $rc: $out"
	start web-helmsman env -i PATH="$PATH" HOME="$work" KUBECONFIG="$work/web-helmsman.kubeconfig" UPGRADE_DRIVER=kubernetes \
		UPGRADE_BY=image K8S_DEPLOYMENT=web TARGET_PORT=8080 READINESS_PATH=/status/200 EXPECTED_REPLICAS=3 \
		VERSIONS=chaossuite-httpbin:v2.26.0,chaossuite-httpbin:v2.25.0 UPGRADE_TYPES=ROLLOUT,MAX_SURGE SURGE_PERCENTS=50 \
		UPGRADE_INTERVAL=4s STATUS_INTERVAL=1s UPGRADE_STEP_TIMEOUT=60s AUTOSTART=true AUTH_TOKEN="$auth" \
		LISTEN_ADDR="127.0.0.1:$hm_port" LOG_FORMAT=json "$work/bin/helmsman"
	whm_pid=${pids[-1]}
	wait_for 20 curl -sf "http://127.0.0.1:$hm_port/readyz" || bad "harness helmsman up (logs/web-helmsman.log)"
	# The first upgrade goes to v2.26.0: each go-httpbin process must say so before the next
	# (UPGRADE_INTERVAL later) takes them back.
	first_ok() { [ "$(hm | jq '[.history[] | select(.result == "ok")] | length')" -ge 1 ]; }
	if wait_for 90 first_ok; then
		got=$(served)
		[ "$got" = " 3 v2.26.0;" ] && ok "after the first upgrade each go-httpbin process says it is v2.26.0" || bad "after the first upgrade go-httpbin says: $got"
	else
		bad "no upgrade by image converged: $(hm | jq -c '{status, failures}')"
	fi
	both_ok() { [ "$(hm | jq '[.history[] | select(.result == "ok") | .type] | unique | length')" = 2 ]; }
	if wait_for 180 both_ok; then
		ok "ROLLOUT and MAX_SURGE by image converge: $(hm | jq -c '[.history[] | {type, version, result, s: .duration_seconds}]')"
	else
		bad "upgrades by image: $(hm | jq -c '{status, history, failures}')"
	fi
	# Stop between upgrades, then compare what it says with the pods' images and what each
	# go-httpbin process serves.
	k -n web get deploy web >/dev/null
	curl -s -X POST -H "Authorization: Bearer $auth" "http://127.0.0.1:$hm_port/stop" >/dev/null
	settled_web() { web_available3 && [ "$(hm | jq -r '.upgrading // empty')" = "" ]; }
	wait_for 90 settled_web
	desired=$(hm | jq -r .desired_version)
	images=$(webpods | jq -r '[.[].spec.containers[0].image] | unique | join(" ")')
	[ "$images" = "$desired" ] && ok "every go-httpbin pod runs the last version upgraded to: $desired" || bad "pods run '$images', the helmsman upgraded last to '$desired'"
	seen=$(hm | jq -r '[.replicas[] | select(.ready) | .version] | unique | join(" ")')
	[ "$seen" = "$desired" ] && ok "the helmsman reads the versions from the pods: $seen" || bad "the helmsman reads '$seen' (pods: $images)"
	release=${desired#chaossuite-httpbin:}
	[ "$(served)" = " 3 $release;" ] && ok "and each go-httpbin process says it is $release" || bad "go-httpbin processes say: $(served) (want 3 $release)"
	fails=$(hm | jq '[.history[] | select(.result != "ok")] | length')
	[ "$fails" = 0 ] && ok "no upgrade by image failed" || bad "$fails upgrades by image failed: $(hm | jq -c .failures)"
	kill -TERM "$whm_pid"; wait "$whm_pid" 2>/dev/null
else
	say "SKIPPED, NOT CHECKED: the harness overlay against go-httpbin (no go-httpbin binaries: $httpbin_why)"
fi

say "done in $(( $(date +%s) - t0 ))s"
