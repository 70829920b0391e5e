# Everything a new machine needs, in two commands: `make serve` and `make test`.

CARGO_TARGET_DIR ?= target
export CARGO_TARGET_DIR
HALO_BIN := $(abspath $(CARGO_TARGET_DIR))/release/halo
WASM_DIR := plugins/target/wasm32-wasip2/release
EXAMPLES := my_models todos notes
ORIGINAL_SYNC_JS := build/original/package/lib/static/halo.sync.js

.PHONY: serve demo-tenant test setup services plugins halo lint test-rust test-e2e test-chaos chaos fuzz bench bare bench-tenants bench-cluster docs clean

## Start halo on http://127.0.0.1:3000 with the example views and the embedded store in ./data.
serve: setup plugins halo demo-tenant
	$(HALO_BIN) serve --plugins build/plugins --tenants build/tenants --demo-tenant demo --data data

## The notes demo's tenant: the notes view behind HS256 tokens, with a
## random secret made once.
demo-tenant: plugins
	mkdir -p build/tenants/demo/plugins
	cp $(WASM_DIR)/notes.wasm build/tenants/demo/plugins/
	@[ -f build/tenants/demo/tenant.toml ] || printf '[auth]\nalgorithm = "HS256"\nsecret = "%s"\naudience = "demo"\n' \
		"$$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')" > build/tenants/demo/tenant.toml

## Run every test: lints, Rust unit and integration tests, Node end-to-end
## tests (three nodes on PostgreSQL and Redis behind nginx among them), the
## JS and Python SDKs' own tests, and the chaos suite with bounded sizes.
test: setup services lint test-rust test-e2e views-test test-chaos

## PostgreSQL, Redis and nginx for the store suite and the scale-out tests:
## installed from Debian's packages when missing, started when they do not
## answer (tests/services.sh).
services:
	bash tests/services.sh

