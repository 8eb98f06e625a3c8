#!/usr/bin/env bash
# Fuzzes the HTTP API against its description (issue 15): starts `derivd serve` (embedded
# backend, a fresh data dir, HTTP on a free loopback port), runs schemathesis from
# schema/openapi.yaml with a bounded number of examples per route, and fails unless no
# response is a 5xx, every response conforms to the description (status code, content
# type, headers, body schema), invalid requests are refused, and the server is still
# alive afterwards and exits 0 on SIGTERM.
#
# Every check runs but `positive_data_acceptance`: a request can match the schema and
# still be refused for what only the configuration knows (a bucket outside the allowed
# ones: 400; an SNS body that is a string but not JSON: 400).
#
#   scripts/schemathesis.sh [EXAMPLES_PER_ROUTE]     (default 200; ~40 s)
#
# scripts/test.sh runs it after `cargo test` (it installs schemathesis into .ci/.venv);
# run it alone after `cargo build`.
set -euo pipefail
cd "$(dirname "$0")/.."

EXAMPLES=${1:-200}
PY=.ci/.venv/bin/python
"$PY" -c 'import schemathesis' 2>/dev/null || {
  echo "schemathesis is not in .ci/.venv: run scripts/test.sh once (it installs it)" >&2
  exit 1
}
cargo build -q
work=$(mktemp -d)
log="$work/serve.log"
cat >"$work/derivd.toml" <<EOF
[storage]
data_dir = "$work/data"
[queue]
wait_secs = 1
[http]
listen = "127.0.0.1:0"
EOF
# The source the description's example names, so ensure-on-read has something to make.
photo=${DERIVD_CORPUS:-../shared/corpus}/formats/ir_progressive_650x470.jpg
target/debug/derivd --config "$work/derivd.toml" submit "uploads/cat photo.jpg" \
  --upload "$photo" -t thumb-256 >/dev/null
NO_COLOR=1 target/debug/derivd --config "$work/derivd.toml" serve >"$log" 2>&1 &
pid=$!
cleanup() {
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

addr=
for _ in $(seq 1 300); do
  addr=$(sed -n 's/.*HTTP listening addr=\([0-9.:]*\).*/\1/p' "$log" | head -1)
  [[ -n $addr ]] && curl -fsS "http://$addr/healthz" >/dev/null 2>&1 && break
  kill -0 "$pid" 2>/dev/null || { echo "derivd serve exited:"; cat "$log"; exit 1; }
  sleep 0.2
done
[[ -n $addr ]] || { echo "derivd serve did not start:"; cat "$log"; exit 1; }
echo "==> schemathesis $("$PY" -c 'import schemathesis; print(schemathesis.__version__)') against derivd on $addr, $EXAMPLES examples per route"

started=$(date +%s)
status=0
# From the scratch dir, so nothing schemathesis keeps (hypothesis' folder) lands in the tree.
repo=$PWD
(cd "$work" && "$repo/$PY" -m schemathesis.cli run "$repo/schema/openapi.yaml" \
  --url "http://$addr" \
  --max-examples "$EXAMPLES" \
  --seed 15 \
  --generation-database none \
  --workers 1 \
  --request-timeout 30 \
  --checks all \
  --exclude-checks positive_data_acceptance \
  --suppress-health-check all \
  --report-dir "$work/report" \
  --no-color) || status=$?
echo "==> schemathesis took $(($(date +%s) - started)) s"

if ! kill -0 "$pid" 2>/dev/null; then
  echo "derivd serve died during the run:"; cat "$log"; exit 1
fi
kill -TERM "$pid"
serve_status=0
wait "$pid" || serve_status=$?
if ((serve_status != 0)); then
  echo "derivd serve exited $serve_status on SIGTERM:"; tail -50 "$log"; exit 1
fi
if ((status != 0)); then
  echo "schemathesis found problems (exit $status)"; exit "$status"
fi
echo "==> schemathesis: no 5xx, every response as described, the server lived on"
