# FlexGate — quick start: `make run`, `make test`.
BUILD_DIR  ?= build
TEST_DIR   ?= build-test
JOBS       ?= $(shell nproc)
SAN_JOBS   ?= 2
CMAKE_GEN  := -G Ninja

.PHONY: all deps build run test test-asan test-tsan bench overload fuzz clean

all: build

deps:
	@bash scripts/install-deps.sh

# Release build; the binary is $(BUILD_DIR)/flexgate.
build: deps
	@cmake -S . -B $(BUILD_DIR) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=Release -DFLEXGATE_TESTS=OFF >/dev/null
	@cmake --build $(BUILD_DIR) --target flexgate -j $(JOBS)

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

# Every libFuzzer target for FUZZ_SECONDS each (default 60), clang-14 with ASan+UBSan.
fuzz:
	@bash scripts/install-deps.sh --fuzz
	@CC=clang-14 CXX=clang++-14 cmake -S . -B build-fuzz $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DFLEXGATE_FUZZ=ON -DFLEXGATE_TESTS=OFF >/dev/null
	@cmake --build build-fuzz -j $(JOBS)
	@bash scripts/run-fuzzers.sh

bench: build
	@bash scripts/install-deps.sh --bench
	@FLEXGATE_BIN=$(BUILD_DIR)/flexgate bash bench/run.sh

# A 10x overload of a gateway with maxInFlight: shedding order by priority and peak memory.
overload: build
	@bash scripts/install-deps.sh --bench
	@FLEXGATE_BIN=$(BUILD_DIR)/flexgate bash bench/overload.sh

clean:
	rm -rf $(BUILD_DIR) $(TEST_DIR) build-fuzz
