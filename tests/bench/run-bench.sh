#!/usr/bin/env bash
# `make bench`: regenerates BENCHMARKS.md from a release build.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
BIN=${PAM_MFA_BIN_DIR:-$ROOT/target/release}
SECONDS_PER=${BENCH_SECONDS:-1}
[ "$(id -u)" = 0 ] || { echo "bench: run as root (PAM modules and the agent socket)" >&2; exit 1; }
# The "Scale" section; `run-bench.sh --scale-only` prints just this section.
scale_section() {
  echo "## Scale: load, memory and latency against the bundle's size"
  echo
  echo "\`pam-mfa-bench-scale\` writes generated bundles (fixed seed; tests/src/scale_bundle.rs):"
  echo "10,000 roles (dev, prod with per-session MFA, deploy with hardware-key policies,"
  echo "deny rules, SSO trait templates), 100,000 users with 1-3 roles and logins traits,"
  echo "200,000 devices (ed25519-sk and ecdsa-sk keys, WebAuthn credentials) and 1,000"
  echo "locks, then 1/10 and 1/100 of that, each in YAML (as tctl prints it) and in JSON"
  echo "(the publisher's form: an array, one resource a line), and measures each, and the"
  echo "seed example, in a fresh process: loading (read, parse, check, index; wall clock,"
  echo "and the CPU time it used, which a shared machine does not inflate), the index"
  echo "alone (its build time, and the RSS it adds), resident memory, the live heap (a"
  echo "counting allocator: what the program holds, without malloc's per-block overhead),"
  echo "and the latency of one decision for random users on node prod3. \`handle_begin\`"
  echo "is the agent's whole decision for sshd's account hook with the user's registered"
  echo "security key in SSH_AUTH_INFO_0 (audit to /dev/null, no socket);"
  echo "\`lines_for_login\` is what sshd's AuthorizedKeysCommand asks for. The seed"
  echo "example has no devices, so its \`handle_begin\` runs without a key. The last"
  echo "table decides on one thread while another reloads the full JSON bundle."
  echo
  "$BIN/pam-mfa-bench-scale" --seed-bundle config/examples/bundle.yaml
  echo
  echo "Every lookup a decision makes goes through indices built once with the bundle"
  echo "(agent/src/policy/index.rs, by_name.rs, role_positions.rs): no decision walks"
  echo "all the users, devices, roles or locks, and a user's roles are found by"
  echo "position, not by name. The string-keyed indices (key_table.rs) keep no copy of"
  echo "their keys: a position and a locator per key, the key read back from the"
  echo "resources."
  echo
  echo "Loading the publisher's form: the JSON array is cut at a line that starts an"
  echo "element, about half-way (policy/load/parallel.rs); a second thread decodes the"
  echo "tail (each element straight into its resource type, policy/json_stream.rs, and"
  echo "Teleport's defaults applied) while the loading thread reads the head; the"
  echo "tail's resources are then added in bundle order, so duplicates, warnings and"
  echo "the first error (file:line:column) are those of one pass. Any other layout of"
  echo "valid JSON, or a cut inside an element, is read in one pass. The revision's"
  echo "SHA-256 and the index's login candidates are computed on a second thread too"
  echo "(load_support.rs \`beside\`). A large load runs on a thread of its own (the"
  echo "allocator gives it an arena of its own, so the blocks it frees do not slow the"
  echo "deciding threads' allocations), and the free pages are given back after it."
  echo
  echo "The agent allocates with jemalloc (agent/src/heap.rs; this bench counts on top"
  echo "of it). The full bundle is about 1.3 million small allocations, and glibc's"
  echo "malloc adds a header to each and rounds it up: on the same build and bundle,"
  echo "158 MiB RSS after load under glibc against 138 MiB under jemalloc (whose size"
  echo "classes have no header), and the load used 1.6-1.9 s of CPU under glibc against"
  echo "1.3 s (mallinfo2 under glibc: 121 MiB in use in its arenas plus 25 MiB mapped,"
  echo "for 119 MiB of data). mfactl, which sshd starts for each login, keeps glibc's."
  echo "jemalloc runs with oversize_threshold:0 (agent/src/heap.rs): by default it serves"
  echo "allocations of 8 MiB and more from an arena that unmaps their pages the moment"
  echo "they are freed, and each unmap interrupts the other core (a TLB shootdown) where"
  echo "decisions run; deciding during a full reload then measured p99 35-38 µs against"
  echo "13-14 µs at rest (2.4-2.8x, three runs each); with the option 15-22 µs (1.2-1.7x),"
  echo "and the load is faster (0.76 against 0.86 s). Under glibc the same reload"
  echo "measured 1.2-1.3x (p99 16-17 µs at rest)."
  echo
  echo "A large load's threads run at nice 10 (policy/load_support.rs): on two cores"
  echo "the load's three threads and the deciding thread want the CPU at once, and"
  echo "Linux's scheduler now gives the decisions about nine times the loaders' share."
  echo "Four interleaved runs each of the reload child, same build otherwise: p99"
  echo "during the reload 8.4-14.7 µs (1.21-1.87x at rest, mean 1.45x) against"
  echo "8.9-16.6 µs (1.13-2.23x, mean 1.94x); the reload took 1.18-1.34 s against"
  echo "1.01-1.15 s, since it yields the core. A load alone runs at full speed (the"
  echo "load figures above). On a host whose cores other work keeps busy, a large"
  echo "bundle's reload, and so a lock it brings, takes longer: seconds, not"
  echo "minutes; bundles under 1 MiB load on the calling thread at its priority."
  echo
  echo "Memory: the public types are compact. A user's traits are two blocks (all"
  echo "names and values in one string, their ends in one array of two-byte numbers,"
  echo "policy/resources/user_traits.rs) instead of a BTreeMap with a String per name"
  echo "and value; a user's role names, and a device's user, are shared names"
  echo "(Arc<str>) among the resources read on one thread; a device's strings are"
  echo "Box<str>, an ssh_sk key type is a constant and its blob is kept as bytes (its"
  echo "comment is not kept: no decision reads it), the rare piv form is boxed; users"
  echo "and roles are claimed by a hash of their name while loading (no copy of every"
  echo "name in a map), and lists keep no spare room. The \"index alone\" column builds"
  echo "a second copy of the bundle on a thread of its own after the latencies are"
  echo "measured, so that its freed copies do not crowd the deciding thread's heap."
  echo
  echo "Before these changes (commit 81a4294, same machine, one run): the full JSON"
  echo "bundle took 288 MiB after load (211 MiB live heap), 418 MiB at its peak, 2572"
  echo "ms to load (1721 ms CPU), \`decide\` grew 1.98x from 1/100 (12.1 against 6.1"
  echo "µs p50), and a reload took p99 from 36.7 µs at rest to 47.5 µs (1.29x)."
  echo
  echo "How the bench counts the live heap matters here: its counting allocator keeps"
  echo "one counter slot per thread, summed when read (alloc.rs). With one counter"
  echo "shared by all threads (before 98af082), every allocation of the two loading"
  echo "threads and of the deciding thread bounced the same cache line between the"
  echo "cores: the full JSON load measured 1.04 s where it takes 0.81 s, and decisions"
  echo "overlapping a reload waited on it (p99 41 µs, against 11-12 µs since). The agent"
  echo "counts nothing; the figures above are what it does."
  echo
  echo "\`decide\`'s growth from 1/100 to full is cold memory, not work: the row"
  echo "\"asking about 1,000 users only\" keeps its users and roles in the CPU caches."
  echo "callgrind's cache model (2 MiB last level, 5,000 decisions, full JSON bundle)"
  echo "counts about 34 last-level misses per decision on the full bundle against"
  echo "under 1 on 1/100: the index tables' slots (a login's, its trait's, the"
  echo "templates'), the user and its traits, and per role its 248-byte record, its"
  echo "logins and its reason text. Two changes made both ends faster and the ratio"
  echo "larger, since they took away work rather than cold reads: each role's"
  echo "node_labels without a template are matched against the agent's node once per"
  echo "bundle (on the reloading thread) instead of at every login, and an index key"
  echo "keeps its single position beside it (40.8 -> 34.5 misses per decision with"
  echo "a smaller role record). \`decide\` p50 went from 4.4 to 2.2 µs on 1/100 and"
  echo "from 7.4 to 5.3 µs on the full bundle (1.71x then, 2.4x now);"
  echo "\`lines_for_login\` from 8.7 to 4.3 and from 14.6 to 9.4 µs."
  echo "The same again, this time: role values with trait templates are parsed once"
  echo "per distinct value instead of at every decision (policy/traits.rs), and"
  echo "\`decide\` on 1/100 went from 2.5 to 2.1 µs while the full bundle stayed at"
  echo "3.3-3.4 µs, so the ratio went from 1.30x to 1.61x on this machine. Meeting 1.3x"
  echo "would need a decision to read under about 8 cold lines: each user's and each"
  echo "role's data in one block, which is a change of the resources' layout, not of"
  echo "the decision. The pointer chase above says what that allows on"
  echo "this machine: the target leaves the full bundle a few cold reads more than"
  echo "1/100, and a login's chain (its index slot, the user, the user's role"
  echo "positions, a role's record, its logins) is five reads in a row, each found"
  echo "through the one before. Tried and left out: huge pages for the heap"
  echo "(jemalloc's thp:always) took \`decide\` on the full bundle from 4.3 to 3.0-3.7"
  echo "µs, but the kernel's khugepaged then filled the heap's freed ranges back into"
  echo "2 MiB pages: RSS grew from 145 to 176 MiB within 4 minutes of the load, and"
  echo "kept growing. Reading one byte of each of the user's and roles' blocks first,"
  echo "so that the CPU fetches them side by side, took it from 4.3-4.8 to 3.8-4.3 µs"
  echo "and the 1/100 bundle's from 1.87 to 1.99: within the rounds' spread."
  echo "Rounds of the same build on this shared machine differ by up to 30%."
  echo
  echo "Once more the same way (2026-12-06): a role whose literal allow node_labels"
  echo "are known not to match the node (worked out once per bundle) can allow no"
  echo "login there, so its allow logins are no longer expanded (their trait"
  echo "templates, copies and Unix-name checks; policy/applied_role.rs"
  echo "\`allow_side_never_matches\`). callgrind, the first 3,000 decisions on the"
  echo "full JSON bundle: 19% fewer instructions (816.8 -> 659.2 M for the child's"
  echo "measured calls), 32.9 against 35.7 last-level misses per decision. Two"
  echo "interleaved runs of each binary, p50: 1/100 1.94-2.03 -> 1.59-1.61 µs, full"
  echo "2.68-2.85 -> 2.26-2.33 µs; the ratio stays where it was (1.38-1.40x against"
  echo "1.41-1.47x), because what went was work that both sizes did."
  echo
  echo "Then cold reads themselves (issue 14): an index key's slot holds its"
  echo "locator and position, so a key found reads one line of the table before the"
  echo "resource (policy/key_table.rs; +4.3 MiB of heap on the full bundle); the"
  echo "locks of a bundle user's roles are looked up by the roles' positions, by"
  echo "name only for a role some lock names or the bundle lacks"
  echo "(policy/lock_index.rs); no role's expiry is read when no role expires; why"
  echo "a role does not allow the login is read only when none does; and what a"
  echo "decision asks of a role beside its logins and labels (whether its allow"
  echo "labels count, its expressions, deny logins and require_session_mfa) is kept"
  echo "in the per-role outcome for the node (policy/role_facts.rs), so a role that"
  echo "cannot allow the login here is decided without its 248-byte record."
  echo "callgrind, the child's first 3,000 decisions on the full JSON bundle:"
  echo "33.2 -> 23.1 last-level misses per decision, 21.1 -> 19.6 thousand"
  echo "instructions (all measured calls: 748.7 -> 513.2 thousand misses, 657.4 ->"
  echo "599.7 M instructions). Six interleaved runs of each binary, medians of the"
  echo "p50s: 1/100 1.65 -> 1.55 µs, full 2.44 -> 2.20 µs (1.48x -> 1.42x): the"
  echo "misses that went were mostly read side by side with others, so the full"
  echo "bundle's time fell by a tenth where the misses fell by a third. What is"
  echo "left is the login's chain (slot, user, traits, role positions, each role's"
  echo "outcome, and for a role that may allow it its record, logins and name),"
  echo "read one after another."
  echo
  echo "Then those reads side by side (issue 14, software prefetch: policy/prefetch.rs,"
  echo "one helper around the CPU's prefetch instruction, a no-op off x86-64): a"
  echo "login's lookups start in every table it probes before the first is read"
  echo "(policy/key_table.rs \`start\`/\`finish\`); a user found is asked for the rest"
  echo "of their record, their name, traits and where their roles start, then for"
  echo "their role positions; and a user's roles are read in three steps, each for"
  echo "all of them at once: each role's outcome and record lines; for a role that"
  echo "may allow the login, its matched selector's text, name and list of logins;"
  echo "then those logins (policy/role_prefetch.rs). What a decision reads is"
  echo "unchanged, only when it arrives. Interleaved runs of each binary, medians"
  echo "of the p50s: six with the machine's load about 4, 1/100 1.47 -> 1.54 µs,"
  echo "full 2.34 -> 1.89 µs (1.59x -> 1.23x); five while other builds ran (load"
  echo "8-17), 1.76 -> 1.78 µs, 2.96 -> 2.24 µs (1.69x -> 1.26x); five more at"
  echo "load 4-5, 1.41 -> 1.49 µs, 2.07 -> 1.66 µs (1.47x -> 1.11x). The 1/100"
  echo "bundle pays 1-6% for the added instructions."
  echo
  echo "YAML loads several times slower than JSON: each YAML document is parsed twice"
  echo "(once for its kind), and serde-saphyr is slower per byte than serde_json. Before"
  echo "the indices (measured once, commit 18da4de, same machine and bundles), the full"
  echo "bundle took 20 ms (p50) for \`decide\` by login, 6 ms to find a registered key,"
  echo "and 4 s for \`lines_for_login\`."
}
# The "Local PIV tap" section; `run-bench.sh --piv-tap-only` prints just this section.
piv_tap_section() {
  echo "## Local PIV tap: a key attached to this host"
  echo
  echo "\`pam-mfa-bench-piv-tap\`: the real agent taps the software PIV card (tests/src/piv_card/)"
  echo "through pcscd and vsmartcard's vpcd, for a desktop-class login on a node that"
  echo "requires \`hardware_key_touch\` or \`hardware_key_pin\`: open the card, GET SERIAL,"
  echo "VERIFY PIN when the attested policy needs it, sign SHA-256 of a fresh challenge"
  echo "(GENERAL AUTHENTICATE), check the signature against the attested key (chain"
  echo "verified, cached). The card's touch is scripted as immediate, so these are the"
  echo "machinery's figures, not a person's. The first rows speak the protocol on the"
  echo "agent's socket, polling every 10 ms; the last goes through pam-harness and"
  echo "pam_mfa.so (a process per login, auth and account), where the module polls when"
  echo "the agent says (every 100 ms)."
  echo
  PAM_MFA_BIN_DIR="$BIN" "$BIN/pam-mfa-bench-piv-tap" --rounds "${BENCH_PIV_ROUNDS:-20}" 2>/dev/null
  echo
  echo "Most of the time is vpcd: pcscd polls the virtual reader's socket, and each APDU"
  echo "takes about 44 ms in pcscd's log (SELECT, GET SERIAL, VERIFY, the signature and"
  echo "their GET RESPONSE rounds); a USB YubiKey answers an APDU in a few milliseconds"
  echo "(its touch, not the machinery, then dominates). The agent's own work per tap is"
  echo "an ECDSA verify (under a millisecond, see above) and the cached chain check."
}
if [ "${1:-}" = --piv-tap-only ]; then
  piv_tap_section
  exit 0
