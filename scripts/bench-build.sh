# Sourced by the bench scripts: release_bench NAME builds `cargo bench --bench NAME` in
# release and prints the path of its executable (cargo names it with a hash), or fails:
# callers write `lane=$(release_bench NAME) || exit 1`.
release_bench() {
  local name=$1 exe
  exe=$(nice cargo build --release --bench "$name" --message-format=json 2>/dev/null |
    python3 -c 'import json,sys
name = sys.argv[1]
for l in sys.stdin:
    m = json.loads(l)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == name and m.get("executable"):
        print(m["executable"])' "$name")
  [[ -x "$exe" ]] || { echo "build failed: cargo build --release --bench $name" >&2; exit 1; }
  echo "$exe"
}
