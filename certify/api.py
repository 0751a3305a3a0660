"""High-level Python API used by the CLI and the notebooks."""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from ._derivatives import Objective
from ._problem import Problem, load_problem

DENSE_HESSIAN_JSON_LIMIT = 2000


def evaluate_derivatives(problem: str | Problem | dict) -> dict:
    """Loss, gradient (flattened per S1) and, for at most 2000 parameters, the
    dense Hessian at the problem's initial point, in float64 (``certify derive --eval``)."""
    prob = load_problem(problem)
    obj = Objective(prob)
    theta = prob.theta0
    loss, grad = obj.loss_and_grad(theta)
    res = {"loss": float(loss), "grad": [float(g) for g in grad]}
    if prob.n_params <= DENSE_HESSIAN_JSON_LIMIT:
        res["hessian"] = obj.hessian(theta).tolist()
    return res


def verify_derivatives(problem: Problem, theta=None) -> dict:
    """Compare the float64 kernel with exact rational arithmetic at ``theta``
    (default: the initial point).  Returns relative errors."""
    theta = problem.theta0 if theta is None else theta
    f64 = Objective(problem)
    ex = Objective(problem, "exact")
    loss_f, grad_f = f64.loss_and_grad(theta)
    loss_e, grad_e = ex.loss_and_grad(theta)
    grad_e = np.array([float(g) for g in grad_e])
    res = {
        "loss_rel_err": abs(loss_f - float(loss_e)) / max(abs(float(loss_e)), 1e-300),
        "grad_rel_err": float(np.linalg.norm(grad_f - grad_e) / max(np.linalg.norm(grad_e), 1e-300)),
    }
    if problem.n_params <= 200:
        Hf = f64.hessian(theta)
        He = np.array([[float(x) for x in row] for row in ex.hessian(theta)])
        res["hessian_rel_err"] = float(np.linalg.norm(Hf - He) / max(np.linalg.norm(He), 1e-300))
    else:
        res["hessian_rel_err"] = float("nan")
    res["ok"] = all(v < 1e-12 for v in res.values() if isinstance(v, float) and v == v)
    return res
