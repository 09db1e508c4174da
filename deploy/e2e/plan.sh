#!/usr/bin/env bash
# make e2e-plan: a plan run against the compose stack with two pingers.
#
# Brings the topology up from nothing under a project name of its own (chaosplan<pid>) with a
# second pinger (deploy/e2e/plan-compose.yaml), then:
#   1. runs deploy/plans/e2e.yaml (baseline, kills, upgrades) on both pingers and checks the
#      report: the three phases, each later phase set beside the baseline, both probes' counts
#      adding up to the aggregate in every phase, kills in the kill phase and upgrades in the
#      upgrade phase; `pinger compare` of the run with itself passes;
#   2. runs a kill plan and pulls the lever (POST /halt on the pinger) during it: no kill is
#      carried out while halted (the nodekiller's record, and a kill asked of it directly
#      answers 409), every service shows the halt in /info and chaos_halted, the experiment
#      stops ABORTED; POST /resume lifts it everywhere;
#   3. runs a plan with a deliberately impossible abort condition (p99 under 1 us): it must
#      stop ABORTED with exit status 3 and its report written.
# Prints SKIPPED with the reason, and succeeds, when no Docker engine answers.
set -euo pipefail
cd "$(dirname "$0")/../.."

. deploy/e2e/common.sh
e2e_preflight e2e-plan

export COMPOSE_PROJECT_NAME=${COMPOSE_PROJECT_NAME:-chaosplan$$}
# Images of its own tag, so that another run building the default tag meanwhile changes nothing here.
export TAG=${TAG:-plan}
export COMPOSE_FILE=compose.yaml:deploy/e2e/plan-compose.yaml
export AUTH_TOKEN=${AUTH_TOKEN:-plan-token-$$}
export KILL_INTERVAL=${KILL_INTERVAL:-20s} UPGRADE_INTERVAL=${UPGRADE_INTERVAL:-45s}
export RECEIVER_QPS=${RECEIVER_QPS:-40} SELF_QPS=0 PINGER_TARGETS=
export PINGER_PORT=${PINGER_PORT:-$(free_port)}
export PINGER2_PORT=${PINGER2_PORT:-$(free_port)}
export VORACIOUS_PORT=${VORACIOUS_PORT:-$(free_port)}
project=$COMPOSE_PROJECT_NAME
p1="http://127.0.0.1:$PINGER_PORT" p2="http://127.0.0.1:$PINGER2_PORT"
auth=(-H "Authorization: Bearer $AUTH_TOKEN")
out=$(mktemp -d)
failures=()

cleanup() {
	echo "e2e-plan: down"
	$COMPOSE down --remove-orphans -v >/dev/null 2>&1 || true
	remove_left "$project"
}
trap cleanup EXIT

echo "e2e-plan: project $project, pingers $p1 and $p2, reports under $out"
make --no-print-directory build images TAG="$TAG"
$COMPOSE up -d

for p in "$p1" "$p2"; do
	deadline=$((SECONDS + 120))
	until curl -fsS --max-time 5 "${auth[@]}" "$p/info" >/dev/null 2>&1; do
		if [ $SECONDS -gt $deadline ]; then
			echo "e2e-plan: the pinger never answered on $p"
			$COMPOSE ps
			$COMPOSE logs --tail 30
			exit 1
		fi
		sleep 2
	done
done
# The helmsman learns the replicas for its grace period before any upgrade.
sleep 20
echo "e2e-plan: the stack is up"

container_ip() {
	docker ps -q --filter "label=com.docker.compose.project=$project" --filter "label=com.docker.compose.service=$1" |
		head -n 1 | xargs -r docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}' | awk '{print $1}'
}
nk="http://$(container_ip nodekiller):8001"
reaper="http://$(container_ip reaper):8003"
helmsman="http://$(container_ip helmsman):8004"

