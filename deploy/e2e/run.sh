#!/usr/bin/env bash
# make e2e: the compose chaos run with its verdict.
#
# Brings the whole topology up from nothing under a project name of its own, lets the reaper
# kill receivers every KILL_INTERVAL and the helmsman upgrade them every UPGRADE_INTERVAL for
# E2E_DURATION, prints progress, then checks:
#   - the receiver target's availability (after retries) >= E2E_MIN_AVAILABILITY (0.999);
#   - kills and upgrades did happen, and every killed node serves again (all receivers healthy);
#   - every replica runs the helmsman's desired version and its status is RUNNING;
#   - in a quiet minute after the chaos, with three ready replicas, each replica serves 33 % +- 8
#     points of the probe (traffic reaches every replica, as many clients would);
#   - every kill the nodekiller carried out has its row in the report's impact table;
#   - every dashboard query answers from a real Prometheus scraping the stack (prometheus.sh);
#   - after `down`, no container of the project is left.
# Prints SKIPPED with the reason, and succeeds, when no Docker engine answers.
set -euo pipefail
cd "$(dirname "$0")/../.."

. deploy/e2e/common.sh
e2e_preflight e2e

export COMPOSE_PROJECT_NAME=${COMPOSE_PROJECT_NAME:-chaose2e$$}
export AUTH_TOKEN=${AUTH_TOKEN:-e2e-token-$$}
export KILL_INTERVAL=${KILL_INTERVAL:-20s}
export KILL_METHODS=${KILL_METHODS:-stop,halt,pause}
export UPGRADE_INTERVAL=${UPGRADE_INTERVAL:-45s}
export UPGRADE_TYPES=${UPGRADE_TYPES:-IN_PLACE,ROLLOUT,MAX_SURGE}
export RECEIVER_QPS=${RECEIVER_QPS:-50}
export PINGER_TARGETS=${PINGER_TARGETS:-'[{"name":"bad-token","url":"http://receiver:8000/","qps":1,"token":"wrong"},{"name":"closed-port","url":"http://127.0.0.1:9/","qps":1}]'}
export PINGER_PORT=${PINGER_PORT:-$(free_port)}
export VORACIOUS_PORT=${VORACIOUS_PORT:-$(free_port)}
duration=${E2E_DURATION:-180}
min_avail=${E2E_MIN_AVAILABILITY:-0.999}
project=$COMPOSE_PROJECT_NAME
pinger="http://127.0.0.1:$PINGER_PORT"
auth=(-H "Authorization: Bearer $AUTH_TOKEN")
failures=()

cleanup() {
	echo "e2e: down"
	$COMPOSE --profile load --profile observability down --remove-orphans -v >/dev/null 2>&1 || true
	remove_left "$project"
}
trap cleanup EXIT

echo "e2e: project $project, kills every $KILL_INTERVAL ($KILL_METHODS), upgrades every $UPGRADE_INTERVAL ($UPGRADE_TYPES), $duration s"
make --no-print-directory images
$COMPOSE up -d

info() { curl -fsS --max-time 10 "${auth[@]}" "$pinger/info"; }
deadline=$((SECONDS + 120))
until info >/dev/null 2>&1; do
	if [ $SECONDS -gt $deadline ]; then
		echo "e2e: the pinger never answered on $pinger"
		$COMPOSE ps
		$COMPOSE logs --tail 30
		exit 1
	fi
	sleep 2
done
echo "e2e: the stack is up"

# Prometheus on the host scrapes the stack by container IP and checks every dashboard query
# while the chaos runs; its verdict is collected at the end.
prom_log=$(mktemp)
AUTH_TOKEN=$AUTH_TOKEN TARGETS_CMD="deploy/e2e/targets.sh $project" DASH_TARGET='receiver|bad-token|closed-port' \
	FORCE="deploy/e2e/force.sh $project" EVAL_TIMEOUT=$((duration - 30)) \
	bash deploy/e2e/prometheus.sh >"$prom_log" 2>&1 &
prom_pid=$!

watch_chaos e2e receiver "$duration"

