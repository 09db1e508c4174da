# Chaos suite. `make up` runs it, `make test` tests it. See README.md.
SERVICES := receiver nodekiller pinger reaper helmsman voracious
MODULES   = $(shell go list -m -f '{{.Dir}}')
PKGS      = $(shell go list -m -f '{{.Path}}/...')
COMPOSE  ?= $(shell docker compose version >/dev/null 2>&1 && echo "docker compose" || echo docker-compose)
TAG      ?= dev
IMAGE_PREFIX ?= chaossuite
GOFLAGS_BUILD := -trimpath -ldflags='-s -w'

.PHONY: build test vet fmt-check images up down e2e e2e-k8s e2e-plan e2e-byos e2e-compose-v2 httpbin-images bench chaos fuzz clean k8s-manifests

build: ## static binaries under bin/
	@mkdir -p bin
	@for s in $(SERVICES); do \
		CGO_ENABLED=0 go build $(GOFLAGS_BUILD) -o bin/$$s ./services/$$s/cmd/$$s || exit 1; \
	done
	@echo "built: $(addprefix bin/,$(SERVICES))"

vet:
	go vet $(PKGS)

fmt-check:
	@out=$$(gofmt -l $(MODULES)); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

test: fmt-check vet ## vet, gofmt and every module's tests with the race detector
	go test -race -count=1 -timeout 20m $(PKGS)

images: build ## one FROM scratch image per service
	@deploy/docker/build-images.sh $(IMAGE_PREFIX) $(TAG) $(SERVICES)

up: images ## build, then start the whole topology
	$(COMPOSE) up -d
	@echo
	@echo "The chaos test is running."
	@echo "  live figures:   curl -s -H \"Authorization: Bearer $${AUTH_TOKEN:-dev-token-change-me}\" localhost:$${PINGER_PORT:-8002}/info"
	@echo "  verdict:        open http://localhost:$${PINGER_PORT:-8002}/report"
	@echo "  voracious:      curl -s localhost:$${VORACIOUS_PORT:-8080}/"
	@echo "  dashboards:     $(COMPOSE) --profile observability up -d, then http://localhost:3000"
	@echo "  stop:           make down"

down: ## stop the topology and remove its containers
	$(COMPOSE) --profile observability --profile load down --remove-orphans -v

e2e: ## the compose chaos run with its verdict, then the plan run (e2e-plan)
	bash deploy/e2e/run.sh
	bash deploy/e2e/plan.sh

e2e-k8s: ## the Kubernetes deployment and drivers against a real control plane on loopback (deploy/e2e-k8s)
	bash deploy/e2e-k8s/run.sh

e2e-plan: ## a plan (baseline, kills, upgrades) on two pingers, the halt lever and an abort
	bash deploy/e2e/plan.sh

e2e-byos: ## the harness attached to a project of go-httpbin replicas (deploy/compose/harness.yaml): kills, upgrades by image, verdict
	bash deploy/e2e/byos.sh

e2e-compose-v2: ## e2e-byos and the compose chaos run again under Docker Compose v2 (the plugin, else built once into ~/.cache/chaossuite-compose-v2)
	@c=$$(deploy/docker/build-compose-v2.sh) && echo "compose: $$c" && \
		COMPOSE="$$c" bash deploy/e2e/byos.sh && COMPOSE="$$c" bash deploy/e2e/run.sh

httpbin-images: ## go-httpbin v2.25.0 and v2.26.0 as chaossuite-httpbin:<release>, built in ~/.cache/chaossuite-httpbin
	@deploy/docker/build-httpbin.sh v2.25.0 v2.26.0

bench: ## benchmarks (ratios against a baseline measured in the same run)
	bash deploy/bench/run.sh

clean:
	rm -rf bin reports

k8s-manifests: ## copy the dashboards into the kustomize base (the ConfigMap is generated from them)
	cp dashboards/*.json deploy/kubernetes/base/dashboards/

DURATION ?= 5m
chaos: build ## one experiment against the running stack; reports under reports/
	bin/pinger experiment --url http://127.0.0.1:$${PINGER_PORT:-8002} --duration $(DURATION) --out reports \
		--token $${AUTH_TOKEN:-dev-token-change-me}

FUZZTIME ?= 15s
fuzz: ## every fuzz target for FUZZTIME each
	@for dir in $(MODULES); do \
		for pkg in $$(cd $$dir && go list ./...); do \
			for f in $$(cd $$dir && go test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz'); do \
				echo "fuzz $$pkg $$f"; (cd $$dir && go test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg) || exit 1; \
			done; \
		done; \
	done
