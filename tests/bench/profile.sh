#!/usr/bin/env bash
# `make bench-profile`: where the time of one no-tap decision goes, from perf
# samples (not a pass/fail test; figures for BENCHMARKS.md's profile section).
#
# Builds the agent, pam_mfa.so and pam-mfa-bench with frame pointers and line
# tables (target/profile, apart from the release build), then:
# - samples the whole machine while pam-mfa-bench runs only its "agent
#   decision, 1 client thread" row, and divides the agent's samples under each
#   stage by the decisions made: CPU microseconds per decision;
# - samples pam-mfa-bench (DWARF call graphs, for libpam's and libc's frames)
#   while it runs only the "pam_mfa.so, fresh handle" row, and divides the
#   samples under pam_authenticate by the calls made.
# A stage's figure includes the stages it calls; the agent's total includes
# the moments its threads watch the socket awake between connections.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
[ "$(id -u)" = 0 ] || { echo "bench-profile: run as root (perf -a, PAM modules)" >&2; exit 1; }
CARGO=${CARGO:-cargo}
# Debian names perf's package linux-perf; elsewhere, install perf first.
command -v perf >/dev/null || apt-get install -y -q --no-install-recommends linux-perf >&2 ||
  { echo "bench-profile: perf is not installed" >&2; exit 1; }
SECONDS_PER=${PROFILE_SECONDS:-4}
FREQ=${PROFILE_FREQ:-4999}
T=$ROOT/target/profile
export CARGO_PROFILE_RELEASE_DEBUG=line-tables-only RUSTFLAGS="-C force-frame-pointers=yes"
"$CARGO" build -q --release --target-dir "$T" -p mfa-agent --bin mfa-agent >&2
"$CARGO" build -q --release --target-dir "$T" -p pam_mfa >&2
"$CARGO" build -q --release --target-dir "$T" -p pam-mfa-e2e --bin pam-mfa-bench >&2
BIN=$T/release
OUT=$(mktemp -d /tmp/pam-mfa-profile.XXXXXX)
trap 'rm -rf "$OUT"' EXIT
# The bench's command line for one row (perf runs it: no shell function).
bench() {
  echo "$BIN/pam-mfa-bench" --bin-dir "$BIN" --bundle config/examples/bundle.yaml \
    --only "$1" --seconds "$SECONDS_PER"
}

# Prints "| stage | µs |" for each "pattern=label" argument: the samples of
# the perf script output on stdin whose call chain holds the pattern (`*`:
# every sample; `a&b`: both a and b), as CPU microseconds per operation
# ($runs operations, $FREQ samples a second).
stages() {
  local runs=$1
  shift
  awk -v runs="$runs" -v freq="$FREQ" -v spec="$(printf '%s\n' "$@")" '
    BEGIN { RS = ""; n = split(spec, lines, "\n")
            for (i = 1; i <= n; i++) { eq = index(lines[i], "=")
              pat[i] = substr(lines[i], 1, eq - 1); label[i] = substr(lines[i], eq + 1) } }
    function holds(p,   parts, k, m) {
      if (p == "*") return 1
      m = split(p, parts, "&")
      for (k = 1; k <= m; k++) if (!index($0, parts[k])) return 0
      return 1 }
    { for (i = 1; i <= n; i++) if (holds(pat[i])) hits[i]++ }
    END { for (i = 1; i <= n; i++)
            printf "| %s | %.2f |\n", label[i], hits[i] * 1e6 / freq / runs }'
}

perf record -q -F "$FREQ" -a -g -o "$OUT/agent.data" -- $(bench agent) >"$OUT/agent.ran" 2>/dev/null
read -r _ runs _ pid <"$OUT/agent.ran"
echo "#### The agent: CPU time per decision ($runs decisions, 1 client thread)"
echo
echo "| stage (with what it calls) | µs per decision |"
echo "|---|---|"
perf script -i "$OUT/agent.data" --pid "$pid" -F pid,ip,sym 2>/dev/null | stages "$runs" \
  "*=all of the agent's threads" \
  "accept4=accept" \
  "pool::serve_guarded=serving the connection (everything below)" \
  "serve_guarded&getsockopt=its credentials and pidfd (SO_PEERCRED, SO_PEERPIDFD)" \
  "person::at_accept_pinned=who the peer is (pidfd, loginuid, ancestors)" \
  "FrameInbox::read_frame=the request read (spin, wait, decode)" \
  "frame::decode=of which its JSON decoded" \
  "login::flow::handle_begin=the decision (handle_begin)" \
  "state::staleness=of which the policy's freshness" \
  "login::required::required=of which what the policy requires" \
  "policy::decide::decide_for_user=of which the user's roles applied and judged" \
  "AgentState::audit=of which the audit line (JSON, write)" \
  "frame::write_frame=the answer written" \
  "__close=descriptors closed (socket, pidfds, /proc files)"
echo

perf record -q -F "$FREQ" --call-graph dwarf,16384 -o "$OUT/module.data" -- $(bench module) >"$OUT/module.ran" 2>/dev/null
read -r _ runs _ <"$OUT/module.ran"
echo "#### pam_mfa.so: time per pam_authenticate, fresh handle ($runs calls)"
echo
echo "The bench process's own samples (the agent runs meanwhile on the other core)."
echo
echo "| stage (with what it calls) | µs per call |"
echo "|---|---|"
perf script -i "$OUT/module.data" -F ip,sym 2>/dev/null | stages "$runs" \
  "pam_authenticate=pam_authenticate (everything below)" \
  "pam_sm_authenticate=pam_mfa.so's pam_sm_authenticate" \
  "pam_sm_authenticate&asm_exc_page_fault=of which first touches of the freshly mapped module (page faults)" \
  "ffi::argv::collect=module arguments read" \
  "args::Config::parse=module arguments parsed" \
  "context::gather=PAM items and environment gathered" \
  "flow::open=connected, socket owner and peer checked" \
  "frame::write_frame=the request written" \
  "FrameInbox::read_frame=the answer awaited and decoded"
