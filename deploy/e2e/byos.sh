#!/usr/bin/env bash
# make e2e-byos: the harness attached to a project of someone else's, as README's "Test your own
# service" tells a user to.
#
# deploy/e2e/byos/httpbin.yaml is that project: three go-httpbin v2.25.0 replicas (service web,
# a third-party server, built by deploy/docker/build-httpbin.sh) and an unrelated voracious; it
# knows nothing of the harness. deploy/compose/harness.yaml joins it as a second compose file.
# For E2E_DURATION the reaper kills web replicas through the nodekiller every KILL_INTERVAL
# (stop, halt, pause, in turn) and the helmsman upgrades them by image between v2.25.0 and
# v2.26.0 every UPGRADE_INTERVAL (ROLLOUT, MAX_SURGE, in turn). Then it checks:
#   - web's availability (after retries) >= E2E_MIN_AVAILABILITY, and prints the figures, the
#     per-replica table and the impact table of the pinger's report;
#   - kills of every method and upgrades of both types were carried out, each kill the
#     nodekiller made has its row in the impact table, and the probe saw both releases answer;
#   - every replica the nodekiller killed served again (its own record), or was replaced;
#   - at the end every web container runs, on the helmsman's desired image (docker inspect),
#     and the helmsman's status is RUNNING;
#   - no container outside the target was touched: the harness's own and voracious keep their
#     container ID, start time and restart count;
#   - after `down`, no container of the project is left.
# Prints SKIPPED with the reason, and succeeds, when no Docker engine answers.
set -euo pipefail
cd "$(dirname "$0")/../.."

. deploy/e2e/common.sh
e2e_preflight e2e-byos

export COMPOSE_PROJECT_NAME=${COMPOSE_PROJECT_NAME:-byos$$}
export AUTH_TOKEN=${AUTH_TOKEN:-byos-token-$$}
export TARGET_SERVICE=web TARGET_PORT=8080 TARGET_REPLICAS=3
export PROBE_PATH=/version PROBE_QPS=${PROBE_QPS:-30}
export READINESS_PATH=/status/200
export VERSIONS=chaossuite-httpbin:v2.26.0,chaossuite-httpbin:v2.25.0
export KILL_INTERVAL=${KILL_INTERVAL:-20s}
export KILL_METHODS=stop,halt,pause
export UPGRADE_INTERVAL=${UPGRADE_INTERVAL:-40s}
export UPGRADE_TYPES=ROLLOUT,MAX_SURGE
export HARNESS_AUTOSTART=false # started below, once the replicas answer
export PINGER_PORT=${PINGER_PORT:-$(free_port)}
duration=${E2E_DURATION:-180}
min_avail=${E2E_MIN_AVAILABILITY:-0.999}
project=$COMPOSE_PROJECT_NAME
files=(-f deploy/e2e/byos/httpbin.yaml -f deploy/compose/harness.yaml)
pinger="http://127.0.0.1:$PINGER_PORT"
auth=(-H "Authorization: Bearer $AUTH_TOKEN")
failures=()

cleanup() {
	echo "e2e-byos: down"
	$COMPOSE "${files[@]}" down --remove-orphans -v >/dev/null 2>&1 || true
	remove_left "$project"
}
trap cleanup EXIT

echo "e2e-byos: project $project, kills every $KILL_INTERVAL ($KILL_METHODS), upgrades every $UPGRADE_INTERVAL ($UPGRADE_TYPES between $VERSIONS), $duration s"
make --no-print-directory images
bash deploy/docker/build-httpbin.sh v2.25.0 v2.26.0
$COMPOSE "${files[@]}" up -d

# in_project [FILTER...]: the project's container IDs, running or not.
in_project() { docker ps -aq --filter "label=com.docker.compose.project=$project" "$@"; }
web_ids() { in_project --filter "label=com.docker.compose.service=$TARGET_SERVICE"; }
# ip ID: the container's address on the project's network.
ip() { docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}' "$1" | awk '{print $1}'; }
info() { curl -fsS --max-time 10 "${auth[@]}" "$pinger/info"; }

# web_answers: three web containers, each answering its health path.
web_answers() {
	local ids
	ids=$(web_ids)
	[ "$(echo "$ids" | wc -w)" -eq 3 ] || return 1
	for id in $ids; do
		curl -fsS --max-time 2 -o /dev/null "http://$(ip "$id"):$TARGET_PORT$READINESS_PATH" || return 1
	done
}
# helmsman_running: the helmsman has found the replicas and adopted their version.
helmsman_running() { [ "$(info 2>/dev/null | jq -r '.helmsman.answer.status // ""')" = RUNNING ]; }
deadline=$((SECONDS + 120))
until helmsman_running && web_answers; do
	if [ $SECONDS -gt $deadline ]; then
		echo "e2e-byos: the helmsman never saw the three web replicas answer (status $(info 2>/dev/null | jq -r '.helmsman.answer.status // "?"'))"
		$COMPOSE "${files[@]}" ps
		$COMPOSE "${files[@]}" logs --tail 30
		exit 1
	fi
	sleep 2
