#!/usr/bin/env bash
# `make build`: the release flexgate binary, profile-guided (PGO) unless PGO=0.
#   1. an instrumented build in BUILD_DIR-pgo (incremental, ccache as usual);
#   2. when that binary changed since the last training, a training run (scripts/pgo/train.sh,
#      about half a minute) writes the profile to BUILD_DIR-pgo/profile;
#   3. the release build in BUILD_DIR compiles with that profile (-fprofile-use); after a new
#      training it is rebuilt from scratch, without ccache (which cannot see the profile change).
# Environment: BUILD_DIR (default build), JOBS (default nproc), PGO (1 or 0), CMAKE_GEN (-G Ninja).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

BUILD_DIR=${BUILD_DIR:-build}
JOBS=${JOBS:-$(nproc)}
PGO=${PGO:-1}
read -r -a GENERATOR <<<"${CMAKE_GEN:--G Ninja}"
release=(-DCMAKE_BUILD_TYPE=Release -DFLEXGATE_TESTS=OFF)

log() { printf '[build] %s\n' "$*" >&2; }

if [[ $PGO == 0 ]]; then
  cmake -S . -B "$BUILD_DIR" "${GENERATOR[@]}" "${release[@]}" -DFLEXGATE_PGO= >/dev/null
  exec cmake --build "$BUILD_DIR" --target flexgate -j "$JOBS"
fi

GEN_DIR=$BUILD_DIR-pgo
PROFILE_DIR=$(realpath -m "$GEN_DIR/profile")
cmake -S . -B "$GEN_DIR" "${GENERATOR[@]}" "${release[@]}" -DFLEXGATE_PGO=generate \
  -DFLEXGATE_PGO_DIR="$PROFILE_DIR" >/dev/null
cmake --build "$GEN_DIR" --target flexgate -j "$JOBS"

# The profile belongs to one instrumented binary: retrain whenever that binary changed.
instrumented=$(sha256sum "$GEN_DIR/flexgate" | cut -d' ' -f1)
retrained=0
if [[ "$(cat "$PROFILE_DIR/trained-from" 2>/dev/null || true)" != "$instrumented" ]]; then
  log "training run for the profile-guided build (PGO=0 skips it)"
  rm -rf "$PROFILE_DIR"
  if ! bash scripts/pgo/train.sh "$GEN_DIR/flexgate"; then
    rm -rf "$PROFILE_DIR"
    log "error: the training run failed; \`make build PGO=0\` builds without a profile"
    exit 1
  fi
  echo "$instrumented" >"$PROFILE_DIR/trained-from"
  retrained=1
fi

cmake -S . -B "$BUILD_DIR" "${GENERATOR[@]}" "${release[@]}" -DFLEXGATE_PGO=use \
  -DFLEXGATE_PGO_DIR="$PROFILE_DIR" >/dev/null
if [[ $retrained == 1 ]]; then
  cmake --build "$BUILD_DIR" --target clean >/dev/null
fi
CCACHE_DISABLE=1 cmake --build "$BUILD_DIR" --target flexgate -j "$JOBS"