# Stop the chaos, then give the last killed node and the last upgrade time to settle.
stop_chaos
converged=""
deadline=$((SECONDS + 90))
while [ $SECONDS -lt $deadline ]; do
	now=$(info) || { sleep 3; continue; }
	desired=$(echo "$now" | jq -r '.helmsman.answer.desired_version // ""')
	status=$(echo "$now" | jq -r '.helmsman.answer.status // ""')
	versions=$(echo "$now" | jq -r '[.helmsman.answer.replicas[]? | select(.ready) | .version] | join(",")')
	ready=$(echo "$now" | jq -r '[.helmsman.answer.replicas[]? | select(.ready)] | length')
	healthy=$(docker ps --filter "label=com.docker.compose.project=$project" --filter label=chaos.target=receiver \
		--filter health=healthy -q | wc -l)
	if [ "$status" = RUNNING ] && [ "$ready" -ge 3 ] && [ "$healthy" -ge 3 ] &&
		[ -z "$(echo "$versions" | tr ',' '\n' | grep -vx "$desired")" ]; then
		converged="yes"
		break
	fi
	sleep 3
done
# A quiet minute: no chaos, three ready replicas. Each must serve its third of the probe.
replica_counts() { info | jq -c '[.targets[] | select(.name=="receiver") | .replicas[] | {key: .replica, value: .lifetime_requests}] | from_entries'; }
shares=""
if [ -n "$converged" ]; then
	before=$(replica_counts)
	sleep "${E2E_QUIET:-60}"
	after=$(replica_counts)
	shares=$(jq -rn --argjson b "$before" --argjson a "$after" '
		[$a | to_entries[] | {replica: .key, n: (.value - ($b[.key] // 0))} | select(.n > 0)] as $d |
		($d | map(.n) | add) as $total |
		$d | map("\(.replica) \(.n * 1000 / $total | round / 10) %") | join(", ")')
	echo "e2e: quiet minute, receiver traffic by replica: $shares"
	jq -en --argjson b "$before" --argjson a "$after" '
		[$a | to_entries[] | (.value - ($b[.key] // 0)) | select(. > 0)] as $d | ($d | add) as $t |
		($d | length) == 3 and all($d[]; (. / $t) >= 0.25 and (. / $t) <= 0.41)' >/dev/null ||
		failures+=("in the quiet minute the receiver's traffic was not a third per replica (33 % +- 8): $shares")
fi
curl -fsS --max-time 10 -X POST "${auth[@]}" "$pinger/stop-pingers" >/dev/null || true
final=$(info)
report=$(curl -fsS --max-time 30 "${auth[@]}" "$pinger/report.json" || echo '{}')
# The nodekiller publishes no port; the host reaches it on its container's address.
nk_ip=$(docker ps -q --filter "label=com.docker.compose.project=$project" --filter label=com.docker.compose.service=nodekiller |
	head -n 1 | xargs -r docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}' | awk '{print $1}')
nk_info=$( [ -n "$nk_ip" ] && curl -fsS --max-time 10 "${auth[@]}" "http://$nk_ip:8001/info" || echo '{}')

echo
echo "== verdict"
echo "receiver: $(echo "$final" | target_figures receiver)"
echo "$(echo "$final" | chaos_figures)"
echo "replicas: $(echo "$final" | jq -c '[.helmsman.answer.replicas[]? | {name, version, ready}]'), desired $(echo "$final" | jq -r '.helmsman.answer.desired_version')"
# The other figures, printed for the reader (wall-clock times on a shared machine are
# reported, not judged): how long a killed node took to serve again, how long each upgrade took.
echo "node recovery (kill to serving, restart delay included): $(echo "$nk_info" | jq -r '
	[.kills[]? | select(.recovery_seconds != null) | {method, s: .recovery_seconds}] as $k |
	if ($k | length) == 0 then "none measured" else
	($k | group_by(.method) | map("\(.[0].method) n=\(length) max \((map(.s) | max * 10 | round) / 10) s") | join(", ")) end')"
echo "upgrades (start to converged): $(echo "$final" | jq -r '
	[.helmsman.answer.history[]? | "\(.type) \((.duration_seconds * 10 | round) / 10) s \(.result)"] | reverse | join(", ")')"
echo "receiver by replica (the whole run; a request counts for the replica its first attempt reached):"
echo "$report" | jq -r '.targets[] | select(.name=="receiver") | .replicas[] |
	"  \(.replica) \(.nodes | join(",")): \(.requests) requests, share \(.share * 1000 | round / 10) %, first-attempt failures \(.first_attempt_failed), failed \(.failed), p99 \(.p99_ms) ms"'
echo "receiver first-attempt failures by class: $(echo "$report" | jq -c '.targets[] | select(.name=="receiver") | .since_start_first_attempt_errors | map_values(.count)')"
echo "impact (first-attempt failures / failed after retries, outage s, p99 ms in outage, recovery or converged s):"
echo "$report" | jq -r '.targets[] | select(.name=="receiver") | .impact |
	(.events[] | "  \(.at[11:19]) \(.kind) \(.what) [\(.result)]: \(.first_attempt_failures)/\(.failures), outage \(.outage_seconds * 10 | round / 10) s, p99 \(.p99_ms // "-") ms, \((.seconds // null) | if . == null then "-" else (. * 10 | round / 10 | tostring) end) s"),
	(.summary[] | "  = \(.kind) \(.type): \(.events) events, failures per event mean \(.first_attempt_failures_per_event_mean * 10 | round / 10) max \(.first_attempt_failures_per_event_max), recovery mean \(.seconds_mean // "-" | tostring | .[0:5]) s max \(.seconds_max // "-" | tostring | .[0:5]) s"),
	"  unexplained: \(.unexplained.first_attempt_failures)/\(.unexplained.failures) \(.unexplained.by_replica | tostring) \(.unexplained.by_class | tostring)"'
# Every kill the nodekiller carried out within the report's window has its row.
from=$(echo "$report" | jq -r '.from // ""')
missing=$(jq -rn --argjson nk "$nk_info" --argjson rep "$report" --arg from "$from" '
	[$rep.targets[] | select(.name=="receiver") | .impact.events[] | select(.kind=="kill") | .at] as $rows |
	[$nk.kills[]? | select(.result=="ok" and .at >= $from) | select(.at as $a | $rows | index($a) | not) | "\(.method) \(.victim) at \(.at)"] | join("; ")')
[ -z "$missing" ] || failures+=("kills the nodekiller carried out without a row in the impact table: $missing")
kills_in_table=$(echo "$report" | jq '[.targets[] | select(.name=="receiver") | .impact.events[] | select(.kind=="kill")] | length')
[ "$kills_in_table" -ge 1 ] || failures+=("the impact table has no kill")
avail=$(echo "$final" | jq -r '.targets[] | select(.name=="receiver") | .success_rate.lifetime // 0')
kills_ok=$(echo "$final" | jq -r '.reaper.answer.total.by_result.ok // 0')
upgrades_ok=$(echo "$final" | jq -r '.helmsman.answer.upgrades_total.by_result.ok // 0')
awk -v a="$avail" -v m="$min_avail" 'BEGIN { exit !(a >= m) }' ||
	failures+=("receiver availability $avail < $min_avail")
[ "$kills_ok" -ge 1 ] || failures+=("no kill was carried out")
[ "$upgrades_ok" -ge 1 ] || failures+=("no upgrade succeeded")
[ -n "$converged" ] || failures+=("replicas did not all serve again at the desired version with status RUNNING within 90 s")

wait "$prom_pid" && prom_ok=1 || prom_ok=0
echo "dashboard queries: $(tail -n 3 "$prom_log" | tr '\n' ' ')"
[ "$prom_ok" = 1 ] || { cat "$prom_log"; failures+=("dashboard queries without data (prometheus.sh)"); }

trap - EXIT
$COMPOSE --profile load --profile observability down --remove-orphans -v >/dev/null 2>&1 || failures+=("compose down failed")
if [ -n "$(docker ps -aq --filter "label=com.docker.compose.project=$project")" ]; then
	failures+=("containers of $project left after down")
	cleanup
fi

if [ ${#failures[@]} -gt 0 ]; then
	printf 'e2e: FAIL: %s\n' "${failures[@]}"
	exit 1
fi
echo "e2e: PASS"
