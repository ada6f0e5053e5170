#!/usr/bin/env bash
# Installs the Debian packages FlexGate needs to build and test, skipping those already present.
# Idempotent; needs root (or sudo) only when something is missing.
set -euo pipefail

packages=(
  g++ cmake ninja-build ccache pkg-config make python3 curl openssl
  apache2-utils  # ab: drives the training run of the profile-guided build (scripts/pgo/train.sh)
  libasio-dev libssl-dev libhiredis-dev libyaml-cpp-dev nlohmann-json3-dev libvalijson-dev
  libre2-dev  # RE2: regex path rewrites (linear time, compiled at load)
  libgtest-dev libgmock-dev libbenchmark-dev
  libc-ares-dev dnsmasq-base
  redis-server  # the Redis rate-limit backend is tested against a real server
  prometheus  # promtool: the metrics exposition is checked with `promtool check metrics`
  slowhttptest  # the slowloris / slow-read fault test drives it
  libnghttp2-dev  # HTTP/2 (framing, HPACK, flow control; sans-I/O)
  nghttp2-client  # nghttp / h2load: HTTP/2 clients in the tests and the bench
  libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc  # gRPC test client/server (tests/grpc/)
  nghttp2-server  # nghttpd: the HTTP/2 origin of the upstream h2/h2c integration tests
)
if [[ "${1:-}" == "--bench" ]]; then
  packages+=(wrk nginx haproxy valgrind strace)  # callgrind + strace (and ab): bench/cost.sh
fi
if [[ "${1:-}" == "--fuzz" ]]; then
  packages+=(clang-14 libclang-rt-14-dev libhttp-parser-dev)  # http-parser: the differential fuzz oracle
fi
if [[ "${1:-}" == "--tidy" ]]; then
  packages+=(clang-14 clang-tidy-14)  # clang-14: the compiler of the compile database clang-tidy reads
fi

missing=()
for pkg in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done
if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi

echo "Installing missing packages: ${missing[*]}"
SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
