#!/bin/sh
# Installs what pam-mfa's end-to-end tests need on Debian/Ubuntu (run as root).
# Idempotent and non-interactive: does nothing when every package is present.
set -eu

# `install-deps.sh --build`: only what building the binaries and the packages
# needs (make build, make release, make deb, make rpm), not the test tools.
BUILD_PACKAGES="build-essential libpam0g-dev libpcsclite-dev pkg-config dpkg-dev binutils gzip"

PACKAGES="openssh-server openssh-client openssh-tests pamtester libpam0g-dev \
libpam-modules libpam-modules-bin sudo passwd util-linux mount coreutils procps \
pcscd vsmartcard-vpcd pcsc-tools opensc yubico-piv-tool openssl iproute2"
# Building the agent: its PIV card client links libpcsclite (the pcsc crate),
# found through pkg-config.
PACKAGES="$PACKAGES libpcsclite-dev pkg-config"
# Packages (make deb/rpm) and their tests: dpkg-shlibdeps and
# dpkg-architecture, strip and nm, rpm, a Debian root booted by systemd-nspawn.
PACKAGES="$PACKAGES dpkg-dev binutils gzip rpm debootstrap systemd-container"
# The approval page's tests (tests/tests/approval_page.rs): Debian's chromium
# driven by playwright-core from npm (tests/browser/, `npm ci` with
# PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1), the page served by nginx; nginx also serves the publisher's directory
# (tests/tests/sync_manifest.rs).
PACKAGES="$PACKAGES chromium nginx"
# A case-insensitive directory (tests/tests/case_insensitive_directory.rs):
# a small NSS module compiled with cc at test time.
PACKAGES="$PACKAGES gcc libc6-dev"
# node and npm: Debian's, unless a node that ships its own npm (NodeSource's
# nodejs, which conflicts with Debian's npm package) is installed already.
command -v node >/dev/null 2>&1 || PACKAGES="$PACKAGES nodejs"
command -v npm >/dev/null 2>&1 || PACKAGES="$PACKAGES npm"

case "${1:-}" in
    --build) PACKAGES=$BUILD_PACKAGES ;;
    "") ;;
    *) echo "usage: install-deps.sh [--build]" >&2; exit 2 ;;
esac

# Not Debian or Ubuntu (make rpm on Rocky/RHEL): the build packages are the
# admin's to install (gcc make pam-devel pcsc-lite-devel pkgconf binutils);
# building goes on and says what is missing itself.
if [ "${1:-}" = --build ] && ! command -v dpkg-query >/dev/null 2>&1; then
    echo "install-deps: no dpkg here; install gcc, make, pam-devel, pcsc-lite-devel, pkgconf and binutils yourself"
    exit 0
fi

missing=""
for p in $PACKAGES; do
    status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)
    case "$status" in
        ii*) ;;
        *) missing="$missing $p" ;;
    esac
done

if [ -z "$missing" ]; then
    echo "install-deps: all packages present"
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: missing:$missing; run as root to install them" >&2
    exit 1
fi

echo "install-deps: installing:$missing"
export DEBIAN_FRONTEND=noninteractive

# Keep package scripts from starting a system sshd on port 22 (no init system
# here, and the tests run their own): a temporary policy-rc.d, only if none exists.
policy=/usr/sbin/policy-rc.d
made_policy=no
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' > "$policy"
    chmod 755 "$policy"
    made_policy=yes
fi
cleanup() {
    if [ "$made_policy" = yes ]; then rm -f "$policy"; fi
}
trap cleanup EXIT INT TERM

apt-get update -q
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends -o Dpkg::Options::=--force-confdef \
    -o Dpkg::Options::=--force-confold $missing
echo "install-deps: done"