## Toolchain target for views, the npm packages the browser and tests use,
## the JS and Python view tool chains (views-setup), and Debian's Chromium
## for the browser tests (playwright-core drives it; no browser download).
setup: views-setup
	rustup target add wasm32-wasip2
	npm ci --no-audit --no-fund
	@command -v chromium >/dev/null || { \
		echo "installing Debian's chromium for the browser tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }
	@# The original 0.1.6 browser file, to prove old apps keep working; never checked in.
	@if [ ! -f $(ORIGINAL_SYNC_JS) ]; then \
		mkdir -p build/original && \
		npm pack halo@0.1.6 --pack-destination build/original --silent && \
		tar -xzf build/original/halo-0.1.6.tgz -C build/original package/lib/static/halo.sync.js; \
	fi

## Build the example views and put them in build/plugins.
plugins:
	cd plugins && cargo build --release --target wasm32-wasip2 --target-dir target
	mkdir -p build/plugins
	for name in $(EXAMPLES); do cp $(WASM_DIR)/$$name.wasm build/plugins/; done

halo:
	cargo build --release -p halo

## The benchmark's floor: the Node reference's job on socketioxide alone.
bare:
	cargo build --release -p bare-socketioxide

## The host's modules form no import cycle and no source file grows past 450
## lines; then formatting and clippy.
lint:
	python3 tests/lint/module_graph.py host/src 450
	cargo fmt --all --check
	cd plugins && cargo fmt --all --check
	cargo clippy --release --workspace --all-targets -- -D warnings
	cd plugins && cargo clippy --release --target wasm32-wasip2 --target-dir target -- -D warnings

test-rust: views
	HALO_VIEWS_DIR=$(abspath $(VIEWS_OUT)) cargo test --release --workspace
	@# The SDK's own tests run natively: they need no host.
	cd plugins && cargo test -p halo-sdk --target $$(rustc -vV | sed -n 's/^host: //p') --target-dir target

test-e2e: plugins halo views
	HALO_BIN=$(HALO_BIN) HALO_WASM_DIR=$(abspath $(WASM_DIR)) HALO_VIEWS_DIR=$(abspath $(VIEWS_OUT)) \
	HALO_ORIGINAL_SYNC_JS=$(abspath $(ORIGINAL_SYNC_JS)) \
	npm run --silent test:e2e

## The chaos and abuse suite (tests/chaos/: crashes, malformed frames,
## oversized messages, stuck readers, floods, other tenants, a full disk) and
## every fuzz target, at sizes for `make test`.
test-chaos: plugins halo
	cargo build --release -p halo-fuzz
	$(abspath $(CARGO_TARGET_DIR))/release/halo-fuzz --seconds $(or $(FUZZ_SECONDS),12)
	HALO_BIN=$(HALO_BIN) HALO_WASM_DIR=$(abspath $(WASM_DIR)) \
	HALO_CHAOS_WAVES=$(or $(CHAOS_WAVES),2) HALO_CHAOS_PER_WAVE=$(or $(CHAOS_PER_WAVE),50) \
	HALO_CHAOS_KILLS=$(or $(CHAOS_KILLS),2) \
	node --test --test-concurrency=1 tests/chaos/

## The same, bigger: more churn, more kills, a minute of each fuzz target.
chaos:
	$(MAKE) test-chaos FUZZ_SECONDS=360 CHAOS_WAVES=10 CHAOS_PER_WAVE=200 CHAOS_KILLS=6

## One fuzz target (FUZZ_TARGET=event_arguments) or all, for FUZZ_SECONDS.
fuzz:
	cargo build --release -p halo-fuzz
	$(abspath $(CARGO_TARGET_DIR))/release/halo-fuzz --seconds $(or $(FUZZ_SECONDS),60) $(FUZZ_TARGET)

## halo against the Node socket.io references and bare socketioxide, every scenario (BENCH_ARGS=--quick for a short run);
## then one view in Rust, JavaScript and Python (bench/languages.mjs); then
## three nodes in cluster mode against one (bench/cluster.mjs, PostgreSQL and Redis).
bench: setup plugins halo bare views
	npm ci --prefix bench --no-audit --no-fund
	HALO_BIN=$(HALO_BIN) HALO_WASM_DIR=$(abspath $(WASM_DIR)) \
	$$(command -v taskset >/dev/null && echo taskset -c 1) node bench/run.mjs $(BENCH_ARGS)
	HALO_BIN=$(HALO_BIN) HALO_WASM_DIR=$(abspath $(WASM_DIR)) HALO_VIEWS_DIR=$(abspath $(VIEWS_OUT)) \
	$$(command -v taskset >/dev/null && echo taskset -c 1) node bench/languages.mjs
	HALO_BIN=$(HALO_BIN) HALO_WASM_DIR=$(abspath $(WASM_DIR)) \
	$$(command -v taskset >/dev/null && echo taskset -c 1) node bench/cluster.mjs $(BENCH_ARGS)

## Cluster mode against one node: three nodes sharing PostgreSQL and Redis
## (BENCH_PG, BENCH_REDIS; both on 127.0.0.1 by default), 3,000 subscribers.
bench-cluster: setup plugins halo
	npm ci --prefix bench --no-audit --no-fund
	HALO_BIN=$(HALO_BIN) HALO_WASM_DIR=$(abspath $(WASM_DIR)) \
	$$(command -v taskset >/dev/null && echo taskset -c 1) node bench/cluster.mjs $(BENCH_ARGS)

## Multi-tenant benchmark: noisy neighbour, memory per idle tenant, cold start.
bench-tenants: setup plugins halo
	HALO_BIN=$(HALO_BIN) HALO_WASM_DIR=$(abspath $(WASM_DIR)) \
	$$(command -v taskset >/dev/null && echo taskset -c 1) node bench/tenants.mjs

## The book in docs/, built into docs/book/ with mdBook (installed from
## crates.io when missing; that compiles for a few minutes). Not part of
## `make test`. Pages link the benchmark results as ../bench/results/, which
## works in the repository; the built book gets a copy beside its pages (and
## mdBook's .md-to-.html rewrite of table.md is undone).
docs:
	@command -v mdbook >/dev/null || env -u CARGO_TARGET_DIR cargo install mdbook --locked
	mdbook build docs
	mkdir -p docs/book/bench
	cp -R bench/results docs/book/bench/
	sed -i -e 's#"\.\./bench/results/#"bench/results/#g' \
		-e 's#"bench/results/table\.html"#"bench/results/table.md"#g' docs/book/*.html

clean:
	rm -rf build data

# Views in JavaScript and Python: their tool chains, builds and unit tests
# (views-setup, views, views-test). Last, so `serve` stays the default goal.
include plugins/views.mk
