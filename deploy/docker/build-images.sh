#!/usr/bin/env bash
# Builds one FROM scratch image per service from the static binaries under bin/.
# Usage: build-images.sh PREFIX TAG SERVICE...
set -euo pipefail
prefix=$1 tag=$2
shift 2
cd "$(dirname "$0")/../.."
for s in "$@"; do
	# The legacy builder needs no registry and no buildx plugin; its deprecation notice is noise.
	if ! out=$(DOCKER_BUILDKIT=0 docker build -q -f deploy/docker/Dockerfile --build-arg SERVICE="$s" -t "$prefix/$s:$tag" . 2>&1); then
		echo "$out" >&2
		echo "images: building $prefix/$s:$tag failed" >&2
		exit 1
	fi
	echo "image: $prefix/$s:$tag"
done
