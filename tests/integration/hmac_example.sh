#!/usr/bin/env bash
# Sends one HMAC-signed request to a local FlexGate, signed exactly as docs/auth.md documents, and
# prints the HTTP status. The signature is computed with the openssl CLI only (no FlexGate code), so
# a pass proves the documented recipe and the gateway agree.
#
#   hmac_example.sh PORT KEY SECRET [METHOD] [TARGET] [BODY]
#     METHOD  default GET
#     TARGET  path and optional query, as sent (default /api/hello?name=flexgate). Use a normalized
#             path: no "." or ".." segments, no "//", no %XX for unreserved characters.
#     BODY    default empty; sent as-is (curl --data-binary) when not empty
#   Environment: HOST (default 127.0.0.1), TIMESTAMP (default now, unix seconds),
#                KEY_HEADER / TIMESTAMP_HEADER / SIGNATURE_HEADER (defaults X-API-Key / X-Timestamp / X-Signature)
set -euo pipefail

if [[ $# -lt 3 || $# -gt 6 ]]; then
  echo "usage: $0 PORT KEY SECRET [METHOD] [TARGET] [BODY]" >&2
  exit 2
fi
port=$1 key=$2 secret=$3
method=${4:-GET}
target=${5:-/api/hello?name=flexgate}
body=${6:-}
host=${HOST:-127.0.0.1}
timestamp=${TIMESTAMP:-$(date +%s)}

path=${target%%\?*}
query=""
if [[ $target == *\?* ]]; then query=${target#*\?}; fi

# hex(SHA-256(body)); printf '%s' adds no newline.
body_sha256=$(printf '%s' "$body" | openssl dgst -sha256 -r | cut -d' ' -f1)
# METHOD \n PATH \n QUERY \n TIMESTAMP \n BODY-SHA256, no trailing newline, piped straight into
# openssl (a $(...) capture would not matter here, but a pipe keeps the bytes obvious).
signature=$(printf '%s\n%s\n%s\n%s\n%s' "$method" "$path" "$query" "$timestamp" "$body_sha256" |
  openssl dgst -sha256 -hmac "$secret" -r | cut -d' ' -f1)

args=(-s -o /dev/null -w '%{http_code}\n' --path-as-is -X "$method"
  -H "${KEY_HEADER:-X-API-Key}: $key"
  -H "${TIMESTAMP_HEADER:-X-Timestamp}: $timestamp"
  -H "${SIGNATURE_HEADER:-X-Signature}: $signature")
if [[ -n $body ]]; then args+=(-H 'Content-Type: application/json' --data-binary "$body"); fi
curl "${args[@]}" "http://$host:$port$target"
