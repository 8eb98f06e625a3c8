"""Checks deploy/k8s/ beyond what the schemas can say; run by scripts/lint-deploy.sh.

    lint-k8s.py REPO_ROOT

1. The KEDA objects validate against deploy/k8s/schemas/ (written from KEDA's documented
   fields), and the schemas really are strict: a copy of the ScaledObject with a typo'd
   field must fail.
2. Cross-object rules: the ScaledObject targets the worker Deployment and its
   TriggerAuthentication, min <= max replicas, and watches the queue derivd-config names.
3. The ConfigMaps: derivd-transforms equals transforms/*.toml byte for byte; derivd.toml is
   TOML whose keys deploy/derivd.example.toml lists (section by section).
4. The Deployments: every DERIVD_* variable is a known key; roles are valid (the worker runs
   jobs only, the service no jobs); the memory limit is above worker.memory_budget_bytes
   (derivd refuses to start otherwise); the grace period is above the drain grace plus any
   preStop pause; non-root as the image's user, read-only root filesystem, nothing added.

The core objects' own schemas are checked by kubernetes-validate before this runs.
"""

import copy
import json
import pathlib
import re
import sys
import tomllib

import jsonschema
import yaml

ROOT = pathlib.Path(sys.argv[1])
K8S = ROOT / "deploy" / "k8s"
ROLES = {"jobs", "repair", "http"}
# serve.roles is the roles switch; the key joins derivd.example.toml with it.
KEYS_NOT_IN_EXAMPLE: set[str] = set()
IMAGE_UID = 10001

problems = []


def fail(msg):
    problems.append(msg)


def load_objects():
    objects = {}
    for path in sorted(K8S.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc:
                objects[(doc["kind"], doc["metadata"]["name"])] = doc
    return objects


def example_keys():
    """Dotted keys of deploy/derivd.example.toml, commented-out ones included."""
    keys, section = set(), ""
    for line in (ROOT / "deploy" / "derivd.example.toml").read_text().splitlines():
        if m := re.match(r"^#? ?\[\[?([a-z_.]+)\]\]?\s*$", line):
            section = m.group(1)
        elif m := re.match(r"^#? ?([a-z_]+) =", line):
            keys.add(f"{section}.{m.group(1)}" if section else m.group(1))
    return keys


def leaf_keys(table, prefix=""):
    for key, value in table.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict):
            yield from leaf_keys(value, dotted + ".")
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            for item in value:
                yield from leaf_keys(item, dotted + ".")
        else:
            yield dotted


def memory_bytes(quantity):
    units = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "K": 10**3, "M": 10**6, "G": 10**9}
    m = re.fullmatch(r"(\d+)([KMG]i?)?", quantity)
    return int(m.group(1)) * units.get(m.group(2) or "", 1)


def check_keda(objects):
    schemas = {
        kind: json.loads((K8S / "schemas" / f"{kind.lower()}.schema.json").read_text())
        for kind in ("ScaledObject", "TriggerAuthentication")
    }
    for schema in schemas.values():
        jsonschema.Draft202012Validator.check_schema(schema)
    for (kind, name), obj in objects.items():
        if kind in schemas:
            for err in jsonschema.Draft202012Validator(schemas[kind]).iter_errors(obj):
                fail(f"{kind}/{name}: {'/'.join(map(str, err.absolute_path))}: {err.message}")
    so = objects[("ScaledObject", "derivd-worker")]
    typo = copy.deepcopy(so)
    typo["spec"]["minReplicas"] = typo["spec"].pop("minReplicaCount")
    if jsonschema.Draft202012Validator(schemas["ScaledObject"]).is_valid(typo):
        fail("the ScaledObject schema accepts a typo'd field (minReplicas): it is not strict")
    spec = so["spec"]
    if ("Deployment", spec["scaleTargetRef"]["name"]) not in objects:
        fail(f"ScaledObject targets {spec['scaleTargetRef']['name']}, no such Deployment")
    if spec.get("minReplicaCount", 0) > spec.get("maxReplicaCount", 100):
        fail("ScaledObject: minReplicaCount > maxReplicaCount")
    config = tomllib.loads(objects[("ConfigMap", "derivd-config")]["data"]["derivd.toml"])
    for trig in spec["triggers"]:
        ref = trig.get("authenticationRef", {}).get("name")
        if ref and ("TriggerAuthentication", ref) not in objects:
            fail(f"trigger {trig.get('name')}: no TriggerAuthentication {ref}")
        if trig["type"] == "aws-sqs-queue" and trig["metadata"].get("queueURL") != config["queue"]["jobs"]:
            fail("the aws-sqs-queue trigger watches another queue than derivd.toml's queue.jobs")


