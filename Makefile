# pam-mfa: the two commands are `make demo` and `make test`.
SHELL := /bin/bash
CARGO ?= cargo
export CARGO_TERM_COLOR ?= never

.PHONY: all build release deps demo test lint unit e2e bench clean

all: build

## Install the system packages the build, the demo and the tests need (root).
deps:
	bash tests/install-deps.sh

build:
	$(CARGO) build --workspace --all-targets
	# mfactl with the software FIDO2 authenticator, for the end-to-end tests
	# only (its own target directory, so the feature never reaches a real build)
	$(CARGO) build -p mfa-agent --features soft-fido2 --bin mfactl --target-dir target/soft-fido2

release:
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

e2e: build
	$(CARGO) test -p pam-mfa-e2e -- --test-threads=4

## Everything CI runs: packages, formatting, lints, unit and end-to-end tests.
test: deps lint build
	$(CARGO) test --workspace -- --test-threads=4

## Figures for BENCHMARKS.md (not a pass/fail test).
bench: deps
	$(CARGO) build --workspace --release
	bash tests/bench/run-bench.sh

clean:
	$(CARGO) clean
