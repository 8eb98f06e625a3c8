#!/usr/bin/env bash
# Repair latency on loopback (issue 4): event published → object back, p50/p99.
# Starts moto like scripts/test.sh, then runs examples/repair_latency.rs in release mode.
# Usage: scripts/repair-latency.sh [LOSSES=100] [sequential|burst]
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.ci/.venv
PORT=${MOTO_PORT:-5055}
if ! "$VENV/bin/moto_server" --help >/dev/null 2>&1; then
  python3 -m venv "$VENV" && "$VENV/bin/pip" install -q "moto[server]==5.2.5"
fi
"$VENV/bin/moto_server" -H 127.0.0.1 -p "$PORT" >target/moto-latency.log 2>&1 &
MOTO_PID=$!
trap 'kill $MOTO_PID 2>/dev/null || true' EXIT
until curl -fsS "http://127.0.0.1:$PORT/moto-api/" >/dev/null 2>&1; do sleep 0.2; done
export AWS_ENDPOINT_URL="http://127.0.0.1:$PORT" AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test \
       AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true DERIVD_LOG=warn
cargo run --release -q --example repair_latency -- "${1:-100}" "${2:-sequential}"