# 1. The plan: baseline, kills, upgrades, on both pingers.
set +e
bin/pinger experiment --plan deploy/plans/e2e.yaml --url "$p1" --url "$p2" --out "$out/main" --token "$AUTH_TOKEN" --progress 20s
code=$?
set -e
echo "e2e-plan: the plan exited $code"
[ "$code" = 0 ] || [ "$code" = 1 ] || failures+=("the plan run exited $code (0 PASS or 1 FAIL wanted)")
rep="$out/main/report.json"
if [ -s "$rep" ]; then
	phases=$(jq -r '[.phases[].name] | join(",")' "$rep")
	[ "$phases" = "baseline,kills,upgrades" ] || failures+=("the report's phases are $phases, not baseline,kills,upgrades")
	jq -e '[.phases[1:][] | .targets[0].baseline | select(. != null)] | length == 2' "$rep" >/dev/null ||
		failures+=("a chaos phase lacks its comparison with the baseline")
	sums=$(jq -r '.phases[] | .name as $n | .targets[0] as $t |
		([.probe_reports[].report.targets[] | select(.name == "receiver") | .since_start.requests]) as $per |
		"\($n) \($t.counts.requests) \($per | add) \($per | length) \($per | map(select(. > 0)) | length) \($t.latency_ms.count)"' "$rep")
	echo "e2e-plan: phase aggregate sum-of-probes probes probes-with-traffic merged-histogram-count:"
	echo "$sums" | sed 's/^/  /'
	while read -r name agg sum n busy hist; do
		[ "$agg" = "$sum" ] || failures+=("$name: the aggregate $agg is not the probes' sum $sum")
		[ "$n" = 2 ] && [ "$busy" = 2 ] || failures+=("$name: $busy of $n probes had traffic, 2 of 2 wanted")
		[ "$hist" = "$agg" ] || failures+=("$name: the merged histogram holds $hist requests, not $agg")
	done <<<"$sums"
	kills=$(jq '[(.phases[1].events // [])[] | select(.kind == "kill")] | length' "$rep")
	upgrades=$(jq '[(.phases[2].events // [])[] | select(.kind == "upgrade")] | length' "$rep")
	echo "e2e-plan: kills in the kill phase $kills, upgrades in the upgrade phase $upgrades"
	[ "$kills" -ge 1 ] || failures+=("no kill in the kill phase")
	[ "$upgrades" -ge 1 ] || failures+=("no upgrade in the upgrade phase")
	bin/pinger compare "$rep" "$rep" >/dev/null || failures+=("pinger compare of a run with itself failed")
	[ -s "$out/main/report.html" ] && grep -q 'id="phases"' "$out/main/report.html" || failures+=("report.html lacks the phase table")
	ls "$out/main/history"/*/report.json >/dev/null 2>&1 || failures+=("the run was not kept in the history")
else
	failures+=("the plan wrote no report.json")
fi

# 2. The lever, pulled during a kill phase.
cat >"$out/halt.yaml" <<PLAN
name: e2e-halt
targets: [{name: receiver}]
baseline: false
phases:
  - name: kills
    duration: 90s
    chaos: {kill: {methods: [stop], interval: 5s}}
PLAN
bin/pinger experiment --plan "$out/halt.yaml" --url "$p1" --url "$p2" --out "$out/halt" --token "$AUTH_TOKEN" --progress 10s \
	>"$out/halt.log" 2>&1 &
exp=$!
sleep 15
halted_at=$(date -u +%Y-%m-%dT%H:%M:%S)
curl -fsS --max-time 200 -X POST "${auth[@]}" "$p1/halt" >"$out/halt-answer.json" || failures+=("POST /halt failed: $(cat "$out/halt-answer.json")")
echo "e2e-plan: halted at $halted_at: $(jq -c '{pinger: .pinger.halted, peers: (.peers | map_values(.status))}' "$out/halt-answer.json")"
direct=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 -X POST "${auth[@]}" -H 'Content-Type: application/json' -d '{"method":"stop"}' "$nk/kill")
[ "$direct" = 409 ] || failures+=("a kill asked of the halted nodekiller answered $direct, not 409")
sleep 20
for svc in "$nk" "$reaper" "$helmsman" "$p1" "$p2"; do
	curl -fsS --max-time 10 "${auth[@]}" "$svc/info" | jq -e '(.halt.halted // false) == true' >/dev/null ||
		failures+=("$svc/info does not show the halt")
done
for svc in "$nk" "$reaper" "$helmsman" "$p1"; do
	metrics=$(curl -fsS --max-time 10 "$svc/metrics" || true)
	grep -q '^chaos_halted 1' <<<"$metrics" || failures+=("$svc: chaos_halted is not 1")
done
late=$(curl -fsS --max-time 10 "${auth[@]}" "$nk/info" | jq -r --arg t "$halted_at" '[.kills[] | select(.result == "ok" and .at > $t)] | length')
[ "$late" = 0 ] || failures+=("$late kills were carried out while halted")
set +e
wait "$exp"
code=$?
set -e
echo "e2e-plan: the halted experiment exited $code: $(grep -m1 'ABORTED' "$out/halt.log" || tail -n 2 "$out/halt.log")"
[ "$code" = 3 ] || failures+=("the experiment under a halt exited $code, not 3 (ABORTED)")
curl -fsS --max-time 30 -X POST "${auth[@]}" "$p1/resume" >/dev/null || failures+=("POST /resume failed")
for svc in "$nk" "$reaper" "$helmsman" "$p1"; do
	curl -fsS --max-time 10 "${auth[@]}" "$svc/info" | jq -e '.halt.halted == false' >/dev/null ||
		failures+=("$svc is still halted after /resume")
done

# 3. An abort condition that cannot be met: ABORTED, exit 3, the report written.
cat >"$out/abort.yaml" <<PLAN
name: e2e-abort
targets: [{name: receiver}]
abort: [{target: receiver, p99_above: 1us}]
phases:
  - {name: baseline, duration: 60s}
  - {name: kills, duration: 60s, chaos: {kill: {interval: 5s}}}
PLAN
set +e
bin/pinger experiment --plan "$out/abort.yaml" --url "$p1" --url "$p2" --out "$out/abort" --token "$AUTH_TOKEN" >"$out/abort.log" 2>&1
code=$?
set -e
echo "e2e-plan: the impossible abort exited $code: $(grep -m1 'ABORTED in' "$out/abort.log" || tail -n 2 "$out/abort.log")"
[ "$code" = 3 ] || failures+=("the impossible abort exited $code, not 3")
jq -e '.verdict == "ABORTED" and (.phases | length) == 1 and .abort.phase == "baseline"' "$out/abort/report.json" >/dev/null ||
	failures+=("the aborted run's report does not say ABORTED in the baseline")

trap - EXIT
cleanup
if [ ${#failures[@]} -gt 0 ]; then
	printf 'e2e-plan: FAIL: %s\n' "${failures[@]}"
	exit 1
fi
echo "e2e-plan: PASS"
