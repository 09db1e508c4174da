#!/usr/bin/env bash
# make bench: every speed figure of the suite (receiver, pinger, voracious) as a ratio against
# a baseline measured in the same run, since the machines are shared and absolute figures drift.
set -euo pipefail
cd "$(dirname "$0")/../.."
. deploy/bench/stats.sh

echo "== receiver vs a bare net/http handler (go test -bench, loopback HTTP, keep-alive)"
# One test binary, the two benchmarks alternated, each first in turn, and the median of the
# rounds' ratios judged: the machine is shared, and back-to-back runs of one side measure
# whatever else ran then as much as the code.
ROUNDS=${RECEIVER_BENCH_ROUNDS:-9}
fail=0
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go test -c -o "$work/receiver.test" ./services/receiver/internal/receiver/
bench() { (cd services/receiver/internal/receiver && "$work/receiver.test" -test.run '^$' -test.bench "^$1\$" -test.benchtime 2s) | awk -v n="$1" '$1 ~ "^"n { print $3 }'; }
percents=()
for round in $(seq "$ROUNDS"); do
	if [ $((round % 2)) = 1 ]; then
		r=$(bench BenchmarkReceiver) b=$(bench BenchmarkBareHandler)
	else
		b=$(bench BenchmarkBareHandler) r=$(bench BenchmarkReceiver)
	fi
	if [ -z "$r" ] || [ -z "$b" ]; then echo "receiver bench: no figures"; exit 1; fi
	percents+=("$(awk -v r="$r" -v b="$b" 'BEGIN { print b / r * 100 }')")
	awk -v n="$round" -v r="$r" -v b="$b" 'BEGIN { printf "round %d: receiver %.0f ns/op, bare handler %.0f ns/op, throughput %.1f %%\n", n, r, b, b / r * 100 }'
done
awk -v m="$(median "${percents[@]}")" -v n="$ROUNDS" -v q="$(quartiles %.1f "${percents[@]}")" 'BEGIN {
	printf "receiver throughput = %.1f %% of the bare handler, the median of %d rounds (quartiles %s %%; target >= 70 %%): %s\n",
		m, n, q, (m >= 70 ? "PASS" : "MISS")
	exit m >= 70 ? 0 : 1
}' || fail=1

for part in pinger voracious; do
	if [ -f "deploy/bench/$part.sh" ]; then
		echo
		echo "== $part"
		bash "deploy/bench/$part.sh" || fail=1
	fi
done
exit "$fail"
