# pam-mfa: the two commands are `make demo` and `make test`.
SHELL := /bin/bash
CARGO ?= cargo
export CARGO_TERM_COLOR ?= never
# No incremental caches in these builds: they are a few GB that a fresh build
# (CI, the README's two commands) never reuses. CARGO_INCREMENTAL=1 keeps them.
export CARGO_INCREMENTAL ?= 0

.PHONY: all build release deps build-deps demo test lint unit e2e bench bench-profile hot-text soak fuzz fuzz-smoke clean deb rpm packages pkgroot packaging-tools deb-tools rpm-tools

all: build

## Install the system packages the build, the demo and the tests need (root).
deps:
	bash tests/install-deps.sh

## Only what building needs (libpam0g-dev, libpcsclite-dev, pkg-config,
## dpkg-dev...), so `make build`, `make release`, `make deb` and `make rpm`
## work on a fresh host.
build-deps:
	bash tests/install-deps.sh --build

build: build-deps
	$(CARGO) build --workspace --all-targets
	# mfactl with the software FIDO2 authenticator, for the end-to-end tests
	# only (its own target directory, so the feature never reaches a real build)
	$(CARGO) build -p mfa-agent --features soft-fido2 --bin mfactl --target-dir target/soft-fido2

release: build-deps
	$(CARGO) build --workspace --release

## Build, start two agents and two sandboxed sshd on loopback, and walk
## through a dev login (no tap), a prod login with a plain key (refused) and
## a prod login with a security key (tap). Leaves nothing running.
demo: deps build
	bash tests/demo/run-demo.sh

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

unit:
	$(CARGO) test --workspace --exclude pam-mfa-e2e

e2e: build packages
	$(CARGO) test -p pam-mfa-e2e -- --test-threads=4

## Both packages (the package tests install them; they never build them,
## as cargo holds the build directory while tests run).
packages: deb rpm

## Everything CI runs: packages, formatting, lints, unit and end-to-end
## tests, and every fuzz target built and run for a few seconds.
test: deps lint build packages fuzz-smoke
	$(CARGO) test --workspace -- --test-threads=4

## Every fuzz target (fuzz/, nightly, cargo-fuzz installed pinned when
## missing) built and run a few seconds on its seeds, so they keep compiling.
fuzz-smoke:
	bash fuzz/run-fuzz.sh smoke

## The long fuzz campaign for FUZZING.md: each target FUZZ_SECONDS (default
## 1800), one after another, under nice; corpora in fuzz/corpus/.
fuzz:
	nice -n 19 bash fuzz/run-fuzz.sh campaign $(FUZZ_TARGETS)

## The soak for RELIABILITY.md: 1 M no-tap logins and 100 k challenge round
## trips through pam_mfa.so against one agent (SOAK_DECISIONS, SOAK_TAPS).
soak: deps
	$(CARGO) build --release -p mfa-agent -p pam_mfa
	$(CARGO) build --release -p pam-mfa-e2e --bin pam-mfa-soak
	bash tests/soak/run-soak.sh

## Figures for BENCHMARKS.md (not a pass/fail test).
bench: deps
	$(CARGO) build --workspace --release
	bash tests/bench/run-bench.sh

## Where a no-tap decision's time goes (perf samples, frame pointers; its
## own build in target/profile): the stage table for BENCHMARKS.md.
bench-profile: deps
	bash tests/bench/profile.sh

## pam_mfa/hot-text.ld: the functions of a no-tap login, laid out together.
hot-text: deps
	bash tests/bench/hot-text.sh

## Packages: target/debian/pam-mfa_*.deb and target/generate-rpm/pam-mfa-*.rpm.
## The packaging tools are installed (pinned, --locked) when missing.
CARGO_DEB_VERSION := 3.8.0
CARGO_GENERATE_RPM_VERSION := 0.21.1
# Debian's module directory is /usr/lib/<multiarch tuple>/security.
DEB_MULTIARCH ?= $(shell dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo x86_64-linux-gnu)
PKGROOT := target/pkgroot
MAN_PAGES := $(wildcard packaging/man/*.[0-9])

# Each package target installs only its own tool: `make deb` on a Debian
# host never builds cargo-generate-rpm, nor `make rpm` cargo-deb.
packaging-tools: deb-tools rpm-tools

deb-tools:
	@cargo-deb --version 2>/dev/null | grep -q ' $(CARGO_DEB_VERSION)$$' \
	  || $(CARGO) install cargo-deb --version $(CARGO_DEB_VERSION) --locked

rpm-tools:
	@cargo-generate-rpm --version 2>/dev/null | grep -q ' $(CARGO_GENERATE_RPM_VERSION)$$' \
	  || $(CARGO) install cargo-generate-rpm --version $(CARGO_GENERATE_RPM_VERSION) --locked

# The packages take their files from ./target (agent/Cargo.toml's assets),
# so their builds go there whatever CARGO_TARGET_DIR says: elsewhere, a
# fresh agent would be packed beside an old module.
pkgroot deb rpm: export CARGO_TARGET_DIR := $(CURDIR)/target

# The release build, plus what the packages take from target/pkgroot: the
# stripped module under both layouts, and the man pages gzipped (-n: no
# timestamp, so the packages are reproducible).
pkgroot: release
	rm -rf $(PKGROOT)
	install -d $(PKGROOT)/multiarch/$(DEB_MULTIARCH)/security $(PKGROOT)/lib64/security
	strip --strip-unneeded -o $(PKGROOT)/multiarch/$(DEB_MULTIARCH)/security/pam_mfa.so target/release/libpam_mfa.so
	cp $(PKGROOT)/multiarch/$(DEB_MULTIARCH)/security/pam_mfa.so $(PKGROOT)/lib64/security/pam_mfa.so
	install -d $(PKGROOT)/bin
	strip --strip-unneeded -o $(PKGROOT)/bin/mfa-agent target/release/mfa-agent
	strip --strip-unneeded -o $(PKGROOT)/bin/mfactl target/release/mfactl
	for page in $(MAN_PAGES); do \
	  section=$${page##*.}; install -d $(PKGROOT)/man/man$$section; \
	  gzip -9n < $$page > $(PKGROOT)/man/man$$section/$$(basename $$page).gz; \
	done

deb: deb-tools pkgroot
	$(CARGO) deb -p mfa-agent --no-build
	@ls -l target/debian/pam-mfa_*.deb

rpm: rpm-tools pkgroot
	cargo-generate-rpm -p agent
	@ls -l target/generate-rpm/pam-mfa-*.rpm

clean:
	$(CARGO) clean
	rm -rf fuzz/target
