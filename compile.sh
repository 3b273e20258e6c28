#!/usr/bin/env bash
# Builds the single altnet executable for Linux with `deno compile`:
#   dist/altnet-x86_64-linux    (x86_64 PCs and servers)
#   dist/altnet-aarch64-linux   (Raspberry Pi OS 64-bit, ARM servers)
#
# Usage: ./compile.sh [x86_64] [aarch64]      (default: both)
#
# `deno compile` downloads the matching runtime (denort) from dl.deno.land.
# Offline, point DENORT_BIN at a denort binary for ONE target and name that
# target: DENORT_BIN=/path/to/denort-aarch64 ./compile.sh aarch64
set -euo pipefail
cd "$(dirname "$0")"

# Only what altnet needs: sockets and HTTP (net), identity, state and the files
# it sends and receives (read, write), XDG_CONFIG_HOME / ALTNET_* (env), and the
# local interface addresses it offers as direct-path candidates (sys).
PERMISSIONS=(
  --allow-net
  --allow-read
  --allow-write
  --allow-env
  --allow-sys=networkInterfaces,hostname
  --unstable-net
)

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  if [ -n "${DENORT_BIN:-}" ]; then
    echo "compile.sh: with DENORT_BIN set, name its target: ./compile.sh x86_64 or ./compile.sh aarch64" >&2
    exit 2
  fi
  targets=(x86_64 aarch64)
fi
if [ -n "${DENORT_BIN:-}" ] && [ ! -x "${DENORT_BIN}" ]; then
  echo "compile.sh: DENORT_BIN is not an executable file: ${DENORT_BIN}" >&2
  exit 1
fi

mkdir -p dist
for arch in "${targets[@]}"; do
  case "$arch" in
    x86_64 | aarch64) ;;
    *)
      echo "compile.sh: unknown target: $arch (expected x86_64 or aarch64)" >&2
      exit 2
      ;;
  esac
  out="dist/altnet-${arch}-linux"
  log=$(mktemp)
  if deno compile --quiet "${PERMISSIONS[@]}" --target "${arch}-unknown-linux-gnu" \
    --output "$out" main.ts >"$log" 2>&1; then
    rm -f "$log"
    echo "compile.sh: built $out"
  else
    if grep -qiE 'dl\.deno\.land|error sending request|dns error|download' "$log"; then
      echo "compile.sh: cannot download the Deno runtime for ${arch} (no access to dl.deno.land); set DENORT_BIN to a local denort binary and run ./compile.sh ${arch}" >&2
    else
      echo "compile.sh: deno compile failed for ${arch}: $(grep -m1 -iE 'error' "$log" || head -1 "$log")" >&2
    fi
    rm -f "$log"
    exit 1
  fi
done