done
echo "e2e-byos: the project and the harness are up"

# What must not be touched: every container of the project outside the target.
untouched() {
	in_project | xargs -r docker inspect -f '{{index .Config.Labels "com.docker.compose.service"}} {{.Id}} {{.State.StartedAt}} {{.RestartCount}}' |
		awk -v t="$TARGET_SERVICE" '$1 != t' | sort || true
}
before=$(untouched)
echo "e2e-byos: outside the target: $(echo "$before" | awk '{print $1}' | tr '\n' ' ')"
started=$(curl -sS --max-time 30 -w '\n%{http_code}' -X POST "${auth[@]}" "$pinger/start" || true)
[ "$(echo "$started" | tail -n 1)" = 200 ] || failures+=("POST /start did not start the pingers, the reaper and the helmsman: $(echo "$started" | tr '\n' ' ')")

figures() { target_figures "$TARGET_SERVICE"; }
watch_chaos e2e-byos "$TARGET_SERVICE" "$duration"

# Stop the chaos, then the last killed replica gets time to come back.
stop_chaos
# web_state: "<running> <image>" per web container, from the engine.
web_state() { web_ids | xargs -r docker inspect -f '{{.State.Running}}/{{.State.Paused}} {{.Config.Image}}' 2>/dev/null || true; }
converged=""
deadline=$((SECONDS + 90))
while [ $SECONDS -lt $deadline ]; do
	now=$(info) || { sleep 3; continue; }
	desired=$(echo "$now" | jq -r '.helmsman.answer.desired_version // ""')
	status=$(echo "$now" | jq -r '.helmsman.answer.status // ""')
	state=$(web_state)
	if [ "$status" = RUNNING ] && [ -n "$desired" ] && [ "$(echo "$state" | grep -Fcx "true/false $desired")" -eq 3 ] &&
		[ "$(echo "$state" | wc -l)" -eq 3 ]; then
		converged=yes
		break
	fi
	sleep 3
done
curl -fsS --max-time 10 -X POST "${auth[@]}" "$pinger/stop-pingers" >/dev/null || true
final=$(info || echo '{}')
report=$(curl -fsS --max-time 30 "${auth[@]}" "$pinger/report.json" || echo '{}')
nk=$(in_project --filter label=com.docker.compose.service=harness-nodekiller | head -n 1)
nk_info=$( [ -n "$nk" ] && curl -fsS --max-time 10 "${auth[@]}" "http://$(ip "$nk"):8001/info" || echo '{}')
after=$(untouched)
state=$(web_state)

echo
echo "== verdict"
echo "$TARGET_SERVICE: $(echo "$final" | figures)"
echo "$(echo "$final" | chaos_figures)"
echo "helmsman replicas: $(echo "$final" | jq -c '[.helmsman.answer.replicas[]? | {name, version, ready}]'), desired $(echo "$final" | jq -r '.helmsman.answer.desired_version')"
echo "web containers (running/paused image): $(echo "$state" | tr '\n' ';')"
echo "node recovery (kill to serving, restart delay included): $(echo "$nk_info" | jq -r '
	[.kills[]? | select(.recovery_seconds != null) | {method, s: .recovery_seconds}] as $k |
	if ($k | length) == 0 then "none measured" else
	($k | group_by(.method) | map("\(.[0].method) n=\(length) max \((map(.s) | max * 10 | round) / 10) s") | join(", ")) end')"
echo "upgrades (start to converged): $(echo "$final" | jq -r '
	[.helmsman.answer.history[]? | "\(.type) \(.version) \((.duration_seconds // 0) * 10 | round / 10) s \(.result)"] | reverse | join(", ")')"
echo "$TARGET_SERVICE by replica (the whole run; a request counts for the replica its first attempt reached):"
echo "$report" | jq -r --arg t "$TARGET_SERVICE" '.targets[]? | select(.name==$t) | .replicas[]? |
	"  \(.replica) \(.nodes // [] | join(",")): \(.requests) requests, share \(.share * 1000 | round / 10) %, first-attempt failures \(.first_attempt_failed), failed \(.failed), p99 \(.p99_ms) ms"'
