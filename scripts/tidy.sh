#!/usr/bin/env bash
# clang-tidy 14 with the checked-in .clang-tidy over FlexGate's own .cc files (src/ and tests/).
# Any finding fails the run (WarningsAsErrors: '*').
#
#   scripts/tidy.sh              # the .cc files changed since TIDY_BASE (`make tidy`)
#   scripts/tidy.sh --all        # every .cc file under src/ and tests/ (`make tidy-all`)
#   scripts/tidy.sh FILE...      # just these files
#
# Environment:
#   TIDY_BASE=<rev>   what `make tidy` compares with (committed, staged, unstaged and untracked
#                     changes all count). Default: `git merge-base HEAD origin/main` when origin/main
#                     exists, else HEAD~1. A base that does not resolve (a shallow clone) means
#                     every file.
#   JOBS=N            clang-tidy processes in parallel (default: nproc)
#   TIDY_BUILD_DIR    the compile database's build dir (default: build-tidy)
#   CLANG_TIDY        the binary (default: clang-tidy-14)
#
# A changed src/ header is checked through its .cc pair (src/x/y.h -> src/x/y.cc), since clang-tidy
# only sees a header through a file that includes it.
#
# The compile database comes from a clang-14 configure of build-tidy (nothing is compiled: the
# only generated headers are the gRPC tests', left out), so the flags clang-tidy parses are the
# ones clang itself accepts. Asio 1.22 only detects coroutine support on clang with libc++, so the
# same two macros as the fuzz build (FLEXGATE_FUZZ in CMakeLists.txt) enable it with libstdc++'s
# <coroutine>.
set -uo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
jobs="${JOBS:-$(nproc)}"
build_dir="${TIDY_BUILD_DIR:-build-tidy}"
clang_tidy="${CLANG_TIDY:-clang-tidy-14}"

if ! command -v "$clang_tidy" >/dev/null; then
  echo "tidy: $clang_tidy not found (scripts/install-deps.sh --tidy installs it)" >&2
  exit 2
fi

# clang-tidy 14 splits the Checks list on commas only: a line without its comma silently swallows
# the next entry (an exclusion then stops excluding). See the top of .clang-tidy.
for config in .clang-tidy tests/.clang-tidy; do
  [[ -f "$config" ]] || continue
  bad="$(awk '/^Checks:/ {inside = 1; next} /^[^ ]/ {inside = 0} inside && NF && $0 !~ /,[ \t]*$/' "$config")"
  if [[ -n "$bad" ]]; then
    printf 'tidy: %s: every line of the Checks list must end with a comma:\n%s\n' "$config" "$bad" >&2
    exit 2
  fi
done

# --- The compile database -------------------------------------------------------------------
# The gRPC tests are left out: they include headers protoc generates at build time.
CC=clang-14 CXX=clang++-14 cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Debug \
  -DFLEXGATE_TESTS=ON -DFLEXGATE_BENCH=OFF -DFLEXGATE_FUZZ=OFF -DFLEXGATE_WERROR=OFF -DFLEXGATE_GRPC_TESTS=OFF \
  -DCMAKE_EXPORT_COMPILE_COMMANDS=ON \
  "-DCMAKE_CXX_FLAGS=-DASIO_HAS_CO_AWAIT=1 -DASIO_HAS_STD_COROUTINE=1" >/dev/null || {
  echo "tidy: configuring $build_dir failed" >&2
  exit 2
}
database="$build_dir/compile_commands.json"

# Every .cc under src/ and tests/ that the database knows (repository-relative, sorted).
known_files() {
  python3 - "$database" "$root" <<'EOF'
import json, os, sys
database, root = sys.argv[1], sys.argv[2]
files = set()
for entry in json.load(open(database)):
    path = os.path.relpath(os.path.join(entry["directory"], entry["file"]), root)
    if path.endswith(".cc") and path.split(os.sep)[0] in ("src", "tests"):
        files.add(path)
print("\n".join(sorted(files)))
EOF
}

# --- Which files ----------------------------------------------------------------------------
mode=changed
if [[ "${1:-}" == "--all" ]]; then
  mode=all
  shift
elif [[ $# -gt 0 ]]; then
  mode=given
fi

mapfile -t known < <(known_files)
files=()
case "$mode" in
  all)
    files=("${known[@]}")
    echo "== tidy: all ${#files[@]} files"
    ;;
  given)
    files=("$@")
    ;;
  changed)
    if [[ -n "${TIDY_BASE:-}" ]]; then
      base="$TIDY_BASE"
    elif git rev-parse -q --verify origin/main >/dev/null 2>&1; then
      base="$(git merge-base HEAD origin/main 2>/dev/null || echo origin/main)"
    else
      base=HEAD~1
    fi
    if ! git rev-parse -q --verify "$base^{commit}" >/dev/null 2>&1; then
      echo "== tidy: base '$base' does not resolve (shallow clone?): checking every file"
      files=("${known[@]}")
    else
      declare -A is_known=()
      for f in "${known[@]}"; do is_known[$f]=1; done
      declare -A picked=()
      while IFS= read -r f; do
        [[ "$f" == src/*.h ]] && f="${f%.h}.cc"
        [[ -n "${is_known[$f]:-}" ]] && picked[$f]=1
      done < <(git diff --name-only --diff-filter=ACMR "$base" -- src tests
               git ls-files --others --exclude-standard -- src tests)
      mapfile -t files < <(printf '%s\n' "${!picked[@]}" | sed '/^$/d' | sort)
      echo "== tidy: ${#files[@]} file(s) changed since $(git rev-parse --short "$base") ($base)"
    fi
    ;;
esac
if [[ ${#files[@]} -eq 0 ]]; then
  echo "== tidy: nothing to check"
  exit 0
fi

# --- Run ------------------------------------------------------------------------------------
out_dir="$(mktemp -d)"
trap 'rm -rf "$out_dir"' EXIT
export clang_tidy build_dir out_dir
start=$(date +%s)
# One clang-tidy per file, JOBS at a time; each file's output is printed whole when it is done.
printf '%s\0' "${files[@]}" | xargs -0 -P "$jobs" -I{} bash -c '
  f="$1"
  log="$out_dir/$(echo "$f" | tr / _).log"
  if "$clang_tidy" -p "$build_dir" --quiet "$f" >"$log" 2>&1; then
    echo "ok    $f"
  else
    echo "FAIL  $f"
    grep -v "warnings\? generated\.$" "$log"
    touch "$log.failed"
  fi
' _ {}
elapsed=$(( $(date +%s) - start ))

failed=$(find "$out_dir" -name '*.failed' | wc -l)
if [[ "$failed" -gt 0 ]]; then
  echo
  echo "== tidy: findings (each once, also when a header was reached from several files):"
  cat "$out_dir"/*.log | grep -E '^[^ ].*:[0-9]+:[0-9]+: (error|warning): ' | sort -u
  echo "== tidy: $failed of ${#files[@]} file(s) failed in ${elapsed} s (JOBS=$jobs)"
  exit 1
fi
echo "== tidy: ${#files[@]} file(s) clean in ${elapsed} s (JOBS=$jobs)"
