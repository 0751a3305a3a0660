"""``certify converge``: EC21's translation from certified GF convergence to GD."""

from __future__ import annotations

import time

import certify

from ..output import console, progress_bar, table


def _search(prob, args, out):
    """The largest certified eta (every trial a full certification) and its table."""
    with progress_bar() as bar:
        res = certify.largest_eta(prob, args.eps, progress=bar)
    rows = [(f"{e:.6g}", "yes" if ok else "no", why) for e, ok, why in res.trials]
    out.print("2. search for the largest eta (each trial is a full certification):")
    out.print(table(["eta", "certified", "what"], rows))
    a = res.acgh19
    if a.applies:
        out.print(f"   largest certified eta {res.eta:.4g} vs \\[ACGH19] Theorem 1's eta_max {a.eta_max:.4g}: "
                  f"{res.eta / a.eta_max:.3g} times larger")
    else:
        out.print(f"   \\[ACGH19]: {a.reason}")
    return res


def cmd_converge(args) -> int:
    prob = certify.load_problem(args.problem)
    out = console()
    t0 = time.perf_counter()
    gt = certify.gf_time_to_eps(prob, args.eps, t_max=args.t_max)
    T, ub = gt.t, gt.loss_upper
    out.print(f"1. gradient flow: certified loss <= {ub:.6g} <= eps/2 at t = {float(T):g}")
    if args.eta is not None:
        tr = certify.translate(prob, args.eps, args.eta, T)
        if not tr.certified:
            out.print(f"2. GD with eta = {args.eta:g}: translation NOT certified ({tr.reason})")
            return 1
        res = tr.result
    else:
        res = _search(prob, args, out)
    certify.write_json_atomic(args.out, res.to_json())
    out.print(f"3. exact GD with eta = {res.eta:.6g} has loss <= {res.gd_loss_upper:.6g} <= eps = {args.eps:g} "
              f"at step K = {res.K} (GF loss <= {res.gf_loss_upper:.6g} at K eta; ball radius "
              f"{res.ball_radius:.3g}); source \\[derived] EC21 translation; {time.perf_counter() - t0:.1f}s")
    out.print(f"wrote {args.out} (schema certify/converge-v1); verify with: certify check {args.out}")
    return 0
