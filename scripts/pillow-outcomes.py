#!/usr/bin/env python3
"""Records Pillow's outcome for every file of the peers' test suites (../shared/corpus/suites).

    .ci/.venv/bin/python scripts/pillow-outcomes.py [SUITES] [OUT]

SUITES defaults to ../shared/corpus/suites, OUT to tests/fixtures/suites/pillow-outcomes.json.
Pillow is pinned in scripts/requirements-pillow.txt, which scripts/test.sh installs into
.ci/.venv. For each file (path relative to SUITES) it writes whether Pillow opens *and decodes*
it (`Image.open` then `load()`, Pillow's defaults: no truncated images, its decompression-bomb
limit), and if so the format, MIME type, mode and size; otherwise the exception's class.
tests/engine_suites.rs compares derivd's engine with this file. Re-run it when the suites
folder or the Pillow pin changes (the test checks that the file lists exactly the folder).
"""

import json
import os
import signal
import sys
import warnings
from pathlib import Path

import PIL
from PIL import Image

TIMEOUT_S = 30


class Timeout(Exception):
    pass


def on_alarm(_sig, _frame):
    raise Timeout()


def outcome(path):
    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(TIMEOUT_S)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(path) as im:
                fmt, mime = im.format, im.get_format_mimetype()
                im.load()
                return {"decodes": True, "format": fmt, "mime": mime,
                        "mode": im.mode, "size": list(im.size)}
    except Timeout:
        return {"decodes": False, "error": f"timeout after {TIMEOUT_S} s"}
    except Exception as e:  # Pillow's refusal, whatever its class, is the outcome
        return {"decodes": False, "error": type(e).__name__}
    finally:
        signal.alarm(0)


def main():
    root = Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/corpus/suites")
    out = Path(sys.argv[2] if len(sys.argv) > 2 else "tests/fixtures/suites/pillow-outcomes.json")
    # Pillow's libtiff prints every warning and error to stderr; the outcome is what counts.
    os.dup2(os.open(os.devnull, os.O_WRONLY), 2)
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.name != "SOURCES.md")
    results = {str(p.relative_to(root)): outcome(p) for p in files}
    doc = {"pillow": PIL.__version__, "files": results}
    out.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")
    decoded = sum(r["decodes"] for r in results.values())
    print(f"{len(results)} files, Pillow {PIL.__version__} decodes {decoded}: {out}")


if __name__ == "__main__":
    main()
