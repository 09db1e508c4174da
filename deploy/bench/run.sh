#!/usr/bin/env bash
# make bench: every speed figure of the suite (receiver, pinger, voracious) as a ratio against
# a baseline measured in the same run, since the machines are shared and absolute figures drift.
set -euo pipefail
cd "$(dirname "$0")/../.."

echo "== receiver vs a bare net/http handler (go test -bench, loopback HTTP, keep-alive)"
out=$(go test -run '^$' -bench 'Benchmark(Receiver|BareHandler)$' -benchtime 5s -count 3 ./services/receiver/internal/receiver/)
echo "$out" | grep '^Benchmark'
echo "$out" | awk '
	/^BenchmarkReceiver/    { r += $3; nr++ }
	/^BenchmarkBareHandler/ { b += $3; nb++ }
	END {
		if (nr == 0 || nb == 0) { print "receiver bench: no figures"; exit 1 }
		ratio = (b / nb) / (r / nr)
		printf "receiver throughput = %.1f %% of the bare handler (target >= 70 %%)\n", ratio * 100
		if (ratio < 0.70) exit 1
	}'

for part in pinger voracious; do
	if [ -f "deploy/bench/$part.sh" ]; then
		echo
		echo "== $part"
		bash "deploy/bench/$part.sh"
	fi
done
