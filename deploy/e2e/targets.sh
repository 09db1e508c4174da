#!/usr/bin/env bash
# deploy/e2e/targets.sh PROJECT: print the scrape targets of a running compose project as
# deploy/e2e/prometheus.sh reads them ("job=ip:port[,ip:port] ..."), from the containers'
# IPs on their networks, which the host reaches without any published port.
#
# Containers are found by their compose labels: com.docker.compose.project=PROJECT, the
# service name giving the job and port (pinger 8002, reaper 8003, helmsman 8004, nodekiller
# 8001, voracious 8080); every running container labelled chaos.target=receiver is a receiver
# (port 8000), replacements the helmsman's docker driver creates included. Other containers
# (prometheus, grafana, the servo emulator) are left out.
set -euo pipefail

project=${1:?usage: $0 <compose project name>}

declare -A ports=([pinger]=8002 [reaper]=8003 [helmsman]=8004 [nodekiller]=8001 [voracious]=8080)
declare -A jobs=()

while read -r id service target; do
	[ -n "$id" ] || continue
	job=""
	port=""
	if [ "$target" = receiver ]; then
		job=receiver
		port=8000
	elif [ -n "${ports[$service]:-}" ]; then
		job=$service
		port=${ports[$service]}
	else
		continue
	fi
	for ip in $(docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}' "$id" 2>/dev/null); do
		jobs[$job]+="${jobs[$job]:+,}$ip:$port"
		break # one network is enough: every container of the project shares the default one
	done
done < <(docker ps --filter "label=com.docker.compose.project=$project" --filter status=running \
	--format '{{.ID}} {{.Label "com.docker.compose.service"}} {{.Label "chaos.target"}}')

out=()
for job in "${!jobs[@]}"; do out+=("$job=${jobs[$job]}"); done
[ ${#out[@]} -gt 0 ] || {
	echo "targets.sh: no running container of compose project $project" >&2
	exit 1
}
echo "${out[*]}"
