#!/usr/bin/env bash
# The one test command (README "Testing"); .ci/run is exactly this script.
#
#   scripts/test.sh            every gate: system set-up, cargo fmt --check, every test,
#                              schemathesis on the HTTP API, clippy -D warnings, and the
#                              deploy linters
#   scripts/test.sh ARGS...    only `cargo test ARGS...` (e.g. `--test engine_corpus`),
#                              after the same set-up, for iterating on one area
#
# Set-up it does itself on a fresh Debian machine: system packages (scripts/setup-system.sh,
# apt when root), moto, schemathesis and Pillow into .ci/.venv (~1 min the first time). It starts moto (a real AWS-API
# server) on loopback, points the AWS SDK at it with test credentials, and stops it by PID.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup-system.sh build runtime test

VENV=.ci/.venv
MOTO_VERSION=5.2.5
SCHEMATHESIS_VERSION=4.32.5
# Pillow, for scripts/pillow-outcomes.py (the peer tests/engine_suites.rs compares with).
PILLOW_REQUIREMENTS=scripts/requirements-pillow.txt
PILLOW_VERSION=$(sed -n 's/^Pillow==//p' "$PILLOW_REQUIREMENTS")
MOTO_PORT=${MOTO_PORT:-5000}

for component in rustfmt clippy; do
  cargo "${component/rustfmt/fmt}" --version >/dev/null 2>&1 || {
    echo "the Rust toolchain lacks $component: rustup component add $component" >&2
    exit 1
  }
done

# `python -m pip`, not bin/pip: a venv copied to another folder keeps bin/pip's shebang
# pointing at the original, which would install there.
pip_install() { "$VENV/bin/python" -m pip install -q --disable-pip-version-check "$@"; }
installed() { "$VENV/bin/python" -c "import $1; print($1.__version__)" 2>/dev/null || true; }
[[ -x $VENV/bin/python ]] || python3 -m venv "$VENV"
if [[ "$(installed moto)" != "$MOTO_VERSION" ]]; then
  echo "==> installing moto[server]==$MOTO_VERSION into $VENV"
  pip_install "moto[server]==$MOTO_VERSION"
fi
if [[ "$(installed schemathesis)" != "$SCHEMATHESIS_VERSION" ]]; then
  echo "==> installing schemathesis==$SCHEMATHESIS_VERSION into $VENV"
  pip_install "schemathesis==$SCHEMATHESIS_VERSION"
fi

if [[ "$(installed PIL)" != "$PILLOW_VERSION" ]]; then
  echo "==> installing Pillow==$PILLOW_VERSION into $VENV"
  pip_install -r "$PILLOW_REQUIREMENTS"
fi

full=true
(($#)) && full=false

if $full; then
  echo "==> cargo fmt --check"
  cargo fmt --all -- --check
fi

mkdir -p target
"$VENV/bin/moto_server" -H 127.0.0.1 -p "$MOTO_PORT" >target/moto.log 2>&1 &
MOTO_PID=$!
trap 'kill $MOTO_PID 2>/dev/null || true; wait $MOTO_PID 2>/dev/null || true' EXIT

for _ in $(seq 1 150); do
  curl -fsS "http://127.0.0.1:$MOTO_PORT/moto-api/" >/dev/null 2>&1 && break
  kill -0 $MOTO_PID 2>/dev/null || { echo "moto exited:"; cat target/moto.log; exit 1; }
  sleep 0.2
done
curl -fsS "http://127.0.0.1:$MOTO_PORT/moto-api/" >/dev/null || { echo "moto did not start"; exit 1; }
echo "==> moto $MOTO_VERSION on 127.0.0.1:$MOTO_PORT (pid $MOTO_PID)"

export AWS_ENDPOINT_URL="http://127.0.0.1:$MOTO_PORT"
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1
export AWS_EC2_METADATA_DISABLED=true
unset AWS_PROFILE AWS_SESSION_TOKEN

echo "==> cargo test"
cargo test --no-fail-fast "$@"

if $full; then
  kill $MOTO_PID 2>/dev/null || true
  echo "==> schemathesis against a live embedded server (scripts/schemathesis.sh)"
  scripts/schemathesis.sh
  echo "==> cargo clippy --all-targets -- -D warnings"
  cargo clippy --all-targets -- -D warnings
  scripts/lint-deploy.sh
  echo "==> all gates passed"
fi
