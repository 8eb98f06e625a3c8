#!/usr/bin/env bash
# The README's quickstart: serves derivd on the embedded default (a local folder as the
# bucket, a durable SQLite queue, HTTP on 127.0.0.1:8080, data in ./derivd-data/).
#
#   scripts/serve.sh [serve options...]     e.g. scripts/serve.sh --config derivd.toml
#
# Does its own set-up on a fresh Debian machine (system packages through
# scripts/setup-system.sh, apt when root), then builds in release mode and runs `derivd serve`.
# Environment variables (DERIVD_*) pass through to derivd.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup-system.sh build runtime
cargo build --release --locked --bin derivd
exec target/release/derivd serve "$@"
