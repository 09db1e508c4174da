#!/usr/bin/env bash
# deploy/e2e/prometheus.sh: evaluate every dashboard query against a real Prometheus scraping
# the running suite, and fail when one returns no data.
#
# It starts Debian's `prometheus` binary on this host (installing the `prometheus` package,
# and jq, when missing) on 127.0.0.1:<free port> with a generated config and a temporary TSDB,
# scrapes the targets it is given, waits until every job has been scraped, runs the FORCE
# command if one is given, waits two scrape intervals, then evaluates every query of
# dashboards/*.json through /api/v1/query with Grafana's variables substituted:
#   $target -> $DASH_TARGET (default receiver), $instance -> $DASH_INSTANCE (default .*),
#   $__rate_interval -> 1m, $__interval -> 15s, $__range -> 5m.
# Queries with no data are asked again every scrape interval until EVAL_TIMEOUT; those still
# empty are listed (dashboard, panel, refId, query) and the script exits 1. Annotation
# queries are evaluated and reported, never required (they only answer right after an event).
# It also runs `promtool check config` on deploy/prometheus/prometheus.yml (the compose
# profile's config) and on the generated one.
#
# Targets (every service listens on its own port; in compose only the pinger's is published,
# so the caller passes container IPs, which the host reaches on the compose bridge network
# without publishing anything):
#   TARGETS="pinger=172.18.0.5:8002 reaper=172.18.0.6:8003 helmsman=172.18.0.7:8004
#            nodekiller=172.18.0.4:8001 voracious=172.18.0.8:8080
#            receiver=172.18.0.2:8000,172.18.0.3:8000,172.18.0.9:8000"
#   (or the same job=addr[,addr...] words as arguments). Job names must be the compose service
#   names: the dashboards select job="voracious" and show job in legends.
# Or TARGETS_CMD: a command printing that TARGETS line, run again every scrape interval, so
# that receivers the helmsman replaces during ROLLOUT and MAX_SURGE upgrades (new containers,
# new IPs) are followed. deploy/e2e/targets.sh <compose project> is such a command:
#   TARGETS_CMD="deploy/e2e/targets.sh $PROJECT" deploy/e2e/prometheus.sh
# A container's IP, by hand:
#   docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' <id>
#
# What the caller must force, after this script has started scraping (the FORCE hook runs at
# that moment; a counter that rose before Prometheus's first scrape shows no increase;
# FORCE="deploy/e2e/force.sh $PROJECT" does the bad token and voracious steps below). The
# reaper and helmsman series start at zero and always answer; these need an event:
#   - a kill carried out (nodekiller_kills_total{result="ok"}, the recovery time, the
#     "since last kill" and kills-by-method panels): KILL_INTERVAL short enough to kill at
#     least once within EVAL_TIMEOUT, or FORCE sending one
#     (curl -H "Authorization: Bearer $AUTH_TOKEN" -d '{"kill_node":"stop"}' http://<receiver>:8000/);
#   - an upgrade started (upgrades by type and result, latest upgrade type): UPGRADE_INTERVAL
#     within EVAL_TIMEOUT;
#   - a request with a bad token to any service's protected route (server-side errors by code:
#     http_server_requests_total{code="401"}), e.g. in FORCE
#     curl -s -o /dev/null -H 'Authorization: Bearer wrong' http://<pinger>:8002/info;
#   - an HTTP error and a transport error the pinger counts for a target $target matches
#     (pinger_http_errors_total, pinger_request_errors_total): the receiver answers none by
#     itself, so give the pinger two more targets and widen $target to them:
#       PINGER_TARGETS='[{"name":"bad-token","url":"http://receiver:8000/","qps":1,"token":"wrong"},
#                        {"name":"closed-port","url":"http://127.0.0.1:9/","qps":1}]'
#       DASH_TARGET='receiver|bad-token|closed-port'
#     (the bad token needs AUTH_TOKEN set on the receivers, as compose does);
#   - servo traffic on voracious (events by type, latency of /accounts/...): the `load`
#     profile's emulator, or in FORCE one HELLO:
#       curl -H "Authorization: Bearer $AUTH_TOKEN" -H 'Content-Type: application/json' \
#         -d '{"event":"HELLO","param":null}' http://<voracious>:8080/accounts/e2e/applications/app00000/servo
#       curl -H "Authorization: Bearer $AUTH_TOKEN" http://<voracious>:8080/accounts/e2e/application-overrides
#
# Environment: TARGETS, TARGETS_CMD, FORCE (bash command), SCRAPE_INTERVAL (seconds, default 5),
# EVAL_TIMEOUT (seconds, default 120), DASH_TARGET, DASH_INSTANCE, DASHBOARDS (files, default
# dashboards/*.json), PROMETHEUS (binary, default prometheus), KEEP_DATA=1 keeps the temp dir.
# Exit status: 0 every query answered; 1 some did not; 2 usage; 3 Prometheus could not run.
set -euo pipefail

