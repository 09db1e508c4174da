#!/usr/bin/env bash
# Prints the path of a Docker Compose v2 binary, for running the compose files under v2 where
# only Debian's docker-compose 1.29 is installed: the `docker compose` plugin when the engine's
# CLI has one, else github.com/docker/compose/v2 built once from the Go module proxy into a
# cache folder outside the repository (about 3 minutes on 2 cores) and reused after.
#
# Usage: build-compose-v2.sh            (prints the command to run as COMPOSE)
# COMPOSE_V2_RELEASE: the release to build (default v2.40.3).
# COMPOSE_V2_CACHE: the cache folder (default ~/.cache/chaossuite-compose-v2).
set -euo pipefail
release=${COMPOSE_V2_RELEASE:-v2.40.3}
cache=${COMPOSE_V2_CACHE:-$HOME/.cache/chaossuite-compose-v2}

if docker compose version 2>/dev/null | grep -q 'version v2'; then
	echo "docker compose"
	exit 0
fi
bin=$cache/$release/docker-compose
if [ -x "$bin" ] && "$bin" version 2>/dev/null | grep -q "version $release"; then
	echo "$bin"
	exit 0
fi
case $release in
v2.[0-9]*.[0-9]*) ;;
*) echo "compose-v2: release $release: want a v2 tag such as v2.40.3" >&2; exit 2 ;;
esac
mkdir -p "$cache"
work=$(mktemp -d "$cache/build.XXXXXX")
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
# The module's go.mod holds exclude directives, which `go install pkg@version` refuses: fetch
# the module's source, then build it as the main module.
src=$(cd "$work" && GOWORK=off GOFLAGS=-mod=mod go mod download -json "github.com/docker/compose/v2@$release" |
	sed -n 's/^[[:space:]]*"Dir": "\(.*\)",*$/\1/p')
[ -n "$src" ] || { echo "compose-v2: github.com/docker/compose/v2@$release could not be downloaded" >&2; exit 1; }
cp -r "$src" "$work/src"
chmod -R u+w "$work/src"
mkdir -p "$cache/$release"
if ! out=$(cd "$work/src" && GOWORK=off GOFLAGS=-buildvcs=false CGO_ENABLED=0 nice -n 10 go build -trimpath \
	-ldflags="-s -w -X github.com/docker/compose/v2/internal.Version=$release" -o "$bin" ./cmd 2>&1); then
	echo "$out" >&2
	echo "compose-v2: building docker compose $release failed" >&2
	exit 1
fi
echo "$bin"