def check_configmaps(objects, known):
    transforms = objects[("ConfigMap", "derivd-transforms")]["data"]
    files = {p.name: p.read_text() for p in sorted((ROOT / "transforms").glob("*.toml"))}
    if transforms != files:
        differ = sorted(set(transforms) ^ set(files) | {k for k in files if transforms.get(k) != files[k]})
        fail(f"ConfigMap derivd-transforms differs from transforms/*.toml: {', '.join(differ)}")
    config = tomllib.loads(objects[("ConfigMap", "derivd-config")]["data"]["derivd.toml"])
    for key in leaf_keys(config):
        if key not in known:
            fail(f"derivd.toml in ConfigMap derivd-config: unknown key {key}")
    return config


def check_container(name, pod, config, known):
    (c,) = pod["containers"]
    env = {e["name"]: e.get("value") for e in c.get("env", [])}
    for var in env:
        if var.startswith("DERIVD_") and var not in ("DERIVD_CONFIG", "DERIVD_LOG"):
            key = ".".join(var[len("DERIVD_"):].lower().split("__"))
            if key not in known | KEYS_NOT_IN_EXAMPLE:
                fail(f"{name}: {var} is no config key ({key})")
    roles = json.loads(env.get("DERIVD_SERVE__ROLES", '["jobs", "repair", "http"]'))
    if not set(roles) <= ROLES or not roles:
        fail(f"{name}: roles {roles} (known: {sorted(ROLES)})")
    if name == "derivd-worker" and roles != ["jobs"]:
        fail(f"derivd-worker must run the jobs role only, not {roles}")
    if name == "derivd-service" and "jobs" in roles:
        fail("derivd-service must not consume jobs (KEDA scales the worker on them)")
    limit = memory_bytes(c["resources"]["limits"]["memory"])
    if limit <= config["worker"]["memory_budget_bytes"]:
        fail(f"{name}: memory limit {limit} is not above worker.memory_budget_bytes")
    if c["resources"]["requests"]["memory"] != c["resources"]["limits"]["memory"]:
        fail(f"{name}: memory request != limit (derivd sizes itself from the limit)")
    pause = c.get("lifecycle", {}).get("preStop", {}).get("sleep", {}).get("seconds", 0)
    drain = config["worker"].get("shutdown_grace_secs", 30)
    if pod.get("terminationGracePeriodSeconds", 30) <= pause + drain:
        fail(f"{name}: terminationGracePeriodSeconds not above preStop {pause} s + drain {drain} s")
    sc, psc = c.get("securityContext", {}), pod.get("securityContext", {})
    wanted = [
        (psc.get("runAsNonRoot"), True, "runAsNonRoot"),
        (psc.get("runAsUser"), IMAGE_UID, "runAsUser (the image's user)"),
        (sc.get("readOnlyRootFilesystem"), True, "readOnlyRootFilesystem"),
        (sc.get("allowPrivilegeEscalation"), False, "allowPrivilegeEscalation"),
        (sc.get("capabilities", {}).get("drop"), ["ALL"], "capabilities.drop"),
    ]
    for got, want, what in wanted:
        if got != want:
            fail(f"{name}: {what} is {got!r}, want {want!r}")
    for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
        if c.get(probe, {}).get("httpGet", {}).get("path") != path:
            fail(f"{name}: {probe} must GET {path}")


def main():
    objects = load_objects()
    known = example_keys()
    check_keda(objects)
    config = check_configmaps(objects, known)
    for name in ("derivd-worker", "derivd-service"):
        check_container(name, objects[("Deployment", name)]["spec"]["template"]["spec"], config, known)
    if problems:
        print("\n".join(problems), file=sys.stderr)
        sys.exit(1)
    print(f"ok: {len(objects)} objects consistent; KEDA objects match deploy/k8s/schemas/")


main()
