#!/usr/bin/env bash
# Builds go-httpbin (github.com/mccutchen/go-httpbin/v2, from the Go module proxy) as static
# binaries, one per release, into a cache folder outside the repository, then one FROM scratch
# image per release: chaossuite-httpbin:<release>. A binary or an image already there is reused.
#
# Usage: build-httpbin.sh [RELEASE...]   (default: v2.25.0 v2.26.0)
# HTTPBIN_CACHE: the cache folder (default ~/.cache/chaossuite-httpbin).
# HTTPBIN_BINARIES_ONLY=1: the binaries alone, no image (make e2e-k8s runs them as pods).
#
# How go-httpbin serves: port 8080 (-port or PORT), every path of httpbin.org (/status/200
# answers 200 with an empty body: a health path), GET /version answers
# {"service":"go-httpbin","version":"<release>",...} when USE_FULL_VERSION=true (the release is
# stamped in here with -X main.version), and on SIGTERM or SIGINT it stops accepting
# connections and lets requests under way finish (http.Server.Shutdown, bounded by
# MAX_DURATION + 1 s), with no delay before it closes its listener.
set -euo pipefail
cd "$(dirname "$0")"
here=$(pwd)
cache=${HTTPBIN_CACHE:-$HOME/.cache/chaossuite-httpbin}
releases=("$@")
[ ${#releases[@]} -gt 0 ] || releases=(v2.25.0 v2.26.0)
mkdir -p "$cache"
for v in "${releases[@]}"; do
	case $v in
	v[0-9]*.[0-9]*.[0-9]*) ;;
	*) echo "httpbin: release $v: want a tag such as v2.25.0" >&2; exit 2 ;;
	esac
	bin=$cache/$v/go-httpbin
	if ! [ -x "$bin" ] || ! "$bin" -version 2>/dev/null | grep -qx "go-httpbin version $v"; then
		mkdir -p "$cache/$v"
		# Outside any module or workspace: go install pkg@version builds exactly that release.
		if ! out=$(cd "$cache" && GOWORK=off GOFLAGS= GOBIN="$cache/$v" CGO_ENABLED=0 nice -n 10 go install -trimpath \
			-ldflags="-s -w -X main.version=$v" "github.com/mccutchen/go-httpbin/v2/cmd/go-httpbin@$v" 2>&1); then
			echo "$out" >&2
			echo "httpbin: building go-httpbin $v failed" >&2
			exit 1
		fi
	fi
	[ -z "${HTTPBIN_BINARIES_ONLY:-}" ] || { echo "binary: $bin"; continue; }
	tag=chaossuite-httpbin:$v
	if [ -z "${HTTPBIN_REBUILD:-}" ] && docker image inspect "$tag" >/dev/null 2>&1; then
		echo "image: $tag (present)"
		continue
	fi
	if ! out=$(DOCKER_BUILDKIT=0 docker build -q -f "$here/httpbin.Dockerfile" --build-arg VERSION="$v" -t "$tag" "$cache" 2>&1); then
		echo "$out" >&2
		echo "httpbin: building $tag failed" >&2
		exit 1
	fi
	echo "image: $tag"
done
