#!/usr/bin/env bash
# Lints the deploy files (deploy/README.md "Linting"):
#   1. cfn-lint on deploy/cloudformation.yaml (warnings and errors fail; infos are shown);
#   2. deploy/iam-policy.json, iam-setup-policy.json and iam-check-policy.json are valid JSON;
#   3. deploy/iam-policy.json is the template's DerivdPolicy with its placeholders filled in,
#      so the two cannot drift apart;
#   4. the DerivdConfig output, filled in, is TOML whose keys deploy/derivd.example.toml lists.
# Installs cfn-lint into .ci/.venv-lint the first time (~30 s); a few seconds after that.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=.ci/.venv-lint
CFN_LINT_VERSION=1.58.0
TEMPLATE=deploy/cloudformation.yaml
POLICY=deploy/iam-policy.json

if [[ "$("$VENV/bin/cfn-lint" --version 2>/dev/null)" != "cfn-lint $CFN_LINT_VERSION" ]]; then
  echo "==> installing cfn-lint==$CFN_LINT_VERSION into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check "cfn-lint==$CFN_LINT_VERSION"
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

echo "==> deploy lint passed"
