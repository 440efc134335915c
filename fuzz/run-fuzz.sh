#!/usr/bin/env bash
# pam-mfa's fuzz targets (see FUZZING.md).
#
#   fuzz/run-fuzz.sh smoke            build every target, run each a few seconds
#                                     on its seeds (make test; CI)
#   fuzz/run-fuzz.sh campaign [T...]  run each target (all, or the named ones)
#                                     one after another for FUZZ_SECONDS
#                                     (default 1800), corpus kept in
#                                     fuzz/corpus/, logs in fuzz/logs/ (make fuzz)
#
# Targets run one at a time (libFuzzer's single job): the machine has 2 cores;
# `make fuzz` runs the campaign under nice -n 19.
# FUZZ_SANITIZER (default none: every target is safe Rust over safe-Rust
# dependencies, and a crash, a hang, an overflow or an OOM is what is looked
# for; `address` adds ASan at about twice the build time).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
TOOLCHAIN=${FUZZ_TOOLCHAIN:-nightly}
SANITIZER=${FUZZ_SANITIZER:-none}
CARGO_FUZZ_VERSION=0.13.2
# libFuzzer limits: a hang is 10 s on one input, memory above 2 GiB is an OOM.
LIMITS=(-timeout=10 -rss_limit_mb=2048 -print_final_stats=1)

need_tools() {
  # Captured first: under pipefail, `grep -q` closing the pipe early could
  # fail the pipeline (SIGPIPE) and reinstall or refuse for nothing.
  local have toolchains
  have=$(cargo-fuzz --version 2>/dev/null || true)
  if [ "$have" != "cargo-fuzz $CARGO_FUZZ_VERSION" ]; then
    cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked
  fi
  toolchains=$(rustup toolchain list)
  grep -q "^$TOOLCHAIN" <<<"$toolchains" \
    || { echo "fuzz: the $TOOLCHAIN toolchain is missing (rustup toolchain install $TOOLCHAIN)" >&2; exit 1; }
}

fuzz() { (cd fuzz && cargo "+$TOOLCHAIN" fuzz "$@"); }

targets() { fuzz list --fuzz-dir .; }

# The campaign uses an optimised build; the smoke a debug one (`--dev`),
# which compiles in a fraction of the time and runs fast enough for seconds.
PROFILE=()

build() { fuzz build --fuzz-dir . --sanitizer "$SANITIZER" "${PROFILE[@]}"; }

run() { # target, corpus dir, libFuzzer options...
  local t=$1 corpus=$2
  shift 2
  fuzz run --fuzz-dir . --sanitizer "$SANITIZER" "${PROFILE[@]}" "$t" "$corpus" "seeds/$t" \
    -- "${LIMITS[@]}" "$@"
}

smoke() {
  local tmp t
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' RETURN
  for t in $(targets); do
    mkdir -p "$tmp/$t"
    echo "fuzz smoke: $t" >&2
    run "$t" "$tmp/$t" -runs="${FUZZ_SMOKE_RUNS:-20000}" -max_total_time="${FUZZ_SMOKE_SECONDS:-5}" \
      > "$tmp/$t.log" 2>&1 || { tail -40 "$tmp/$t.log" >&2; echo "fuzz smoke: $t FAILED" >&2; return 1; }
    grep -E '^stat::number_of_executed_units' "$tmp/$t.log" >&2 || true
  done
  echo "fuzz smoke: every target built and ran" >&2
}

campaign() {
  local t list failed=0
  list=("$@")
  [ ${#list[@]} -gt 0 ] || mapfile -t list < <(targets)
  mkdir -p fuzz/logs
  for t in "${list[@]}"; do
    mkdir -p "fuzz/corpus/$t"
    echo "fuzz campaign: $t for ${FUZZ_SECONDS:-1800} s" >&2
    run "$t" "corpus/$t" -max_total_time="${FUZZ_SECONDS:-1800}" > "fuzz/logs/$t.log" 2>&1 \
      || { failed=1; echo "fuzz campaign: $t STOPPED (see fuzz/logs/$t.log and fuzz/artifacts/$t/)" >&2; }
    grep -E '^(stat::|Done )' "fuzz/logs/$t.log" >&2 || true
  done
  return "$failed"
}

need_tools
case "${1:-smoke}" in
  smoke)
    [ "${FUZZ_SMOKE_PROFILE:-dev}" = release ] || PROFILE=(--dev)
    build
    smoke
    ;;
  campaign) shift; build; campaign "$@" ;;
  *) echo "usage: $0 smoke | campaign [TARGET...]" >&2; exit 2 ;;
esac
