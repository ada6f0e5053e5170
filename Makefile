# FlexGate — quick start: `make run`, `make test`.
BUILD_DIR  ?= build
TEST_DIR   ?= build-test
JOBS       ?= $(shell nproc)
SAN_JOBS   ?= 2
CMAKE_GEN  := -G Ninja

.PHONY: all deps build run test test-asan test-tsan tidy tidy-all bench bench-micro bench-protocols overload soak fuzz fuzz-build fuzz-ci clean

all: build

deps:
	@bash scripts/install-deps.sh

# Release build; the binary is $(BUILD_DIR)/flexgate.
# Profile-guided (an instrumented build and a training run first); PGO=0 builds without a profile.
PGO ?= 1
build: deps
	@BUILD_DIR=$(BUILD_DIR) JOBS=$(JOBS) PGO=$(PGO) CMAKE_GEN="$(CMAKE_GEN)" bash scripts/build-release.sh

run: build
	@FLEXGATE_BIN=$(BUILD_DIR)/flexgate bash scripts/run-demo.sh

# Every test (unit, conformance, integration) against a warnings-as-errors build.
test: deps
	@cmake -S . -B $(TEST_DIR) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFLEXGATE_TESTS=ON -DFLEXGATE_WERROR=ON >/dev/null
	@cmake --build $(TEST_DIR) -j $(JOBS)
	@cd $(TEST_DIR) && ctest --output-on-failure -j $(JOBS) --timeout 300

# Every test against an ASan+UBSan(+LSan) build in build-asan; reports in the spawned gateway fail the run too.
test-asan: deps
	@JOBS=$(SAN_JOBS) bash scripts/run-sanitized-tests.sh asan

# Cross-worker unit tests (ratelimit, auth, metrics, net, upstream) + integration tests under TSan, build-tsan.
test-tsan: deps
	@JOBS=$(SAN_JOBS) bash scripts/run-sanitized-tests.sh tsan

# clang-tidy 14 with the checked-in .clang-tidy (scripts/tidy.sh); any finding fails. `make tidy`:
# the .cc files under src/ and tests/ changed since TIDY_BASE (default: the merge-base with
# origin/main when there is one, else HEAD~1; uncommitted changes count), `make tidy-all`: every
# one. The compile database is a clang-14 configure of build-tidy (nothing is compiled).
TIDY_BASE ?=
tidy:
	@bash scripts/install-deps.sh --tidy
	@TIDY_BASE="$(TIDY_BASE)" JOBS=$(JOBS) bash scripts/tidy.sh

tidy-all:
	@bash scripts/install-deps.sh --tidy
	@JOBS=$(JOBS) bash scripts/tidy.sh --all

# Every libFuzzer target for FUZZ_SECONDS each (default 60), clang-14 with ASan+UBSan. Only the
# libraries the fuzzers link are built (target `fuzzers`), not the application or the tests.
FUZZ_SECONDS ?= 60
fuzz-build:
	@bash scripts/install-deps.sh --fuzz
	@CC=clang-14 CXX=clang++-14 cmake -S . -B build-fuzz $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DFLEXGATE_FUZZ=ON -DFLEXGATE_TESTS=OFF >/dev/null
	@cmake --build build-fuzz --target fuzzers -j $(JOBS)

fuzz: fuzz-build
	@FUZZ_SECONDS=$(FUZZ_SECONDS) bash scripts/run-fuzzers.sh

# CI: every target for 30 s, so a regression that the seeds or a short run reach fails the build.
fuzz-ci: fuzz-build
	@FUZZ_SECONDS=30 bash scripts/run-fuzzers.sh

# MICRO=0 skips the micro-benchmarks (bench-micro) that follow the proxy comparison; PROTOCOLS=0
# skips the TLS and HTTP/2 comparison (bench-protocols).
MICRO ?= 1
PROTOCOLS ?= 1
bench: build
	@bash scripts/install-deps.sh --bench
	@FLEXGATE_BIN=$(BUILD_DIR)/flexgate bash bench/run.sh
	@if [ "$(PROTOCOLS)" != 0 ]; then FLEXGATE_BIN=$(BUILD_DIR)/flexgate bash bench/protocols.sh; fi
	@if [ "$(MICRO)" != 0 ]; then $(MAKE) --no-print-directory bench-micro; fi

# FlexGate, nginx and HAProxy terminating TLS 1.3 and HTTP/2 (h2 by ALPN, h2c): HTTPS keep-alive GETs,
# resumed and full handshakes, h2load over h2 and h2c; bench/results/protocols.md.
bench-protocols: build
	@bash scripts/install-deps.sh --bench
	@FLEXGATE_BIN=$(BUILD_DIR)/flexgate bash bench/protocols.sh

# Google Benchmark micro-benchmarks (bench/micro/*_bench.cc) in a Release build of their own:
# a compact rate table, bench/results/micro.json and micro.md. MICRO_MIN_TIME: seconds per case
# (0.2: the ~30 cases take under a minute, plus the build).
MICRO_DIR      ?= build-micro
MICRO_MIN_TIME ?= 0.2
bench-micro: deps
	@cmake -S . -B $(MICRO_DIR) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=Release -DFLEXGATE_TESTS=OFF -DFLEXGATE_BENCH=ON >/dev/null
	@cmake --build $(MICRO_DIR) --target flexgate_micro_benches -j $(JOBS)
	@python3 bench/micro/run_all.py --bin-dir $(MICRO_DIR)/bench/micro --out-dir bench/results \
	  --min-time $(MICRO_MIN_TIME)

# A 10x overload of a gateway with maxInFlight: shedding order by priority and peak memory.
overload: build
	@bash scripts/install-deps.sh --bench
	@FLEXGATE_BIN=$(BUILD_DIR)/flexgate bash bench/overload.sh

# A bounded soak (SOAK_SECONDS, default 600) of the release binary: mixed traffic and periodic
# faults, RSS and fd count sampled into build/soak/soak.csv, flat or not. Not part of `make test`.
soak: build
	@FLEXGATE_BIN=$(BUILD_DIR)/flexgate bash scripts/soak.sh

clean:
	rm -rf $(BUILD_DIR) $(BUILD_DIR)-pgo $(TEST_DIR) build-fuzz build-tidy
