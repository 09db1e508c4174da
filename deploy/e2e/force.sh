#!/usr/bin/env bash
# deploy/e2e/force.sh PROJECT: force the events some dashboard queries need, on a running
# compose project, reaching the containers by IP (deploy/e2e/targets.sh finds them). Meant as
# prometheus.sh's FORCE hook: FORCE="deploy/e2e/force.sh $PROJECT".
#
#   - a request with a wrong bearer token to the pinger's /info: a 401 in
#     http_server_requests_total (server-side errors by code);
#   - one servo HELLO and one application-overrides GET on voracious: voracious_events_total
#     and the /accounts/... latency (skip with FORCE_VORACIOUS=0, e.g. when the `load`
#     profile runs);
#   - with FORCE_KILL=1, one kill through a receiver ({"kill_node":"stop"}), for runs whose
#     reaper would not kill within prometheus.sh's EVAL_TIMEOUT.
# AUTH_TOKEN must be the stack's token (compose's development default when unset there).
# Every step reports what it got and the script never fails the run by itself: prometheus.sh
# says which queries still have no data.
set -uo pipefail

project=${1:?usage: $0 <compose project name>}
token=${AUTH_TOKEN:-}
here=$(dirname "$0")

targets=$("$here/targets.sh" "$project") || exit 0
addr() { # addr JOB: the first address of JOB
	local word
	for word in $targets; do
		if [ "${word%%=*}" = "$1" ]; then
			word=${word#*=}
			echo "${word%%,*}"
			return
		fi
	done
}
auth=()
[ -n "$token" ] && auth=(-H "Authorization: Bearer $token")
say() { printf 'force.sh: %s\n' "$*" >&2; }

if p=$(addr pinger) && [ -n "$p" ]; then
	code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 -H 'Authorization: Bearer wrong-token' "http://$p/info")
	say "bad token to pinger /info: $code (want 401)"
fi

if [ "${FORCE_VORACIOUS:-1}" = 1 ] && v=$(addr voracious) && [ -n "$v" ]; then
	code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "${auth[@]}" -H 'Content-Type: application/json' \
		-d '{"event":"HELLO","param":null}' "http://$v/accounts/e2e/applications/app00000/servo")
	say "voracious HELLO: $code"
	code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "${auth[@]}" "http://$v/accounts/e2e/application-overrides")
	say "voracious application-overrides: $code"
fi

if [ "${FORCE_KILL:-0}" = 1 ] && r=$(addr receiver) && [ -n "$r" ]; then
	code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 15 "${auth[@]}" -H 'Content-Type: application/json' \
		-d '{"kill_node":"stop"}' "http://$r/")
	say "kill through receiver $r: $code"
fi
exit 0
