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
