"""Benchmarks (not part of the default test run):  python tests/benchmarks/run.py

Every timing is reported as a ratio against a baseline measured in the same
run on the same machine; nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time

import numpy as np

import certify
from certify import Objective, problem_from_dict
from certify._flow import enclose_flow


def timeit(fn, repeat=3):
    best = float("inf")
    out = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def large_problem(width=64):
    """>= 10^4 parameters, whitened, balanced near-zero init (benign curvature)."""
    rng = np.random.default_rng(0)
    target = (0.25 * rng.standard_normal((32, width))).tolist()
    return problem_from_dict({
        "dims": [width, width, width, 32], "loss": {"kind": "whitened", "target": target},
        "init": {"scheme": "balanced", "scale": 0.1, "seed": 0}, "name": "bench-10k",
    })


def bench_flow_large(T=10.0):
    prob = large_problem()
    obj = Objective(prob)
    theta = prob.theta0
    tg, _ = timeit(lambda: [obj.grad(theta) for _ in range(100)])
    t_grad = tg / 100
    t_gd, _ = timeit(lambda: certify.run_gd(prob, 1e-3, 10_000, every=10_000), repeat=1)
    t0 = time.perf_counter()
    enc = enclose_flow(prob, T, checkpoints=10, backend="float64")
    t_enc = time.perf_counter() - t0
    n = len(enc.steps)
    return [
        ("flow float64, %d params, T=%g" % (prob.n_params, T), f"{t_enc:.1f} s", f"{n} steps"),
        ("  enclosure time / 10^4 GD steps (eta=1e-3) time", f"{t_enc / t_gd:.2f}", f"GD {t_gd:.2f} s"),
        ("  one validated step / one float64 gradient", f"{t_enc / n / t_grad:.0f}", f"grad {t_grad * 1e3:.2f} ms"),
        ("  radius at T (certified)", f"{enc.checkpoints[-1].radius:.2e}", ""),
    ]


def bench_radius_vs_floor():
    """Certified radius at T against the actual float64 error of the centers,
    measured with the 50-digit Taylor integrator (the rounding floor)."""
    rows = []
    try:
        from certify._taylor import integrate_gf
    except ImportError:
        return [("radius vs floor", "skipped", "certify._taylor missing")]
    prob = certify.load_problem("builtin:demo")
    for T in (1.0, 3.0):
        enc = enclose_flow(prob, T, checkpoints=1, backend="float64")
        ref = integrate_gf(prob, T, dps=40)
        truth = np.array([float(x) for x in ref.thetas[-1]]) if hasattr(ref, "thetas") else None
        err = np.linalg.norm(np.asarray(enc.checkpoints[-1].center) - truth)
        rad = enc.checkpoints[-1].radius
        rows.append((f"demo T={T:g}: radius / actual float64 error", f"{rad / max(err, 1e-300):.0f}",
                     f"radius {rad:.2e}, error {err:.2e}"))
    for prec in (128, 256):
        T = 1.0
        t0 = time.perf_counter()
        enc = enclose_flow(prob, T, checkpoints=1, backend="arb", prec=prec)
        rows.append((f"demo T={T:g} arb {prec} bits: radius", f"{enc.checkpoints[-1].radius:.2e}",
                     f"{len(enc.steps)} steps, {time.perf_counter() - t0:.1f} s"))
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="shorter horizon for a smoke run")
    args = ap.parse_args()
    rows = []
    rows += bench_flow_large(T=1.0 if args.quick else 10.0)
    rows += bench_radius_vs_floor()
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"python {platform.python_version()}, numpy {np.__version__}")
    w = max(len(r[0]) for r in rows)
    for r in rows:
        print(f"{r[0]:<{w}}  {r[1]:>10}  {r[2]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
