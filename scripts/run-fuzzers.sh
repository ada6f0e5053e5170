#!/usr/bin/env bash
# Runs every libFuzzer target in build-fuzz/fuzz for a bounded time (`make fuzz`).
#   FUZZ_SECONDS  seconds per target (default 60)
# Each target starts from its checked-in seed corpus (fuzz/corpus/<name>/, copied so the repo is
# not modified) and the HTTP dictionary. A crash fails the run; the reproducer is left in
# build-fuzz/crashes/ for minimizing into a regression unit test.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${FUZZ_BUILD:-$ROOT/build-fuzz}
SECONDS_PER_TARGET=${FUZZ_SECONDS:-60}
mkdir -p "$BUILD/crashes" "$BUILD/corpus"

# Target name -> seed corpus folder.
declare -A CORPUS=([request_parser_fuzz]=request [response_parser_fuzz]=response [chunked_fuzz]=chunked
                   [router_fuzz]=router [config_fuzz]=config)
status=0
for target in "$BUILD"/fuzz/*_fuzz; do
  name=$(basename "$target")
  seeds=${CORPUS[$name]:-${name%_fuzz}}
  work="$BUILD/corpus/$name"
  mkdir -p "$work"
  [[ -d "$ROOT/fuzz/corpus/$seeds" ]] && cp -n "$ROOT/fuzz/corpus/$seeds"/* "$work"/ 2>/dev/null || true
  dict=()
  [[ $name == *parser* || $name == chunked_fuzz || $name == router_fuzz ]] && dict=(-dict="$ROOT/fuzz/http.dict")
  echo "== $name: ${SECONDS_PER_TARGET}s"
  if ! "$target" "${dict[@]}" -max_total_time="$SECONDS_PER_TARGET" -print_final_stats=1 \
      -artifact_prefix="$BUILD/crashes/$name-" "$work" 2>"$BUILD/$name.log"; then
    echo "!! $name found a crash (see $BUILD/$name.log and $BUILD/crashes/)"
    status=1
  fi
  grep -E '^stat::number_of_executed_units|^stat::peak_rss_mb' "$BUILD/$name.log" || true
done
exit $status
