#!/usr/bin/env python3
"""Rewrites the derivd-transforms ConfigMap in deploy/k8s/configmap.yaml from transforms/*.toml
(one key per file, byte for byte), which scripts/lint-k8s.py checks. Run after editing a
transform:  python3 scripts/k8s-transforms.py"""
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parent.parent
path = ROOT / "deploy/k8s/configmap.yaml"
docs = re.split(r"(?m)^---\n", path.read_text())
for i, doc in enumerate(docs):
    if re.search(r"(?m)^  name: derivd-transforms$", doc):
        head = doc[: doc.index("\ndata:\n") + len("\ndata:\n")]
        body = ""
        for f in sorted((ROOT / "transforms").glob("*.toml")):
            text = f.read_text()
            assert text.endswith("\n"), f"{f} must end with a newline"
            lines = "".join(("    " + line if line.strip() else "\n") if not line.endswith("\n") else
                            ("    " + line if line.strip() else "\n") for line in text.splitlines(True))
            body += f"  {f.name}: |\n{lines}"
        docs[i] = head + body
        break
else:
    raise SystemExit("no ConfigMap derivd-transforms in deploy/k8s/configmap.yaml")
path.write_text("---\n".join(docs))
print(f"{path.relative_to(ROOT)}: derivd-transforms = transforms/*.toml")
