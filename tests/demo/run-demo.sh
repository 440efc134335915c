#!/usr/bin/env bash
# `make demo`: the seed example of Teleport's per-session MFA guide, on this
# host. Two agents (node dev1 labelled env=dev, node prod3 labelled env=prod)
# run the embedded example policy (roles access-dev and access-prod, user
# jerry) plus jerry's freshly made security key; two sandboxed sshd on
# loopback use pam_mfa.so. Then:
#   1. jerry logs in to dev1 with a plain key: no tap needed;
#   2. jerry logs in to prod3 with the plain key: refused, with the reason;
#   3. jerry logs in to prod3 with his security key (OpenSSH's sk-dummy, a
#      software FIDO key): the ssh client asks for the touch, sshd verifies
#      it, pam-mfa lets the login through.
# Everything it starts is stopped, and everything it creates removed, on exit.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${PAM_MFA_BIN_DIR:-$ROOT/target/debug}
SK=/usr/lib/openssh/regress/misc/sk-dummy/sk-dummy.so
LOGIN=jerry

bold() { printf '\n\033[1m%s\033[0m\n' "$*"; }
say() { printf '   %s\n' "$*"; }
die() { echo "demo: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root: it starts sshd and creates the local user $LOGIN"
for f in "$BIN/mfa-agent" "$BIN/mfactl" "$BIN/libpam_mfa.so" /usr/sbin/sshd "$SK"; do
  [ -e "$f" ] || die "missing $f (run 'make deps build' first)"
done
if id "$LOGIN" >/dev/null 2>&1; then
  die "a local user '$LOGIN' already exists; the demo creates and removes its own '$LOGIN', so it will not touch yours"
fi

W=$(mktemp -d /tmp/pam-mfa-demo.XXXXXX)
chmod 755 "$W"
PIDS=()
PAMFILES=()
cleanup() {
  set +e
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
  sleep 0.3
  for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
  for f in "${PAMFILES[@]}"; do rm -f "$f"; done
  userdel -r "$LOGIN" >/dev/null 2>&1
  rm -rf "$W"
}
trap cleanup EXIT INT TERM

free_port() {
  local p=$1
  while (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; do p=$((p + 1)); done
  echo "$p"
}

wait_for() { # wait_for WHAT TEST...
  local what=$1; shift
  for _ in $(seq 100); do "$@" && return 0; sleep 0.1; done
  die "timed out waiting for $what"
}

bold "Setting up: local user $LOGIN, a plain key and a security key"
useradd -m -s /bin/bash "$LOGIN"
install -d -m 700 -o "$LOGIN" -g "$LOGIN" "/home/$LOGIN/.ssh"
ssh-keygen -q -t ed25519 -N '' -C "jerry@laptop (plain)" -f "$W/id_plain"
ssh-keygen -q -t ed25519-sk -w "$SK" -N '' -C "jerry@laptop (yubikey)" -f "$W/id_sk" </dev/null
install -m 600 -o "$LOGIN" -g "$LOGIN" "$W/id_plain.pub" "/home/$LOGIN/.ssh/authorized_keys"
say "plain key:    $(ssh-keygen -lf "$W/id_plain.pub")"
say "security key: $(ssh-keygen -lf "$W/id_sk.pub")"

bold "The policy: the embedded example (mfactl example-policy) plus jerry's key"
mkdir -p "$W/policy"
"$BIN/mfactl" example-policy >"$W/policy/00-example.yaml"
cat >"$W/policy/50-jerry-key.yaml" <<YAML
kind: mfa_device
version: v1
metadata:
  name: jerry-yubikey
spec:
  user: jerry
  ssh_sk:
    public_key: "$(cat "$W/id_sk.pub")"
YAML
"$BIN/mfactl" check "$W/policy" | sed 's/^/   /'
for n in dev1 prod3; do
  "$BIN/mfactl" explain --policy "$W/policy" --node "$n" --label "env=${n%%[0-9]*}" --login "$LOGIN" \
    | sed 's/^/   /'
done

# ssh runs it as a notifier for the touch prompt and ends it (SIGTERM) as
# soon as the key has signed, which sk-dummy does at once: it ignores that
# and writes with one builtin, so the prompt is always recorded.
cat >"$W/askpass" <<SH
#!/bin/sh
# Stands in for the person at the keyboard: records what ssh asked.
trap '' TERM
echo "\$1" >>"$W/askpass.log"
SH
chmod 755 "$W/askpass"

start_node() { # start_node NAME ENV PORT
  local name=$1 env=$2 port=$3 d="$W/$1"
  mkdir -p "$d" && chmod 755 "$d"
  cat >"$d/agent.yaml" <<YAML
node:
  name: $name
  labels: { env: $env }
cluster:
  source: file://$W/policy
  poll_interval: 1s
  state_dir: $d/state
socket:
  path: $d/agent.sock
  keys_user: nobody
services:
  sshd-mfademo-*: ssh
audit:
  sink: file:$d/audit.log
sshd:
  pubkey_auth_options: [touch-required]
challenge:
  tries: 1
YAML
  "$BIN/mfa-agent" --config "$d/agent.yaml" 2>"$d/agent.log" &
  PIDS+=($!)
  wait_for "the $name agent" test -S "$d/agent.sock"

  local svc="sshd-mfademo-$name"
  PAMFILES+=("/etc/pam.d/$svc")
  cat >"/etc/pam.d/$svc" <<PAM
auth     required $BIN/libpam_mfa.so socket=$d/agent.sock timeout=5
account  required $BIN/libpam_mfa.so socket=$d/agent.sock timeout=5
session  required pam_permit.so
password required pam_deny.so
PAM
  ssh-keygen -q -t ed25519 -N '' -f "$d/host_key"
  cat >"$d/sshd_config" <<CFG
Port $port
ListenAddress 127.0.0.1
HostKey $d/host_key
PidFile $d/sshd.pid
LogLevel DEBUG3
UsePAM yes
KbdInteractiveAuthentication yes
PasswordAuthentication no
AuthenticationMethods publickey,keyboard-interactive
ExposeAuthInfo yes
AuthorizedKeysFile .ssh/authorized_keys
AuthorizedKeysCommand /run/t/mfactl --socket $d/agent.sock authorized-keys %u
AuthorizedKeysCommandUser nobody
PubkeyAuthOptions touch-required
CFG
  ln -s /usr/sbin/sshd "$d/$svc"
  setsid unshare --mount --propagation private sh -c \
    "mount -t tmpfs -o mode=755 tmpfs /run && mkdir -p /run/sshd /run/t && install -m755 '$BIN/mfactl' /run/t/ && exec '$d/$svc' -D -f '$d/sshd_config' -E '$d/sshd.log'" &
  PIDS+=($!)
  wait_for "sshd of $name" bash -c "(exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null"
  say "$name: env=$env, mfa-agent pid ${PIDS[-2]}, sshd on 127.0.0.1:$port"
}

login() { # login PORT KEY
  rm -f "$W/askpass.log"
  SSH_ASKPASS="$W/askpass" SSH_ASKPASS_REQUIRE=force DISPLAY=none timeout 30 setsid -w \
    ssh -F /dev/null -i "$2" -o IdentitiesOnly=yes -o StrictHostKeyChecking=no \
    -o UserKnownHostsFile=/dev/null -o NumberOfPasswordPrompts=1 -o SecurityKeyProvider="$SK" \
    -p "$1" "$LOGIN@127.0.0.1" 'echo "logged in as $(id -un) on $(hostname), authenticated by:"; sed "s/^/  /;s/ AAAA.*//" "$SSH_USER_AUTH"' \
    </dev/null 2>"$W/ssh.err" | sed 's/^/   /' && rc=0 || rc=$?
  grep -v -e '^Warning: Permanently added' -e '^[[:space:]]*$' "$W/ssh.err" | sed 's/^/   ssh: /' || true
  if [ -s "$W/askpass.log" ]; then sed 's/^/   the ssh client asked the person: /' "$W/askpass.log"; fi
  return $rc
}

last_audit() { tail -n 1 "$W/$1/audit.log" | sed 's/^/   audit: /'; }

bold "Starting the nodes"
start_node dev1 dev "$(free_port 22201)"
DEV_PORT=$(sed -n 's/^Port //p' "$W/dev1/sshd_config")
start_node prod3 prod "$(free_port $((DEV_PORT + 1)))"
PROD_PORT=$(sed -n 's/^Port //p' "$W/prod3/sshd_config")

bold "1. ssh jerry@dev1 with the plain key (access-dev: require_session_mfa false)"
login "$DEV_PORT" "$W/id_plain" || die "the dev login should have worked"
last_audit dev1

bold "2. ssh jerry@prod3 with the plain key (access-prod: require_session_mfa true)"
if login "$PROD_PORT" "$W/id_plain"; then die "the plain-key prod login should have been refused"; fi
say "=> refused"
last_audit prod3

bold "3. ssh jerry@prod3 with the registered security key"
login "$PROD_PORT" "$W/id_sk" || die "the tapped prod login should have worked"
grep -m1 -o 'sk_flags = 0x[0-9a-f]*' "$W/prod3/sshd.log" | sed 's/^/   sshd verified the signed flags: /;s/$/ (0x01 = user present)/'
last_audit prod3

bold "mfactl status on prod3"
"$BIN/mfactl" --socket "$W/prod3/agent.sock" status | sed 's/^/   /'
bold "Done: stopping the agents and sshd, removing $LOGIN"