fi
if [ "${1:-}" = --scale-only ]; then
  scale_section
  exit 0
fi
out=$(mktemp)
trap 'rm -f "$out"' EXIT
{
  echo "# Benchmarks"
  echo
  echo "Regenerated by \`make bench\` (tests/bench/run-bench.sh) on $(date -u +%Y-%m-%d),"
  echo "$(nproc) cores, $(uname -sr), release build. Figures vary with the machine; the"
  echo "targets are for 2 cores."
  echo
  echo "## No-tap decision: the agent's socket and pam_authenticate"
  echo
  echo "The floor is a bare Unix-socket exchange measured in the same run: a listener"
  echo "thread of the bench process accepts, reads one 300-byte frame, writes a 24-byte"
  echo "reply and closes; the client connects, writes, reads and closes, as the module"
  echo "does. Each agent decision is a fresh connection, a Begin message and the agent's"
  echo "Allow; the agent writes one audit line per decision (file sink) before it"
  echo "answers. The module figures include Linux-PAM's dispatch (the permit-only stack)."
  echo "\"Fresh handle\" is what sshd does per connection: pam_start loads the module,"
  echo "pam_authenticate (timed) runs it once, pam_end unloads it. \"Reused handle\" calls"
  echo "pam_authenticate again and again on one handle. Every row runs once per round"
  echo "(${BENCH_ROUNDS:-5} rounds of $SECONDS_PER s, interleaved), so a busy moment of the machine hits"
  echo "every row alike; a row shows the median of each figure over the rounds and its"
  echo "range; the ratios to the floor are taken within each round (their median printed)."
  echo
  echo "The machine is shared (regenerate it when nothing else runs), and rounds"
  echo "of the same build differ by tens of percent (p99 by far more); read the ranges."
  echo
  "$BIN/pam-mfa-bench" --bin-dir "$BIN" --bundle config/examples/bundle.yaml \
    --seconds "$SECONDS_PER" --rounds "${BENCH_ROUNDS:-5}"
  echo
  idle=$(cat /sys/devices/system/cpu/cpuidle/current_driver 2>/dev/null || echo unknown)
  poll_ns=$(cat /sys/module/haltpoll/parameters/guest_halt_poll_ns 2>/dev/null || echo none)
  if [ "$idle" = haltpoll ] && [ "$poll_ns" = 0 ]; then
    kind="the first kind: its vCPUs halt at once"
  else
    kind="not of the first kind"
  fi
  echo "Read these figures for what the machine was doing. How fast a thread asleep on"
  echo "the other vCPU wakes sets the floor. On a virtual machine whose idle vCPUs halt"
  echo "at once (cpuidle haltpoll with guest polling off: the machine the issue's targets"
  echo "were set on), waking such a thread costs tens of microseconds, and more the longer"
  echo "it slept: the floor is 40–55 µs and mostly wake-ups, and the agent's and the"
  echo "module's rows add their CPU work to about one wake-up, so their ratios follow"
  echo "the CPU's speed (on one such machine the agent measured 1.06x and the module"
  echo "1.24x the floor; one whose CPU was about 2.5 times slower, pam_permit.so alone"
  echo "taking 12 µs, gave 1.8x and 2.2x). Where a wake-up costs little (cpuidle driver"
  echo "\`none\`), the floor is about 13 µs and the ratios measure the CPU work that the"
  echo "bare exchange does not do: the peer checks, the decision, the audit line, the"
  echo "module's own checks and first touches. This run's machine: cpuidle driver"
  echo "\`$idle\`, guest halt polling $poll_ns ns ($kind). \"Where the time goes\""
  echo "below takes the CPU work apart, stage by stage."
  echo
  echo "The fresh-handle row pays a wake-up the floor does not: between two timed calls"
  echo "it loads and unloads the module (pam_start, pam_end: about 150 µs, a third of it"
  echo "libgcc_s's constructor running CPUID, which traps to the hypervisor), and the"
  echo "agent's vCPU sleeps through it. The last row measures the bare exchange with the"
  echo "same pause, and the line under the ratios compares the module with it."
  echo
  echo "How much of it is wake-ups, measured: the same bench on a quiet machine with the"
  echo "kernel's guest halt polling turned on for the run (an idle vCPU polls up to"
  echo "200 µs before it halts: echo 200000 > /sys/module/haltpoll/parameters/guest_halt_poll_ns;"
  echo "this bench never changes it). The floor fell from 46 to 11 µs, the agent's"
  echo "decision from 38 to 31 µs, the module's fresh handle from 110 to 52 µs and its"
  echo "reused handle from 70 to 45 µs; the ratios rose (module 4.9x, agent 2.8x),"
  echo "because what is left is CPU work the bare exchange does not do. That work, from"
  echo "an ftrace of 300 logins (medians): the agent's person-behind-a-root-peer walk"
  echo "(pidfds for the peer and its root ancestors, /proc/PID/loginuid) 10–13 µs, the"
  echo "decision and the audit line 9–11 µs; in the module's process, Linux-PAM's own"
  echo "audit netlink exchange about 6 µs, /proc/self/environ, the socket checks and"
  echo "the frame a few µs more."
  echo
  echo "Where the time went (perf record and perf sched, release build; the last row on"
  echo "a quiet machine, the others with other engineers' builds running, load 4–9):"
  echo
  echo "| change | agent p50, 1 thread | decisions/s, 2 threads | module p50, fresh handle | module p50, reused handle |"
  echo "|---|---|---|---|---|"
  echo "| before (main at 71e366b) | 79 µs | 9,300 | 121 µs | |"
  echo "| threads accept and serve themselves (a thread was started for almost every connection); the uid of a login's name remembered 10 s (getpwnam through nss_systemd per sshd login); /proc/PID/status read once into a stack buffer and parsed as bytes; /proc/self/environ in one read in the module; the audit line in one write | 39 µs | 19,000 | 77 µs | |"
  echo "| the real uid and parent of a root peer and its ancestors from a pidfd (PIDFD_GET_INFO, Linux 6.13+) instead of /proc/PID/status; frames decoded without a serde_json::Value tree | 33 µs | 26,000 | 68 µs | |"
  echo "| the module waits in poll(2) on a non-blocking socket instead of a blocked read with SO_RCVTIMEO/SO_SNDTIMEO set before every call (a blocked read is woken for nothing when the agent takes the request; three system calls fewer); both ends read a frame in one read (FrameInbox) instead of two; SO_PEERCRED read once per connection in the agent. Quiet machine, other builds paused, C harness, 3 × 5,000 logins each, old and new module against the same agent | | | 141–154 → 138–145 µs | 67–68 → 66–69 µs (loaded machine: 65 → 42 µs) |"
  echo "| the module connects before it reads the rest of the PAM context (when PAM_USER is set: pam_get_user cannot prompt then), so the agent's wake-up overlaps that work; the agent reads a root peer's first frame awake for up to 100 µs (sched_yield between tries) instead of sleeping until it comes; the module retries its read of the answer for up to 100 µs the same way before it sleeps in poll. pam-mfa-bench, 3 rounds of 1 s, each variant twice, quiet machine | 40–42 µs (unchanged) | 29,900–30,600 | 113–118 → 76–79 µs (the module's retries alone: 83–96 µs) | 71–78 → 54–57 µs |"
  echo "| after serving a root peer, one thread watches the listener awake for up to 300 µs (poll with no wait, sched_yield between looks; agent/src/ipc/acceptor.rs \`watch_awake\`), so the next PAM call (a fresh pam_start comes about 150 µs later) is accepted by a running thread instead of waking one asleep in accept. pam-mfa-bench, 3 rounds of 1 s, old and new agent binary interleaved twice, quiet machine | 40–42 → 43–47 µs | 26,600–28,400 → 29,500–30,300 | 83–84 → 58–73 µs | 63–66 → 64–68 µs |"
  echo "| The rows below ran on another machine: cpuidle haltpoll (idle vCPUs halt at once), a CPU about 2.5 times slower (pam_permit.so alone 12 µs against 4). pam-mfa-bench, 2 rounds of 1 s, old and new builds interleaved 3–4 times, quiet machine | | | | |"
  echo "| after an answer that ends its exchange, the agent reads a root peer's close awake for up to 100 µs (agent/src/ipc/server.rs \`awake_read\`) instead of sleeping until the module closes: it was woken late, and was not back watching the listener when the next PAM call connected (context switches per pam_authenticate, perf stat: 6–8 → 3.5–4) | 79–112 → 77–82 µs | | 111–123 → 101–121 µs | 97–105 → 78–83 µs |"
  echo "| the functions a no-tap login runs in pam_mfa.so placed together in one section before .text (pam_mfa/hot-text.ld, written by \`make hot-text\`): a freshly loaded module took eight page faults in its code per pam_authenticate, now four: the section's three 64 KiB windows and one of data (page faults per pam_start..pam_end, perf stat: 19.5 → 15.4) | | | 103–111 → 97–98 µs | 80–91 → 82–88 µs (unchanged) |"
  echo "| both, against main before them | 87–100 → 82–85 µs | 18,800–19,400 → 18,100–19,200 | 115–125 → 95–103 µs | 86–100 → 79–80 µs |"
  echo
  echo "Tried and left out, measured the same way: connecting to the agent before"
  echo "reading the rest of the PAM context while the agent still slept until the"
  echo "frame came (the agent, woken early, waited on the request and was woken"
  echo "again: reused handle 66–69 → 85–92 µs; taken since, with the agent reading"
  echo "awake); spinning without yielding the CPU (module p99 up to 390 µs: on two"
  echo "vCPUs a spinner can hold the CPU the other side needs); the agent closing"
  echo "a login's connection after its last answer instead of waiting for the module's"
  echo "close (two clients at once: 23,300 → 16,500–18,600 decisions/s); building the"
  echo "module with LTO and opt-level s (its text is mostly std's, 698 → 634 KB: the"
  echo "same page faults, 6–8 per fresh call); threads taking turns as leader and"
  echo "followers, so that only the leader watches the listener and a connection wakes"
  echo "no other thread (each connection then wakes a follower to lead: agent 49–55 →"
  echo "65–67 µs, 22,400 → 16,800–17,900 decisions/s, module p99 about 1 ms); a thread"
  echo "that stays awake without watching the listener itself (module 83–90 → 88 µs)."
  echo
  echo "What remains on a login's path. In the agent: the person behind a root peer"
  echo "(pidfd_open, PIDFD_GET_INFO and close for the peer and each root ancestor, and"
  echo "/proc/PID/loginuid), the policy decision (\`decide\`, about 3 µs), the audit line"
  echo "(serialised, then one write(2) to the file before the answer: buffering it would"
  echo "let a crash lose a decision already acted on), and the socket's system calls."
  echo "In the module: Linux-PAM's dispatch and its own audit message (a netlink"
  echo "round trip), /proc/self/environ (SSH_AUTH_SOCK for sudo), the socket owner"
  echo "check and SO_PEERCRED, and the first touch of the freshly loaded library's"
  echo "pages. The floor sleeps twice per exchange (the listener for the connection,"
  echo "the client for the reply); a login that follows another within 300 µs sleeps"
  echo "only in the module, waiting for the answer (the agent's watching thread takes"
  echo "it awake), and a first one once more, in the agent's accept. The agent's own"
  echo "row pays a little for that watch (another accepting thread is still woken for"
  echo "each connection, and the two race for it): about 4 µs at one client thread."
  echo
  echo "### Where the time goes"
  echo
  echo "\`make bench-profile\` (tests/bench/profile.sh): perf samples of one row at a time,"
  echo "in a build with frame pointers (target/profile), as CPU microseconds per decision"
  echo "or per call. A stage includes what it calls, so the indented ones (\"of which\")"
  echo "are parts of the line above them; the agent's first line also counts the moments"
  echo "its threads watch the socket awake between connections. Samples scatter, and a"
  echo "busy machine inflates every line: compare lines of one run."
  echo
  # perf may be missing or refused (containers): the rest still stands.
  if ! bash tests/bench/profile.sh; then
    echo "(no profile this time: tests/bench/profile.sh failed, see its error output)"
  fi
  echo
  echo "## Challenges: issue and verify, per answer kind"
  echo
  echo "In-process, release build: the agent-side work of one tap (the socket round trips"
  echo "are the figures above). Signatures are made once by a real ssh-agent holding an"
  echo "sk-dummy security key."
  echo
  "$BIN/pam-mfa-bench-verify"
  echo
  piv_tap_section
  echo
  scale_section
} >"$out"
mv "$out" BENCHMARKS.md
trap - EXIT
cat BENCHMARKS.md