cd "$(dirname "$0")/../.."
ROOT=$(pwd)

SCRAPE_INTERVAL=${SCRAPE_INTERVAL:-5}
EVAL_TIMEOUT=${EVAL_TIMEOUT:-120}
DASH_TARGET=${DASH_TARGET:-receiver}
DASH_INSTANCE=${DASH_INSTANCE:-.*}
PROMETHEUS=${PROMETHEUS:-prometheus}
read -r -a DASHBOARD_FILES <<<"${DASHBOARDS:-$(echo dashboards/*.json)}"

log() { printf 'prometheus.sh: %s\n' "$*" >&2; }
die() {
	log "$2"
	exit "$1"
}

[[ $SCRAPE_INTERVAL =~ ^[1-9][0-9]*$ ]] || die 2 "SCRAPE_INTERVAL=$SCRAPE_INTERVAL: want whole seconds, e.g. 5"
[[ $EVAL_TIMEOUT =~ ^[0-9]+$ ]] || die 2 "EVAL_TIMEOUT=$EVAL_TIMEOUT: want whole seconds, e.g. 120"
if [ $# -gt 0 ]; then TARGETS="$*"; fi
TARGETS=${TARGETS:-}
TARGETS_CMD=${TARGETS_CMD:-}
[ -n "$TARGETS" ] || [ -n "$TARGETS_CMD" ] || die 2 "no targets: set TARGETS=\"job=host:port[,host:port] ...\" or TARGETS_CMD (see the header of $0)"

# ---- tools -------------------------------------------------------------------------------
need=()
command -v "$PROMETHEUS" >/dev/null || need+=(prometheus)
command -v promtool >/dev/null || need+=(prometheus)
command -v jq >/dev/null || need+=(jq)
command -v curl >/dev/null || need+=(curl)
if [ ${#need[@]} -gt 0 ]; then
	log "installing ${need[*]}"
	if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
		die 3 "missing ${need[*]}: install them (Debian: apt-get install -y prometheus jq curl)"
	fi
	{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}"; } >/dev/null ||
		die 3 "apt-get install ${need[*]} failed"
fi

# The compose profile's config, whatever the Makefile does.
promtool check config deploy/prometheus/prometheus.yml >/dev/null ||
	die 3 "promtool check config deploy/prometheus/prometheus.yml failed"

# ---- config ------------------------------------------------------------------------------
WORK=$(mktemp -d "${TMPDIR:-/tmp}/e2e-prometheus.XXXXXX")
PROM_PID=""
REFRESH_PID=""
cleanup() {
	set +e # every step runs, whatever the one before returned
	if [ -n "$REFRESH_PID" ]; then
		kill "$REFRESH_PID" 2>/dev/null
		wait "$REFRESH_PID" 2>/dev/null
	fi
	if [ -n "$PROM_PID" ]; then
		kill "$PROM_PID" 2>/dev/null || true
		wait "$PROM_PID" 2>/dev/null || true
	fi
	if [ "${KEEP_DATA:-}" = 1 ]; then log "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

JOBS=(pinger reaper helmsman nodekiller voracious receiver)

# write_targets turns "job=a,b job=c" into one file_sd file per job, each replaced atomically.
write_targets() {
	local spec=$1 word job addrs
	declare -A seen=()
	for word in $spec; do
		job=${word%%=*}
		addrs=${word#*=}
		if [ "$job" = "$word" ] || [ -z "$addrs" ] || [[ ! $job =~ ^[a-z][a-z0-9_-]*$ ]]; then
			log "ignoring target word '$word' (want job=host:port[,host:port])"
			continue
		fi
		seen[$job]+="${seen[$job]:+,}$addrs"
	done
	for job in "${JOBS[@]}" "${!seen[@]}"; do
		local list=${seen[$job]:-}
		jq -n --arg job "$job" --arg addrs "$list" \
			'[{targets: ($addrs | split(",") | map(select(length > 0))), labels: {job: $job}}]' \
			>"$WORK/sd/$job.json.tmp"
		mv "$WORK/sd/$job.json.tmp" "$WORK/sd/$job.json"
	done
}

mkdir -p "$WORK/sd" "$WORK/data"
if [ -n "$TARGETS_CMD" ]; then
	TARGETS=$(bash -c "$TARGETS_CMD") || die 3 "TARGETS_CMD failed: $TARGETS_CMD"
fi
write_targets "$TARGETS"
log "targets: $TARGETS"

{
	cat <<EOF
global:
  scrape_interval: ${SCRAPE_INTERVAL}s
  scrape_timeout: $((SCRAPE_INTERVAL > 1 ? SCRAPE_INTERVAL - 1 : 1))s
  evaluation_interval: ${SCRAPE_INTERVAL}s
scrape_configs:
EOF
	for f in "$WORK"/sd/*.json; do
		job=$(basename "$f" .json)
		cat <<EOF
  - job_name: $job
    file_sd_configs:
      - files: ["$f"]
        refresh_interval: ${SCRAPE_INTERVAL}s
EOF
	done
} >"$WORK/prometheus.yml"
promtool check config "$WORK/prometheus.yml" >/dev/null || die 3 "generated config is invalid: $WORK/prometheus.yml"

# ---- start -------------------------------------------------------------------------------
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
URL=""
for _ in 1 2 3 4 5; do
	port=$((20000 + RANDOM % 40000))
	port_free "$port" || continue
	"$PROMETHEUS" --config.file="$WORK/prometheus.yml" --storage.tsdb.path="$WORK/data" \
		--storage.tsdb.retention.time=2h --web.listen-address="127.0.0.1:$port" \
		--log.level=warn >"$WORK/prometheus.log" 2>&1 &
	PROM_PID=$!
	for _ in $(seq 1 60); do
		if curl -fsS "http://127.0.0.1:$port/-/ready" >/dev/null 2>&1; then
			URL="http://127.0.0.1:$port"
			break 2
		fi
		kill -0 "$PROM_PID" 2>/dev/null || break
		sleep 0.5
	done
	kill "$PROM_PID" 2>/dev/null || true
	wait "$PROM_PID" 2>/dev/null || true
	PROM_PID=""
done
if [ -z "$URL" ]; then
	tail -n 20 "$WORK/prometheus.log" >&2 || true
	die 3 "prometheus did not start"
fi
log "prometheus $("$PROMETHEUS" --version 2>&1 | head -n1 | awk '{print $3}') at $URL, scraping every ${SCRAPE_INTERVAL}s"

if [ -n "$TARGETS_CMD" ]; then
	(
		while sleep "$SCRAPE_INTERVAL"; do
			if t=$(bash -c "$TARGETS_CMD" 2>/dev/null) && [ -n "$t" ]; then write_targets "$t" 2>/dev/null; fi
		done
	) &
	REFRESH_PID=$!
fi

# ---- wait for the first scrapes ------------------------------------------------------------
deadline=$((SECONDS + 60))
while :; do
	targets=$(curl -fsS "$URL/api/v1/targets?state=active" || echo '{}')
	unscraped=$(jq -r '[.data.activeTargets[]? | select(.lastScrape | startswith("0001"))] | length' <<<"$targets")
	total=$(jq -r '[.data.activeTargets[]?] | length' <<<"$targets")
	if [ "${total:-0}" -gt 0 ] && [ "${unscraped:-1}" -eq 0 ]; then break; fi
	if [ $SECONDS -ge $deadline ]; then
		log "some targets were never scraped within 60s"
		break
	fi
	sleep 1
done
jq -r '.data.activeTargets[]? | "  \(.labels.job)\t\(.scrapeUrl)\t\(.health)\t\(.lastError)"' <<<"$targets" >&2
for job in "${JOBS[@]}"; do
	jq -e --arg job "$job" '[.data.activeTargets[]? | select(.labels.job == $job and .health == "up")] | length > 0' \
		<<<"$targets" >/dev/null || log "warning: no target of job $job is up"
done

if [ -n "${FORCE:-}" ]; then
	log "forcing events: $FORCE"
	bash -c "$FORCE" || log "warning: FORCE exited $?"
fi
sleep $((2 * SCRAPE_INTERVAL))

# ---- the queries -------------------------------------------------------------------------
# One line per query: kind <TAB> dashboard <TAB> where <TAB> expr.
jq_queries='
  def panels: .panels[]? | ., (.panels[]?);
  (input_filename | split("/") | last) as $file
  | ([panels | select(.type != "row") | .title as $t | .targets[]?
       | select((.expr // "") != "") | ["panel", $file, "\($t) [\(.refId)]", .expr]]
     + [.annotations.list[]? | select((.expr // "") != "") | ["annotation", $file, .name, .expr]]
     + [.templating.list[]? | select(.type == "query") | (.definition // "") as $d
        | ([$d | capture("^label_values\\((?<sel>.*),\\s*[A-Za-z_][A-Za-z0-9_]*\\)$")] | .[0].sel?) as $s
        | select($s != null) | ["variable", $file, .name, $s]])
  | .[] | map(gsub("[\t\n]"; " ")) | @tsv'
mapfile -t QUERIES < <(jq -r "$jq_queries" "${DASHBOARD_FILES[@]}")
[ ${#QUERIES[@]} -gt 0 ] || die 1 "no queries found in ${DASHBOARD_FILES[*]}"

substitute() {
	local e=$1 name value
	# Longest names first: $__range_s before $__range, $__interval_ms before $__interval.
	for pair in "__rate_interval=1m" "__interval_ms=15000" "__interval=15s" "__range_s=300" \
		"__range_ms=300000" "__range=5m" "target=$DASH_TARGET" "instance=$DASH_INSTANCE"; do
		name=${pair%%=*}
		value=${pair#*=}
		e=${e//"\${$name}"/"$value"}
		e=${e//"[[$name]]"/"$value"}
		e=${e//"\$$name"/"$value"}
	done
	printf '%s' "$e"
}

# answer prints "data", "empty" or "error: ..." for one query.
answer() {
	local out
	out=$(curl -sS --max-time 20 "$URL/api/v1/query" --data-urlencode "query=$1" 2>&1) || {
		echo "error: $out"
		return
	}
	jq -r 'if .status != "success" then "error: \(.error)"
	       elif .data.resultType == "scalar" or .data.resultType == "string" then "data"
	       elif (.data.result | length) > 0 then "data" else "empty" end' <<<"$out" 2>/dev/null ||
		echo "error: $out"
}

declare -A state=()
pending=("${!QUERIES[@]}")
deadline=$((SECONDS + EVAL_TIMEOUT))
while :; do
	still=()
	for i in "${pending[@]}"; do
		IFS=$'\t' read -r _ _ _ expr <<<"${QUERIES[$i]}"
		state[$i]=$(answer "$(substitute "$expr")")
		[ "${state[$i]}" = data ] || still+=("$i")
	done
	pending=("${still[@]}")
	required=0
	for i in "${pending[@]}"; do [[ ${QUERIES[$i]} == annotation* ]] || required=$((required + 1)); done
	[ "$required" -eq 0 ] && break
	[ $SECONDS -ge $deadline ] && break
	log "$required queries without data yet; asking again in ${SCRAPE_INTERVAL}s"
	sleep "$SCRAPE_INTERVAL"
done

failed=0
answered=0
for i in "${!QUERIES[@]}"; do
	IFS=$'\t' read -r kind file where expr <<<"${QUERIES[$i]}"
	if [ "${state[$i]}" = data ]; then
		answered=$((answered + 1))
		continue
	fi
	if [ "$kind" = annotation ]; then
		log "note: annotation $file $where has no data now (${state[$i]}): $expr"
		continue
	fi
	failed=$((failed + 1))
	printf 'NO DATA: %s %s %s (%s)\n    %s\n' "$file" "$kind" "$where" "${state[$i]}" "$(substitute "$expr")"
done
echo "dashboard queries: ${#QUERIES[@]}, answered: $answered, without data: $failed"
if [ "$failed" -gt 0 ]; then
	log "targets at the end:"
	curl -fsS "$URL/api/v1/targets?state=active" |
		jq -r '.data.activeTargets[]? | "  \(.labels.job)\t\(.scrapeUrl)\t\(.health)\t\(.lastError)"' >&2 || true
	exit 1
fi
