"""Mutation harness (issue 9 item 4): plant one bug at a time in a COPY of the
repository and check that the relevant tests catch it.

    python tests/mutation/run.py                 # every mutation, targeted tests
    python tests/mutation/run.py --list          # the catalogue
    python tests/mutation/run.py --only flow-    # ids starting with "flow-"
    python tests/mutation/run.py --with-module-tests   # also the target module's own test file

The working tree is copied once to a temporary directory (without .git and
caches); each mutation rewrites one file there (a regular expression that must
match exactly once: refactored code makes the mutation "stale", reported as
such, never silently skipped), runs the mutation's tests in the copy with
``python -m pytest -x`` (the copy's ``certify`` is imported: it comes first on
``sys.path``, the editable install's finder is last), then restores the file.
Before any mutation the same test selections run on the unmutated copy: a
selection that fails there makes its mutations "baseline-broken", not caught.

Outcome per mutation: ``caught`` (a test failed or errored), ``survived``
(all passed), ``timeout`` (counted as caught, reported separately),
``stale`` (pattern not found).  Exit status 0 iff nothing survived and
nothing is stale or baseline-broken.  Never run on the repository itself.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

KERNELS = "tests/test_kernels.py"
SOUND = "tests/test_soundness.py"


@dataclass
class Mutation:
    id: str
    file: str
    pattern: str  # regex, must match exactly once
    replacement: str
    tests: list  # pytest arguments (paths, -k expressions)
    kind: str
    module_tests: list = field(default_factory=list)  # with --with-module-tests


def M(id, file, pattern, replacement, tests, kind, module_tests=()):
    return Mutation(id, file, pattern, replacement, list(tests), kind, list(module_tests))


FLOW_T = [KERNELS, "-k", "spectral or gronwall"]
FLOW_S = [KERNELS, SOUND, "-k", "spectral or gronwall or flow or balancedness or nonincreasing or gap"]
ARITH_T = [KERNELS, SOUND, "-k", "backend or arith"]
CHECK_T = [KERNELS, "-k", "check_"]
COND_T = [KERNELS, "-k", "verdict or set_margin or conditions"]
CURV_T = [KERNELS, "-k", "curvature or conditions_int"]
SMALL_T = [KERNELS, "-k", "concave or required_eta or gap_table"]
GAP_T = [KERNELS, SOUND, "-k", "gap"]

MUTATIONS = [
    # ---- certify/bounds/spectral.py spectral_upper, certify/bounds/gronwall.py gronwall_update (S3.1, S4.2) -----------------
    M("flow-spectral-halved", "certify/bounds/spectral.py",  # issue 9 escape 3
      r"(def spectral_upper\(M\)[\s\S]*?)return min\(own, _hi\(bound\)\)",
      r"\1return min(own, _hi(bound)) / 2", FLOW_T, "halved bound", ["tests/test_flow.py"]),
    M("flow-spectral-no-rescale", "certify/bounds/spectral.py",
      r"\) \* arb\(c\)\.sqrt\(\)", ")", FLOW_T, "dropped term", ["tests/test_flow.py"]),
    M("flow-spectral-own-halved", "certify/bounds/spectral.py",
      r"(def spectral_upper\(M\)[\s\S]*?)own = M\.norm_2_upper\(\)", r"\1own = M.norm_2_upper() / 2",
      FLOW_T, "halved bound", ["tests/test_flow.py"]),
    M("flow-spectral-root-off-by-one", "certify/bounds/spectral.py",
      r"\(arb\(1\) / \(2 \* k\)\)", "(arb(1) / (4 * k))", FLOW_T, "off-by-one", ["tests/test_flow.py"]),
    M("flow-gronwall-sign", "certify/bounds/gronwall.py",
      r"return _hi\(E \* arb\(e0\) \+ arb\(delta\) \* growth\)", "return _hi(E * arb(e0) - arb(delta) * growth)",
      FLOW_S, "sign flip", ["tests/test_flow.py"]),
    M("flow-gronwall-drop-e0-growth", "certify/bounds/gronwall.py",
      r"return _hi\(E \* arb\(e0\) \+", "return _hi(arb(e0) +", FLOW_T, "dropped term", ["tests/test_flow.py"]),
    M("flow-gronwall-mu0-half", "certify/bounds/gronwall.py",
      r"if mu == 0:\n(\s+)growth = H\n", r"if mu == 0:\n\1growth = H / 2\n", FLOW_T, "halved bound",
      ["tests/test_flow.py"]),
    M("flow-gronwall-exp-off", "certify/bounds/gronwall.py",
      r"E = \(M \* H\)\.exp\(\)", "E = (M * H / 2).exp()", FLOW_T, "off-by-one", ["tests/test_flow.py"]),
    # ---- certify/arith/_float64.py ------------------------------------------------------
    M("f64-matmul-no-gamma", "certify/arith/_float64.py",
      r"R = gamma\(k\) \* \(aA @ aB\)", "R = 0.0 * (aA @ aB)", ARITH_T, "dropped rounding term",
      ["tests/test_arith.py"]),
    M("f64-matmul-gamma-k-minus-1", "certify/arith/_float64.py",
      r"R = gamma\(k\) \* \(aA @ aB\)", "R = gamma(k - 1) * (aA @ aB)", ARITH_T, "off-by-one",
      ["tests/test_arith.py"]),
    M("f64-matmul-no-right-radius", "certify/arith/_float64.py",
      r"\n(\s+)if Br is not None:\n\s+R = R \+ aA @ Br\n", r"\n\1pass\n", ARITH_T, "dropped term",
      ["tests/test_arith.py"]),
    M("f64-matmul-no-left-radius", "certify/arith/_float64.py",
      r"R = R \+ Ar @ \(aB if Br is None else aB \+ Br\)", "R = R", ARITH_T, "dropped term",
      ["tests/test_arith.py"]),
    M("f64-addsub-no-rounding", "certify/arith/_float64.py",
      r"(def _addsub[\s\S]*?)R = U \* np\.abs\(C\)", r"\1R = 0.0 * np.abs(C)", ARITH_T, "dropped rounding term",
      ["tests/test_arith.py"]),
    M("f64-addsub-sign", "certify/arith/_float64.py",
      r"C = self\.m \+ other\.m if sign > 0 else self\.m - other\.m",
      "C = self.m + other.m if sign < 0 else self.m - other.m", ARITH_T, "sign flip", ["tests/test_arith.py"]),
    M("f64-scalar-no-rounding", "certify/arith/_float64.py",
      r"(def __mul__[\s\S]*?)R = U \* np\.abs\(C\) \+ ETA", r"\1R = 0.0 * np.abs(C)", ARITH_T,
      "dropped rounding term", ["tests/test_arith.py"]),
    M("f64-scalar-no-radius", "certify/arith/_float64.py",
      r"R = R \+ abs\(sf\) \* self\.r", "R = R", ARITH_T, "dropped term", ["tests/test_arith.py"]),
    M("f64-convert-no-radius", "certify/arith/_float64.py",
      r"r\[idx\] = math\.nextafter\(float\(d\), math\.inf\) if d else 0\.0", "r[idx] = 0.0", ARITH_T,
      "dropped rounding term", ["tests/test_arith.py"]),
    M("f64-normf-halved", "certify/arith/_float64.py",
      r"(def norm_f_upper[\s\S]*?)v = math\.nextafter\(math\.sqrt\(s\), math\.inf\)",
      r"\1v = math.sqrt(s) / 2", ARITH_T, "halved bound", ["tests/test_arith.py"]),
    M("f64-norm2-halved", "certify/arith/_float64.py",
      r"return min\(self\.norm_f_upper\(\), math\.nextafter\(math\.sqrt\(up\(n1 \* ni, 1\)\), math\.inf\)\)",
      "return min(self.norm_f_upper(), math.sqrt(n1 * ni)) / 2", ARITH_T, "halved bound",
      ["tests/test_arith.py"]),
    M("f64-abs-upper-no-radius", "certify/arith/_float64.py",
      r"return a if self\.r is None else up\(a \+ self\.r, 1\)", "return a", ARITH_T, "dropped term",
      ["tests/test_arith.py"]),
    # ---- certify/arith/_arb.py, _iv.py -------------------------------------------------
    M("arb-radmax-halved", "certify/arith/_arb.py",
      r"v = max\(\(hi\(x\.rad\(\)\) for x in self\._entries\(\)\), default=0\.0\)",
      "v = max((hi(x.rad()) / 2 for x in self._entries()), default=0.0)", ARITH_T, "halved bound",
      ["tests/test_arith.py"]),
    M("arb-normf-no-square", "certify/arith/_arb.py",
      r"s \+= u \* u", "s += u * u / 4", ARITH_T, "halved bound", ["tests/test_arith.py"]),
    M("arb-matrix-mid-only", "certify/arith/_arb.py",
      r"def __add__\(self, other\):\n(\s+)return ArbMat\(self\.a \+ other\.a\)",
      r"def __add__(self, other):\n\1return ArbMat((self.a + other.a).mid())", ARITH_T, "dropped rounding term",
      ["tests/test_arith.py"]),
    M("arb-scalar-sign", "certify/arith/_arb.py",
      r"return ArbMat\(self\.a \* _arb_scalar\(s\)\)", "return ArbMat(self.a * (-_arb_scalar(s)))", ARITH_T,
      "sign flip", ["tests/test_arith.py"]),
    M("iv-matmul-off-by-one", "certify/arith/_iv.py",
      r"for l in range\(k\):\n(\s+)s = s \+ A\[i, l\] \* B\[l, j\]",
      r"for l in range(k - 1):\n\1s = s + A[i, l] * B[l, j]", ARITH_T, "off-by-one", ["tests/test_arith.py"]),
    M("iv-sub-sign", "certify/arith/_iv.py",
      r"return self\._binary\(other, lambda u, v: u - v\)", "return self._binary(other, lambda u, v: u + v)",
      ARITH_T, "sign flip", ["tests/test_arith.py"]),
    # ---- certify/curvature/profile.py: the certified int m (issue 9 escape 1) -------------------
    M("curv-int-m-halved", "certify/curvature/profile.py",
      r"acc \+= arb\(s\.mu\) \* arb\(fmpq\(s\.h\.numerator, s\.h\.denominator\)\)",
      "acc += arb(s.mu) * arb(fmpq(s.h.numerator, s.h.denominator)) / 2", CURV_T, "halved bound",
      ["tests/test_curvature.py"]),
    M("curv-int-m-last-step-dropped", "certify/curvature/profile.py",
      r"for s in enc\.steps:\n(\s+)acc \+=", r"for s in enc.steps[:-1]:\n\1acc +=", CURV_T, "off-by-one",
      ["tests/test_curvature.py"]),
    # ---- certify/conditions/: verdict logic (escape 5: int m = 0) ---------------------
    M("cond-holds-for-undetermined", "certify/conditions/base.py",
      r"(def _verdict\(mlo, mhi\)[\s\S]*?)return Status\.UNDETERMINED", r"\1return Status.HOLDS", COND_T,
      "holds for undetermined", ["tests/test_conditions.py"]),
    M("cond-holds-at-zero", "certify/conditions/base.py",
      r"if mlo is not None and mlo > 0:", "if mlo is not None and mlo >= 0:", COND_T, "off-by-one",
      ["tests/test_conditions.py"]),
    M("cond-fails-sign", "certify/conditions/base.py",
      r"if mhi is not None and mhi < 0:", "if mhi is not None and mhi > 0:", COND_T, "sign flip",
      ["tests/test_conditions.py"]),
    M("cond-precondition-ignored", "certify/conditions/base.py",
      r"if st is Status\.HOLDS and not precondition:", "if st is Status.HOLDS and not precondition and False:",
      COND_T, "holds for undetermined", ["tests/test_conditions.py"]),
    M("cond-int-m-zero", "certify/conditions/curvature.py",
      r"\"int_m_upper\": claim_up\(hi\(int_m\)\)", '"int_m_upper": 0.0', CURV_T, "escape 5: int m = 0",
      ["tests/test_conditions.py"]),
    # ---- certify/gap/smallstep.py (escape 4: table replaced by constants) -------------------
    M("small-table-constants", "certify/gap/smallstep.py",
      r"lo_, hi_ = concave_gap\(mu, theta0, eta, k\)", "lo_, hi_ = 0.0, 1.0", SMALL_T, "escape 4: constants",
      ["tests/test_smallstep.py"]),
    M("small-table-certified-constants", "certify/gap/smallstep.py",
      r"rows\.append\(SmallStepRow\(name, k \* eta, eta, c\.gap_lower, c\.gap_upper,",
      "rows.append(SmallStepRow(name, k * eta, eta, 1e-3, 2e-3,", SMALL_T, "escape 4: constants",
      ["tests/test_smallstep.py"]),
    M("small-gd-off-by-one", "certify/gap/smallstep.py",
      r"gd = T0 \* \(1 \+ E \* M\) \*\* k", "gd = T0 * (1 + E * M) ** (k - 1)", SMALL_T, "off-by-one",
      ["tests/test_smallstep.py"]),
    M("small-required-eta-off-by-one", "certify/gap/smallstep.py",
      r"return t / hi_k, hi_k, est", "return t / (hi_k - 1), hi_k - 1, est",
      SMALL_T, "off-by-one", ["tests/test_smallstep.py"]),
    M("small-gap-sign", "certify/gap/smallstep.py",
      r"d = abs\(gf - gd\)", "d = abs(gf + gd)", SMALL_T, "sign flip", ["tests/test_smallstep.py"]),
    # ---- certify/check/_arith.py --------------------------------------------------------
    M("check-gamma-halved", "certify/check/_arith.py",
      r"return k \* U / \(1\.0 - k \* U\) \* \(1\.0 \+ 4\.0 \* U\)", "return k * U / 2", CHECK_T, "halved bound",
      ["tests/test_check_kernel.py"]),
    M("check-infl-dropped", "certify/check/_arith.py",
      r"return c \* \(1\.0 \+ 2\.0 \* \(n \+ 2\) \* U\) \+ 2\.0 \* \(n \+ 2\) \* 2\.0\*\*-1060", "return c",
      CHECK_T, "dropped rounding term", ["tests/test_check_kernel.py"]),
    M("check-mm-no-gamma", "certify/check/_arith.py",
      r"inner = gamma\(k\) \* aB \+ TINY if Br is None else gamma\(k\) \* aB \+ TINY \+ Br",
      "inner = TINY * aB if Br is None else TINY * aB + Br", CHECK_T, "dropped rounding term",
      ["tests/test_check_kernel.py"]),
    M("check-mm-no-left-radius", "certify/check/_arith.py",
      r"R = R \+ Ar @ \(aB if Br is None else aB \+ Br\)", "R = R", CHECK_T, "dropped term",
      ["tests/test_check_kernel.py"]),
    M("check-addsub-no-rounding", "certify/check/_arith.py",
      r"(def addsub[\s\S]*?)R = U \* np\.abs\(C\)", r"\1R = 0.0 * np.abs(C)", CHECK_T, "dropped rounding term",
      ["tests/test_check_kernel.py"]),
    M("check-spec2-halved", "certify/check/_arith.py",
      r"return min\(best, hi\(bound\)\)", "return min(best, hi(bound)) / 2", CHECK_T, "halved bound",
      ["tests/test_check_kernel.py"]),
    M("check-spec2-root-off-by-one", "certify/check/_arith.py",
      r"bound = \(L / 2\)\.exp\(\)", "bound = (L / 4).exp()", CHECK_T, "off-by-one",
      ["tests/test_check_kernel.py"]),
    M("check-fro-diff-halved", "certify/check/_arith.py",
      r"return math\.nextafter\(v \* \(1\.0 \+ 2\.0 \* U\), math\.inf\) if math\.isfinite\(v\) else math\.inf",
      "return v / 2",
      CHECK_T, "halved bound", ["tests/test_check_kernel.py"]),
    M("check-frac-up-down", "certify/check/_arith.py",
      r"return math\.nextafter\(f, math\.inf\) if Fraction\(f\) < q else f",
      "return math.nextafter(f, -math.inf) if Fraction(f) > q else f", CHECK_T, "sign flip",
      ["tests/test_check_kernel.py"]),
    # ---- certify/gap/ (escape 2; being rewritten: patterns on the S4.4 formula only) ---
    M("gap-two-sided-drops-r", "certify/gap/certificate.py",
      r"hi\(arb\(dist_hi\) \+ arb\(radius\) \+ arb\(r\)\)", "hi(arb(dist_hi) + arb(radius))", GAP_T,
      "escape 2: GD ball dropped", ["tests/test_gap.py"]),
    M("gap-lower-drops-r", "certify/gap/certificate.py",
      r"lo\(arb\(dist_lo\) - arb\(radius\) - arb\(r\)\)", "lo(arb(dist_lo) - arb(radius))", GAP_T,
      "escape 2: GD ball dropped", ["tests/test_gap.py"]),
    M("gap-r-recursion-drops-rounding", "certify/gap/blocks.py",
      r"return up\(q \* r \+ rnd, 2\)", "return up(q * r, 2)", GAP_T, "dropped rounding term",
      ["tests/test_gap.py"]),
    M("gap-r-recursion-no-growth", "certify/gap/blocks.py",
      r"q = max\(up\(1\.0 \+ eta \* mu, 2\), math\.nextafter\(up\(eta \* beta, 1\) - 1\.0, math\.inf\)\)",
      "q = 1.0", GAP_T, "dropped term", ["tests/test_gap.py"]),
    M("gap-two-sided-drops-gf-radius", "certify/gap/certificate.py",
      r"hi\(arb\(dist_hi\) \+ arb\(radius\) \+ arb\(r\)\)", "hi(arb(dist_hi) + arb(r))", GAP_T, "dropped term",
      ["tests/test_gap.py"]),
    # ---- S3.4-data: the data-weighted Gauss-Newton bound (producer and checker) -------------
    M("dw-drops-remainder", "certify/bounds/s31.py",
      r"plain, weighted = sG \* b2, c \* v \* v \+ s_r \* b2", "plain, weighted = sG * b2, c * v * v",
      ["tests/test_data_split.py"], "dropped term"),
    M("dw-u-norm-not-widened", "certify/bounds/s31.py",
      r"return self\.base\.uvec\[b\] \+ \(self\.pn\(b, 1\) - self\.base\.sigma\[\(b, 1\)\]\)",
      "return self.base.uvec[b]", ["tests/test_data_split.py"], "dropped term"),
    M("dw-moved-u-not-widened", "certify/bounds/s31.py",
      r"uvec = \{b: v \+ \(out\[\(b, 1\)\] - self\.sigma\[\(b, 1\)\]\) for b, v in self\.uvec\.items\(\)\}",
      "uvec = dict(self.uvec)", ["tests/test_data_split.py"], "dropped term"),
    M("dw-check-drops-remainder", "certify/check/_verify.py",
      r"w, plain = cc \* v \* v \+ sr \* b2, sG \* b2", "w, plain = cc * v * v, sG * b2",
      ["tests/test_data_split.py"], "dropped term"),
    M("dw-check-unit-norm-skipped", "certify/check/_gd_check.py",
      r"if sum\(Fraction\(float\(x\)\) \*\* 2 for x in u\) > 1:", "if False:",
      ["tests/test_data_split.py"], "check skipped"),
    # ---- S3.1-G: G-weighted products (producer and checker) ---------------------------------
    M("s31g-g-motion-dropped", "certify/bounds/s31.py",
      r"M = \[\[g_t \* self\.C\[a\]\[b\] \+ self\.D\[a\]\[b\]",
      "M = [[self.base.g0 * self.C[a][b] + self.D[a][b]", ["tests/test_s31_weighted.py"], "dropped term"),
    M("s31g-origin-not-subtracted", "certify/bounds/s31.py",
      r"d = w - nrm0\(N, j \+ 1\) \* base\.g0 \* nrm0\(i - 1, 1\)", "d = w - 2 * nrm0(N, j + 1) * base.g0 * nrm0(i - 1, 1)",
      ["tests/test_s31_weighted.py"], "wrong constant"),
    M("s31g-product-drops-prefix", "certify/bounds/s31.py",
      r"out\[\(i, j\)\] = left if pre\[i - 1\] is None else left @ pre\[i - 1\]\.T", "out[(i, j)] = left",
      ["tests/test_s31_weighted.py"], "wrong formula"),
    M("s31g-check-gdiff-dropped", "certify/check/_verify.py",
      r"mu = mu \+ arb\(gdiff\) \* arb\(lam\)", "mu = mu", ["tests/test_s31_weighted.py"], "dropped term"),
    M("s31g-check-claims-unchecked", "certify/check/_verify.py",
      r"truth\(f\"\{where\}\.gw_norm2\[\{m_i\}\]\[2\]\", out\[\(i, j\)\], own\[\(i, j\)\], tally\)", "pass",
      ["tests/test_s31_weighted.py"], "check skipped"),
    # ---- issue 12: kernel losses (producer) ---------------------------------------------------
    M("ce-exp-mid-error-zero", "certify/losses/_kernels.py", r"EXP_MID_REL = 6\.0 \* U", "EXP_MID_REL = 0.0 * U",
      ["tests/test_ce_certified.py", "-k", "exp_mid"], "wrong constant"),
]


# ---------------------------------------------------------------------------


def copy_repo(dst: Path) -> None:
    ignore = shutil.ignore_patterns(".git", ".hypothesis", "__pycache__", "*.pyc", ".pytest_cache",
                                    "certify-demo", "*.egg-info", ".ipynb_checkpoints")
    shutil.copytree(ROOT, dst, ignore=ignore)


def run_tests(copy: Path, args: list, timeout: float) -> tuple[str, float, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(copy) + os.pathsep + str(copy / "tests")
    env["CERTIFY_HYPOTHESIS_PROFILE"] = "ci"
    env.pop("CERTIFY_CAMPAIGN_FRACTION", None)
    cmd = [sys.executable, "-m", "pytest", "-n", "0", "-x", "-q", "-rfE", "-p", "no:cacheprovider", "-p", "no:warnings",
           "--hypothesis-seed=0", *args]
    t = time.perf_counter()
    try:
        res = subprocess.run(cmd, cwd=copy, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return "timeout", time.perf_counter() - t, ""
    lines = res.stdout.strip().splitlines()
    # the first failing test (what caught the mutation), else pytest's summary line
    tail = next((l for l in lines if l.startswith(("FAILED", "ERROR"))), lines[-1] if lines else "")
    return ("passed" if res.returncode == 0 else f"failed(rc={res.returncode})"), time.perf_counter() - t, tail


def check_import(copy: Path) -> None:
    env = dict(os.environ, PYTHONPATH=str(copy))
    out = subprocess.run([sys.executable, "-c", "import certify; print(certify.__file__)"], cwd=copy, env=env,
                         capture_output=True, text=True, check=True).stdout.strip()
    if not out.startswith(str(copy)):
        raise SystemExit(f"the copy's certify is not the one imported ({out}): refusing to run")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default="", help="run the mutations whose id starts with this prefix")
    ap.add_argument("--list", action="store_true", help="print the catalogue and exit")
    ap.add_argument("--with-module-tests", action="store_true", help="also run each target module's own tests")
    ap.add_argument("--timeout", type=float, default=900.0, help="seconds per test run (default 900)")
    args = ap.parse_args(argv)
    muts = [m for m in MUTATIONS if m.id.startswith(args.only)]
    if args.list:
        for m in muts:
            print(f"{m.id:34s} {m.kind:28s} {m.file}")
        print(f"{len(muts)} mutations")
        return 0
    if not muts:
        print(f"no mutation id starts with {args.only!r}", file=sys.stderr)
        return 2

    def selection(m):
        return m.tests + (m.module_tests if args.with_module_tests else [])

    with tempfile.TemporaryDirectory(prefix="certify-mutation-") as tmp:
        copy = Path(tmp) / "repo"
        copy_repo(copy)
        check_import(copy)
        print(f"copy: {copy}")
        baseline = {}
        for sel in {tuple(selection(m)) for m in muts}:
            st, dt, tail = run_tests(copy, list(sel), args.timeout)
            baseline[sel] = st
            print(f"baseline {st:10s} {dt:6.1f}s  {' '.join(sel)}  [{tail}]")
        results = []
        for m in muts:
            path = copy / m.file
            original = path.read_text()
            mutated, n = re.subn(m.pattern, m.replacement, original, count=0)
            if n != 1:
                outcome, dt, tail = ("stale" if n == 0 else f"stale({n} matches)"), 0.0, ""
            elif baseline[tuple(selection(m))] != "passed":
                outcome, dt, tail = "baseline-broken", 0.0, ""
            else:
                path.write_text(mutated)
                try:
                    st, dt, tail = run_tests(copy, selection(m), args.timeout)
                finally:
                    path.write_text(original)
                outcome = "survived" if st == "passed" else ("timeout" if st == "timeout" else "caught")
            results.append((m, outcome, dt))
            print(f"{outcome:16s} {dt:6.1f}s  {m.id:34s} {m.kind}  [{tail}]", flush=True)
    planted = [r for r in results if not r[1].startswith("stale") and r[1] != "baseline-broken"]
    caught = [r for r in planted if r[1] in ("caught", "timeout")]
    print(f"\nplanted {len(planted)}, caught {len(caught)} "
          f"({sum(r[1] == 'timeout' for r in planted)} by timeout), "
          f"survived {sum(r[1] == 'survived' for r in planted)}, "
          f"stale {sum(r[1].startswith('stale') for r in results)}, "
          f"baseline-broken {sum(r[1] == 'baseline-broken' for r in results)}")
    for m, outcome, _ in results:
        if outcome not in ("caught", "timeout"):
            print(f"  {outcome}: {m.id} ({m.file})")
    return 0 if len(caught) == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