echo "first-attempt failures by class: $(echo "$report" | jq -c --arg t "$TARGET_SERVICE" '.targets[]? | select(.name==$t) | .since_start_first_attempt_errors | map_values(.count)')"
echo "impact (first-attempt failures / failed after retries, outage s, p99 ms in outage, recovery or converged s):"
echo "$report" | jq -r --arg t "$TARGET_SERVICE" '.targets[]? | select(.name==$t) | .impact // {} |
	(.events[]? | "  \(.at[11:19]) \(.kind) \(.what) [\(.result)]: \(.first_attempt_failures)/\(.failures), outage \(.outage_seconds * 10 | round / 10) s, p99 \(.p99_ms // "-") ms, \((.seconds // null) | if . == null then "-" else (. * 10 | round / 10 | tostring) end) s"),
	(.summary[]? | "  = \(.kind) \(.type): \(.events) events, failures per event mean \(.first_attempt_failures_per_event_mean * 10 | round / 10) max \(.first_attempt_failures_per_event_max), recovery mean \(.seconds_mean // "-" | tostring | .[0:5]) s max \(.seconds_max // "-" | tostring | .[0:5]) s"),
	"  unexplained: \(.unexplained.first_attempt_failures)/\(.unexplained.failures) \(.unexplained.by_replica | tostring) \(.unexplained.by_class | tostring)"'

# Availability, and that the chaos happened: every kill method and both upgrade types.
avail=$(echo "$final" | jq -r --arg t "$TARGET_SERVICE" '.targets[] | select(.name==$t) | .success_rate.lifetime // 0')
awk -v a="$avail" -v m="$min_avail" 'BEGIN { exit !(a >= m) }' || failures+=("$TARGET_SERVICE availability $avail < $min_avail")
for m in ${KILL_METHODS//,/ }; do
	n=$(echo "$nk_info" | jq --arg m "$m" '[.kills[]? | select(.result=="ok" and .method==$m)] | length')
	[ "$n" -ge 1 ] || failures+=("no $m kill was carried out (the nodekiller's record)")
done
for ty in ${UPGRADE_TYPES//,/ }; do
	n=$(echo "$final" | jq --arg ty "$ty" '[.helmsman.answer.history[]? | select(.type==$ty and .result=="ok")] | length')
	[ "$n" -ge 1 ] || failures+=("no $ty upgrade succeeded (the helmsman's history)")
done
# The probe saw both releases answer (go-httpbin's GET /version names its release).
for v in v2.25.0 v2.26.0; do
	echo "$final" | jq -e --arg t "$TARGET_SERVICE" --arg v "$v" '.targets[] | select(.name==$t) | .versions[$v] // 0 | . > 0' >/dev/null ||
		failures+=("the probe never saw $v answer")
done
# Every kill the nodekiller carried out within the report's window has its row in the impact table.
from=$(echo "$report" | jq -r '.from // ""')
missing=$(jq -rn --argjson nk "$nk_info" --argjson rep "$report" --arg from "$from" --arg t "$TARGET_SERVICE" '
	[$rep.targets[]? | select(.name==$t) | .impact.events[]? | select(.kind=="kill") | .at] as $rows |
	[$nk.kills[]? | select(.result=="ok" and .at >= $from) | select(.at as $a | $rows | index($a) | not) | "\(.method) \(.victim) at \(.at)"] | join("; ")')
[ -z "$missing" ] || failures+=("kills the nodekiller carried out without a row in the impact table: $missing")
# Every killed replica served again: the nodekiller saw it back, or the helmsman replaced it
# (an upgrade removes the container; the end state below checks the replicas then).
unrecovered=$(echo "$nk_info" | jq -r '[.kills[]? | select(.result=="ok" and .recovery_seconds == null) | .victim] | unique | .[]')
for v in $unrecovered; do
	if docker container inspect "$v" >/dev/null 2>&1; then
		failures+=("the killed replica $v never served again (the nodekiller's record)")
	else
		echo "e2e-byos: killed replica $v was replaced before it came back"
	fi
done
# The end state, from the engine: three running web containers, each on the desired image.
[ -n "$converged" ] || failures+=("web did not end with 3 running containers on the desired image ($(echo "$final" | jq -r '.helmsman.answer.desired_version')) and status RUNNING within 90 s: $(echo "$state" | tr '\n' ';') status $(echo "$final" | jq -r '.helmsman.answer.status')")
# Nothing outside the target was touched.
if [ "$before" != "$after" ]; then
	changed=$(diff <(echo "$before") <(echo "$after") | grep "^[<>]" | tr "\n" ";" || true)
	failures+=("containers outside the target changed (service, ID, started at, restarts; < before, > after): $changed")
fi

trap - EXIT
$COMPOSE "${files[@]}" down --remove-orphans -v >/dev/null 2>&1 || failures+=("compose down failed")
left=$(in_project)
if [ -n "$left" ]; then
	failures+=("containers of $project left after down: $(echo "$left" | xargs docker inspect -f '{{.Name}}' 2>/dev/null | tr '\n' ' ' || true)")
	remove_left "$project"
fi

if [ ${#failures[@]} -gt 0 ]; then
	printf 'e2e-byos: FAIL: %s\n' "${failures[@]}"
	exit 1
fi
echo "e2e-byos: PASS"
