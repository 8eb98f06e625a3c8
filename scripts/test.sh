#!/usr/bin/env bash
# The one test command (README "Testing"; .ci/run calls it too).
#
# Installs moto (a real AWS-API server) into .ci/.venv if missing, starts it on loopback,
# points the AWS SDK at it with test credentials, runs every test, and stops moto by PID.
# Extra arguments go to `cargo test` (e.g. `scripts/test.sh --test engine_corpus`).
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=.ci/.venv
MOTO_VERSION=5.2.5
MOTO_PORT=${MOTO_PORT:-5000}

if ! "$VENV/bin/moto_server" --help >/dev/null 2>&1; then
  echo "==> installing moto[server]==$MOTO_VERSION into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check "moto[server]==$MOTO_VERSION"
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

cargo test --no-fail-fast "$@"
