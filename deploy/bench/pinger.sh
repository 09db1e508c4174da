#!/usr/bin/env bash
# The pinger's CPU time per request (user + sys of the process) over BENCH_SECONDS (10 s) runs
# at 1 000 and 5 000 QPS against a bare local server, in each connection mode (spread, the
# default; keepalive; new-connection), beside hey with keep-alive and hey -disable-keepalive at
# the same rate in the same run (and vegeta, when a `vegeta` binary is on PATH). Then 5 000 QPS
# in spread mode held for BENCH_HOLD_SECONDS (60 s): at least 99 % of the schedule sent and
# every request answered, so the local ports never ran out (drops, counted, are the pinger
# saturated by a busy machine). Loopback only; every run stops by itself.
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${BENCH_SECONDS:-10}
hold=${BENCH_HOLD_SECONDS:-60}
tmp=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; rm -rf "$tmp"' EXIT

command -v hey >/dev/null || { echo "pinger bench: hey is needed (apt-get install hey)"; exit 1; }
CGO_ENABLED=0 go build -o "$tmp/pinger" ./services/pinger/cmd/pinger
CGO_ENABLED=0 go build -o "$tmp/bare" ./services/voracious/cmd/barehandler
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
bare_addr=127.0.0.1:$(port)
LISTEN_ADDR=$bare_addr "$tmp/bare" & pids+=($!)
tck=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
wait_up() { for _ in $(seq 100); do curl -fs -o /dev/null "$1" && return 0; sleep 0.05; done; return 1; }
wait_up "http://$bare_addr/" || true
body='{"kill_node":"spare"}'

# pinger QPS MODE SECONDS: prints "requests failed dropped us_per_request"
pinger() {
	local paddr=127.0.0.1:$(port)
	# /start-pingers and /stop-pingers need a token, as every destructive action.
	LISTEN_ADDR=$paddr RECEIVER_URL=http://$bare_addr/ RECEIVER_QPS=$1 RECEIVER_CONNECTION=$2 MAX_ATTEMPTS=1 LOG_LEVEL=warn AUTH_TOKEN=bench "$tmp/pinger" &
	local ppid=$!
	pids+=($ppid)
	wait_up "http://$paddr/readyz"
	local before after
	before=$(cpu_ticks $ppid)
	curl -fs -X POST -H "Authorization: Bearer bench" -o /dev/null "http://$paddr/start-pingers"
	sleep "$3"
	curl -fs -X POST -H "Authorization: Bearer bench" -o /dev/null "http://$paddr/stop-pingers"
	after=$(cpu_ticks $ppid)
	curl -fs -H "Authorization: Bearer bench" "http://$paddr/info" >"$tmp/info.json"
	kill $ppid; wait $ppid 2>/dev/null || true
	jq -r --argjson d $((after - before)) --argjson t "$tck" '.targets[0].lifetime |
		"\(.requests) \(.failed) \(.dropped) \($d * 1000000 / $t / ([.requests, 1] | max) | round)"' "$tmp/info.json"
}
# heyrun QPS SECONDS [FLAGS]: hey paces each worker, -c workers at -q requests a second each.
heyrun() {
	local workers=$(($1 / 100))
	/usr/bin/time -f '%U %S' -o "$tmp/hey.time" hey -z "${2}s" -c "$workers" -q 100 ${3:-} -m POST -T application/json -d "$body" "http://$bare_addr/" >"$tmp/hey.out"
	local n
	n=$(awk '/\[200\]/ {print $2}' "$tmp/hey.out")
	echo "${n:-0} - - $(awk -v n="${n:-1}" '{printf "%.0f", ($1 + $2) * 1000000 / n}' "$tmp/hey.time")"
}

rounds=${BENCH_ROUNDS:-2}
echo "(each figure the mean of $rounds rounds, the tools alternated within a round)"
printf '%-6s %-26s %10s %7s %8s %11s\n' QPS "tool" requests failed dropped "CPU us/req"
declare -A us n f d
for qps in 1000 5000; do
	tools=("pinger spread" "pinger keepalive" "pinger new-connection" "hey" "hey -disable-keepalive")
	for tool in "${tools[@]}"; do us[$tool]=0; n[$tool]=0; f[$tool]=0; d[$tool]=0; done
	for _ in $(seq "$rounds"); do
		for tool in "${tools[@]}"; do
			case $tool in
			"pinger "*) read -r rn rf rd ru < <(pinger "$qps" "${tool#pinger }" "$secs") ;;
			"hey") read -r rn rf rd ru < <(heyrun "$qps" "$secs") ;;
			*) read -r rn rf rd ru < <(heyrun "$qps" "$secs" -disable-keepalive) ;;
			esac
			us[$tool]=$((${us[$tool]} + ru)); n[$tool]=$((${n[$tool]} + rn))
			[ "$rf" = - ] || f[$tool]=$((${f[$tool]} + rf))
			[ "$rd" = - ] || d[$tool]=$((${d[$tool]} + rd))
		done
	done
	for tool in "${tools[@]}"; do
		if [ "${tool#pinger}" = "$tool" ]; then f[$tool]=-; d[$tool]=-; fi # hey reports no such counts
		printf '%-6s %-26s %10s %7s %8s %11s\n' "$qps" "$tool" $((${n[$tool]} / rounds)) "${f[$tool]}" "${d[$tool]}" $((${us[$tool]} / rounds))
	done
	if command -v vegeta >/dev/null; then
		echo "POST http://$bare_addr/" >"$tmp/targets"
		echo "$body" >"$tmp/body.json"
		/usr/bin/time -f '%U %S' -o "$tmp/vegeta.time" sh -c "vegeta attack -targets=$tmp/targets -body=$tmp/body.json -rate=$qps -duration=${secs}s > $tmp/vegeta.bin"
		vreqs=$(vegeta report -type=json <"$tmp/vegeta.bin" | jq '.requests')
		printf '%-6s %-26s %10s %7s %8s %11.0f\n' "$qps" vegeta "$vreqs" - - "$(awk -v n="$vreqs" '{print ($1 + $2) * 1000000 / n}' "$tmp/vegeta.time")"
	fi
	awk -v s="${us[pinger spread]}" -v k="${us[pinger keepalive]}" -v h="${us[hey -disable-keepalive]}" -v q="$qps" \
		'BEGIN { printf "%s QPS: spread costs %.2f x keepalive and %.2f x hey -disable-keepalive per request\n", q, s / k, s / h }'
done

echo
echo "== 5 000 QPS in spread mode held for $hold s"
read -r n f d u < <(pinger 5000 spread "$hold")
tw=$(awk 'NR > 1 && $4 == "06" {n++} END {print n + 0}' /proc/net/tcp)
echo "requests $n, failed $f, dropped $d, CPU $u us/req; TIME_WAIT sockets now: $tw"
expect=$((5000 * hold * 99 / 100))
if [ "$f" -ne 0 ] || [ "$n" -lt "$expect" ]; then
	echo "pinger bench: FAIL: 5 000 QPS not held for $hold s (want >= $expect requests sent, none failed)"
	exit 1
fi
echo "reference: vegeta measured on one such machine at 410 us/req (1 000 QPS) and 161 us/req (5 000 QPS)"
