"""Golden outputs (issue 10): certificates and reports that a refactor must
reproduce byte for byte.  ``python tests/golden/make.py`` rewrites them (do
that only when a change of output is intended, and say so in the commit);
``tests/test_golden.py`` regenerates each into a temporary folder and
compares bytes.

The ``provenance`` block (library versions) legitimately differs between
installs, and the conditions report's top-level ``seconds`` (its run time) between
runs; both are normalised on both sides before the comparison.  Everything else, every float's bits included, must be identical
float64 results depend on the BLAS kernel that OpenBLAS picks for the CPU
(summation order inside matrix products), so ``ENV.json`` records the kernel
and numpy version the files were written with: under the same kernel and
numpy the comparison is bit for bit; under another one ``tests/test_golden.py``
compares structure, strings, integers and booleans exactly and floats (hex
spellings included) to a relative 1e-9 or an absolute 1e-12 (rounding-error
radii and margins at the rounding level move with the kernel), and says so in its test id.
"""

from __future__ import annotations

import io
import json
import sys
from contextlib import redirect_stdout
from pathlib import Path

HERE = Path(__file__).resolve().parent

# name -> command line; "{out}" is the output path, stdout is captured when absent
CASES = {
    "demo-gap.json": ["gap", "builtin:demo", "--eta", "0.01", "--steps", "200", "--every", "50", "--out", "{out}"],
    "square-gap.json": ["gap", "builtin:diabetes", "--eta", "0.01", "--steps", "60", "--every", "20",
                        "--out", "{out}"],
    "flow.json": ["flow", "builtin:demo", "--t-end", "1", "--checkpoints", "4", "--out", "{out}"],
    "distance.json": ["distance", "builtin:demo", "--eta", "0.01", "--steps", "40", "--ratios", "2",
                      "--every", "20", "--out", "{out}"],
    "converge.json": ["converge", "builtin:demo", "--eps", "0.05", "--eta", "0.01", "--out", "{out}"],
    "conditions.json": ["conditions", "builtin:demo", "--eta", "0.01", "--eps", "0.05", "--json"],
}


def normalise(text: str) -> dict:
    obj = json.loads(text)

    def walk(x):
        if isinstance(x, dict):
            return {k: ({} if k == "provenance" else walk(v)) for k, v in x.items()}
        if isinstance(x, list):
            return [walk(v) for v in x]
        return x

    obj = walk(obj)
    if "seconds" in obj:
        obj["seconds"] = 0.0
    return obj


def environment() -> dict:
    """What the float64 bits depend on: numpy's version and its BLAS kernel."""
    import numpy
    import threadpoolctl

    blas = [
        i for i in threadpoolctl.threadpool_info()
        if i.get("user_api") == "blas" and "numpy" in str(i.get("filepath", ""))
    ]
    return {
        "numpy": numpy.__version__,
        "blas": [f"{i.get('internal_api')} {i.get('version')} {i.get('architecture')}" for i in blas],
    }


def produce(name: str, folder: Path) -> str:
    """Run one case's command; return the output text."""
    from certify.cli import main

    out = folder / name
    argv = [a.replace("{out}", str(out)) for a in CASES[name]]
    buf = io.StringIO()
    with redirect_stdout(buf):
        rc = main(argv)
    if rc != 0:
        raise RuntimeError(f"{name}: certify {' '.join(argv)} exited {rc}")
    return out.read_text() if "{out}" in CASES[name] else buf.getvalue()


def main() -> int:
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        for name in CASES:
            (HERE / name).write_text(produce(name, Path(d)))
            print("wrote", HERE / name)
    (HERE / "ENV.json").write_text(json.dumps(environment(), indent=2) + "\n")
    print("wrote", HERE / "ENV.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
