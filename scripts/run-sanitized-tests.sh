#!/usr/bin/env bash
# Builds FlexGate with a sanitizer and runs the tests against that build.
#
#   scripts/run-sanitized-tests.sh asan   # ASan+UBSan(+LSan), build-asan, every test (unit+conformance+integration)
#   scripts/run-sanitized-tests.sh tsan   # TSan, build-tsan, cross-worker unit tests + integration tests
#
# Environment:
#   JOBS=2                 parallel build / ctest jobs
#   SAN_CC / SAN_CXX       compiler (default gcc / g++, i.e. g++ 12)
#   TSAN_ALL=1             tsan: build and run every test, not only the cross-worker subset
#   CTEST_ARGS="-R Foo"    extra ctest arguments (e.g. to rerun one test)
#
# Integration tests spawn the real (sanitized) flexgate binary and SIGKILL it at the end of a
# test, and they unlink its stderr: a report in the child would otherwise be lost, or show up
# only as an unrelated assertion. So every sanitizer writes its reports to files
# (log_path=<build>/sanitizer-logs/<kind>.<pid>) and, besides the ctest result, the run fails
# when any report file exists; the reports are printed at the end. halt_on_error/abort_on_error
# make the first report end the process, so a test that triggers one also fails by itself.
set -uo pipefail

mode="${1:-}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
jobs="${JOBS:-2}"
supp_dir="$root/tests/sanitizers"

case "$mode" in
  asan)
    build_dir="$root/build-asan"
    cmake_opts=(-DFLEXGATE_SANITIZE=ON -DFLEXGATE_TSAN=OFF -DFLEXGATE_WERROR=ON)
    targets=(all)
    ctest_filter=()
    ;;
  tsan)
    build_dir="$root/build-tsan"
    cmake_opts=(-DFLEXGATE_TSAN=ON -DFLEXGATE_SANITIZE=OFF -DFLEXGATE_WERROR=ON)
    if [[ "${TSAN_ALL:-0}" == 1 ]]; then
      targets=(all)
    else
      # State shared between worker threads: token buckets, the auth replay cache, metrics,
      # the worker pool itself; plus the gateway binary driven by the integration tests.
      targets=(flexgate unit_ratelimit_tests unit_auth_tests unit_observe_tests unit_net_tests
               unit_upstream_tests integration_tests)
    fi
    # Test executables that were deliberately not built register a *_NOT_BUILT placeholder.
    ctest_filter=(-E '_NOT_BUILT$')
    ;;
  *)
    echo "usage: $0 asan|tsan" >&2
    exit 2
    ;;
esac

export CC="${SAN_CC:-gcc}" CXX="${SAN_CXX:-g++}"
log_dir="$build_dir/sanitizer-logs"

start=$(date +%s)
echo "== [$mode] configure $build_dir ($CXX)"
cmake -S "$root" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFLEXGATE_TESTS=ON \
  -DFLEXGATE_FUZZ=OFF -DFLEXGATE_BENCH=OFF "${cmake_opts[@]}" >/dev/null || exit 1
echo "== [$mode] build (${targets[*]}) -j $jobs"
cmake --build "$build_dir" -j "$jobs" --target "${targets[@]}" || exit 1
built=$(date +%s)

rm -rf "$log_dir" && mkdir -p "$log_dir"
ulimit -c 0  # abort_on_error=1 must not litter core files
if [[ "$mode" == asan ]]; then
  # ASan, UBSan and LSan share one runtime and the last options parsed win for common flags such
  # as log_path, so all three name the same file prefix.
  export ASAN_OPTIONS="halt_on_error=1:abort_on_error=1:detect_leaks=1:detect_stack_use_after_return=1:strict_init_order=1:check_initialization_order=1:log_path=$log_dir/report"
  export UBSAN_OPTIONS="halt_on_error=1:abort_on_error=1:print_stacktrace=1:log_path=$log_dir/report"
  export LSAN_OPTIONS="log_path=$log_dir/report"
  # ASan frames are several times larger than uninstrumented ones. std::regex recurses once per
  # subject character, and kMaxRegexSubjectBytes (policy/validate/route_validator.h) is sized for
  # an 8 MiB thread stack with uninstrumented frames: under ASan the 4 KiB subject of
  # RouteValidatorSchema.RegexAtTheSubjectLimitFitsTheStack overflows 8 MiB. Threads get
  # RLIMIT_STACK as their default stack size, so give them 4x (the plain `make test` still checks 8 MiB).
  ulimit -s 32768 2>/dev/null || echo "warning: could not raise the stack limit to 32 MiB" >&2
  [[ -f "$supp_dir/lsan.supp" ]] && LSAN_OPTIONS+=":suppressions=$supp_dir/lsan.supp"
  [[ -f "$supp_dir/ubsan.supp" ]] && UBSAN_OPTIONS+=":suppressions=$supp_dir/ubsan.supp"
else
  export TSAN_OPTIONS="halt_on_error=1:abort_on_error=1:second_deadlock_stack=1:history_size=4:log_path=$log_dir/report"
  [[ -f "$supp_dir/tsan.supp" ]] && TSAN_OPTIONS+=":suppressions=$supp_dir/tsan.supp"
fi

echo "== [$mode] ctest -j $jobs"
# shellcheck disable=SC2086
(cd "$build_dir" && ctest --output-on-failure -j "$jobs" --timeout 600 "${ctest_filter[@]}" ${CTEST_ARGS:-})
ctest_rc=$?
done_at=$(date +%s)

reports=("$log_dir"/*)
status=$ctest_rc
if [[ -e "${reports[0]}" ]]; then
  echo
  echo "== [$mode] ${#reports[@]} sanitizer report(s) in $log_dir:"
  for report in "${reports[@]}"; do
    echo "---- $report"
    cat "$report"
  done
  status=1
fi
echo "== [$mode] build $((built - start))s, tests $((done_at - built))s; ctest exit $ctest_rc, sanitizer reports: $([[ -e "${reports[0]}" ]] && echo "${#reports[@]}" || echo 0)"
exit $status
