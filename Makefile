# Pasokh — every target does one thing and says what it does.
# The local stack (PostgreSQL + Kafka + Keycloak) lives under .local/; ports come from
# PASOKH_PG_PORT (55432), PASOKH_KAFKA_PORT (19092) and PASOKH_KEYCLOAK_PORT (18180).
SHELL := /bin/bash
CARGO ?= cargo
export PASOKH_PG_PORT ?= 55432
export PASOKH_KAFKA_PORT ?= 19092
export PASOKH_KEYCLOAK_PORT ?= 18180

.PHONY: help run test test-faults test-faults-long api-fuzz browser-test helm-check test-unit build lint fmt bench bench-intake bench-web bench-reporting bench-pipeline stack-up stack-down stack-status stack-reset clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

run: ## bring up the stack and all services (intake for IR-23 and IR-25); Ctrl-C stops them
	scripts/run.sh

test: stack-up build ## stack up, then unit, integration and end-to-end tests against real PostgreSQL, Kafka and Keycloak, API fuzzing, browser scenarios, the Helm checks and the fault matrix
	scripts/stack.sh drop-test-dbs
	@# the realm as the services expect it: real tokens of every client, user and grant
	timeout --signal=KILL 2m python3 stack/keycloak/check-realm.py >.local/check-realm.log \
	  || { cat .local/check-realm.log; exit 1; }
	@# a hung test must fail the run, not hold CI until its deadline
	timeout --signal=KILL 30m $(CARGO) test --workspace --no-fail-fast
	timeout --signal=KILL 10m scripts/api-fuzz.sh
	timeout --signal=KILL 15m scripts/browser-test.sh
	timeout --signal=KILL 20m scripts/helm-check.sh
	@# last and alone: it restarts PostgreSQL and Kafka under the whole pipeline
	timeout --signal=KILL 30m $(MAKE) --no-print-directory faults

# the fault matrix itself, without the stack and build prerequisites (make test has them already)
.PHONY: faults
faults:
	$(CARGO) test -p pasokh-e2e --test it -- --ignored --nocapture --test-threads=1 faults::

test-faults: stack-up build ## the fault matrix (part of make test): the pipeline under load through crashes at named moments, PostgreSQL/Kafka/gateway/network outages (scaled down) and replica rebalances; prints invariants I1–I6 with their counts after each
	$(MAKE) --no-print-directory faults

test-faults-long: stack-up build ## the fault matrix with the full outage lengths (Kafka stopped 10 min, gateway and intake 5 min); about an hour
	PASOKH_FAULTS_LONG=1 $(MAKE) --no-print-directory faults

api-fuzz: build ## schemathesis against intake's OpenAPI document (part of make test)
	scripts/api-fuzz.sh

browser-test: build ## the browser scenarios: Debian chromium + playwright-core + axe-core against every service (part of make test)
	scripts/browser-test.sh

helm-check: build ## helm lint, template every overlay, validate against Kubernetes 1.30, chart tests (part of make test)
	scripts/helm-check.sh

test-unit: ## unit tests only (no stack needed)
	$(CARGO) test --workspace --lib --bins

build: ## compile every crate, binaries and tests
	scripts/build-deps.sh
	$(CARGO) build --workspace --bins --tests

lint: ## rustfmt check, clippy with warnings as errors, cargo-deny (licences, bans, duplicates, sources), cargo-machete (unused dependencies), buf lint and buf breaking against the last release, and no source file over 400 lines without a reason
	scripts/build-deps.sh
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	scripts/lint-deps.sh
	scripts/lint-proto.sh
	scripts/lint-size.sh

fmt: ## format the code
	$(CARGO) fmt --all

bench-intake: ## benchmark intake against pgbench (release build, durability on); writes bench/results/intake.json
	scripts/bench-intake.sh

bench-web: ## benchmark the web pages (release build, whole system): walk-ins by 50 desks, tracking at 200/s, page bytes; writes bench/results/web.json
	scripts/bench-web.sh

bench-reporting: ## reporting at 10 M petitions: every dashboard query's p50/p99, and ingestion from Kafka; writes bench/results/reporting.json
	scripts/bench-reporting.sh

bench-pipeline: ## the whole pipeline (release build): intake's saturated rate vs the pipeline's to the routed SMS, SMS latency at 100/500/1000 per s, memory through a soak; writes bench/results/pipeline.json
	scripts/bench-pipeline.sh

bench: bench-intake bench-web bench-reporting bench-pipeline ## every benchmark

stack-up: ## install (when missing) and start PostgreSQL, Kafka and Keycloak (realm pasokh), create databases and topics
	scripts/stack.sh up

stack-down: ## stop Keycloak, Kafka and PostgreSQL (data stays in .local/)
	scripts/stack.sh down

stack-status: ## say what runs where
	scripts/stack.sh status

stack-reset: ## stop the stack and delete its data
	scripts/stack.sh reset

clean: ## remove build output
	$(CARGO) clean
