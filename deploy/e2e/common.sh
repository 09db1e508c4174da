# Sourced by the compose end-to-end runs (run.sh, plan.sh): what each needs before and after.

# e2e_preflight NAME: prints SKIPPED and ends the run, successfully, when no Docker engine
# answers; sets COMPOSE (the v2 plugin, else docker-compose 1.29); checks the tools the run uses.
e2e_preflight() {
	if ! docker info >/dev/null 2>&1; then
		echo "SKIPPED: no Docker engine answers (docker info failed)"
		exit 0
	fi
	COMPOSE=${COMPOSE:-$(docker compose version >/dev/null 2>&1 && echo "docker compose" || echo docker-compose)}
	for tool in jq curl; do
		command -v "$tool" >/dev/null || { echo "$1: $tool is needed (apt-get install $tool)"; exit 1; }
	done
}

# free_port: a loopback port free now.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo $((20000 + RANDOM % 20000)); }

# remove_left PROJECT: removes the containers of PROJECT that compose's down left, such as the
# replacements the drivers created outside compose's own bookkeeping (they carry its labels).
remove_left() {
	local left
	left=$(docker ps -aq --filter "label=com.docker.compose.project=$1")
	if [ -n "$left" ]; then
		docker rm -f $left >/dev/null 2>&1 || true
	fi
}

# target_figures NAME: the pinger's /info (on stdin) on target NAME, as one line.
target_figures() {
	jq -r --arg t "$1" '.targets[] | select(.name==$t) |
		"\(.lifetime.requests) requests, \(.lifetime.failed) failed, \(.lifetime.dropped) dropped, availability \((.success_rate.lifetime // 0) * 100 | tostring | .[0:8]) %, first attempt \((.first_attempt_success_rate.lifetime // 0) * 100 | tostring | .[0:8]) %, p99 \(.lifetime_latency_ms.p99) ms, versions \(.versions | tostring)"'
}

# chaos_figures: the kills and upgrades so far and the helmsman's status, from the pinger's
# /info on stdin.
chaos_figures() {
	jq -r '"kills: \(.reaper.answer.total.by_result // {} | tostring), upgrades: \(.helmsman.answer.upgrades_total.by_result // {} | tostring), status \(.helmsman.answer.status // "?")"'
}

# watch_chaos RUN TARGET SECONDS: a progress line every 20 s for SECONDS, from info (the
# caller's function reading the pinger's /info).
watch_chaos() {
	local start=$SECONDS now
	while [ $((SECONDS - start)) -lt "$3" ]; do
		sleep 20
		if now=$(info 2>/dev/null); then
			echo "$1: $((SECONDS - start))s: $(echo "$now" | target_figures "$2"); $(echo "$now" | chaos_figures)"
		else
			echo "$1: $((SECONDS - start))s: the pinger's /info did not answer"
		fi
	done
}

# stop_chaos: stops the reaper and the helmsman through the pinger ($pinger, with ${auth[@]});
# a stop answers once the work under way is done (for the helmsman, a whole upgrade). A failure
# goes into the caller's failures.
stop_chaos() {
	curl -fsS --max-time 200 -X POST "${auth[@]}" "$pinger/stop-reaper" >/dev/null || failures+=("stopping the reaper failed")
	curl -fsS --max-time 200 -X POST "${auth[@]}" "$pinger/stop-helmsman" >/dev/null || failures+=("stopping the helmsman failed")
}
