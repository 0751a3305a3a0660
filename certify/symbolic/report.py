"""The text printed by ``certify derive``: the matrix-level derivation of S2.1
and S2.2 (:mod:`.matrix`) for the whitened and square losses, the entrywise
checks of :mod:`.cross_entropy` for the cross-entropy and logistic losses."""

from __future__ import annotations

import sympy as sp

from .base import LOSSES, TRANSCENDENTAL, tr
from .cross_entropy import IMPL_MAX_DEPTH, IMPL_TOL, derive_loss, implementation_check
from .matrix import derive_matrix_level


def derivation_report(N: int, loss: str, latex: bool = False) -> str:
    """A human-readable derivation of S2.1 and S2.2 for depth ``N`` (any widths).

    The loss is written at the matrix level with noncommutative symbols, its
    first and second directional derivatives along ``W_j -> W_j + s D_j`` are
    computed by ``sympy.diff`` in ``s``, and the differences to the S2.1 / S2.2
    formulas are shown to simplify to zero (traces canonicalised with
    ``tr(AB) = tr(BA)``, ``tr(A^T) = tr(A)``).  ``latex=True`` renders the
    formulas with ``sympy.latex``.  The cross-entropy and logistic losses are not
    polynomials: their report comes from :mod:`certify.symbolic.cross_entropy` (entrywise
    checks of ``grad l``, ``Hl`` and the implementation at small sizes).
    """
    N = int(N)
    if loss in TRANSCENDENTAL:  # not polynomial: entrywise checks at small sizes instead
        return _transcendental_report(N, loss, latex=latex)
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {', '.join(LOSSES)}, got {loss!r}")
    d = derive_matrix_level(N, loss)
    L, ctx = d.letters, d.ctx

    def fmt(e) -> str:
        return sp.latex(e) if latex else sp.sstr(e)

    def show(label: str, e) -> str:
        if latex:
            return f"\\[ {label} = {fmt(e)} \\]" if label else f"\\[ {fmt(e)} \\]"
        return f"  {label} = {fmt(e)}" if label else f"  {fmt(e)}"

    def text(t: str) -> str:
        return f"% {t}" if latex else t

    R, Rs = d.residual, d.residual_s
    c = d.scale
    lines = []
    title = f"certify derive: depth N = {N}, {loss} loss (SPEC S1, S2.1, S2.2); valid for all widths"
    lines.append(text(title))
    lines.append(text("=" * len(title)) if not latex else "")
    if latex:
        lines = [ln for ln in lines if ln]
    lines.append(text("Loss (S1), with <A,B> = tr(A^T B) and ||A||_F^2 = tr(A^T A):"))
    lines.append(show("R", R))
    lines.append(show("f", c * tr(L.T(R) * R)))
    if loss == "square":
        lines.append(text("  (X: d_0 x m samples, Y: d_N x m targets)"))
    lines.append(text("Along the line W_j -> W_j + s D_j:"))
    lines.append(show("R(s)", Rs))
    lines.append(show("f(s)", c * tr(L.T(Rs) * Rs)))
    lines.append(text("First derivative, sympy.diff in s at s = 0 (traces in canonical form):"))
    lines.append(show("f'(0)", d.first_derived))
    lines.append(text("S2.1: grad_{W_j} f = W_{N:j+1}^T G W_{j-1:1}^T with"))
    lines.append(show("G", ctx.G))
    for j, g in enumerate(d.grads, start=1):
        lines.append(show(f"grad_W{j}" if not latex else f"\\nabla_{{W_{{{j}}}}} f", g))
    lines.append(show("sum_j <grad_j, D_j>" if not latex else r"\sum_j \langle \nabla_{W_j} f, D_j \rangle",
                      d.first_formula))
    diff1 = d.first_difference
    lines.append(show("f'(0) - sum_j <grad_j, D_j>" if not latex
                      else r"f'(0) - \sum_j \langle \nabla_{W_j} f, D_j \rangle", diff1))
    lines.append(text("  => S2.1 holds" if d.first_ok else "  => MISMATCH: S2.1 does not follow"))
    lines.append(text("Second derivative, sympy.diff twice in s at s = 0:"))
    lines.append(show("f''(0)", d.second_derived))
    E = sum((ctx.W(N, j + 1) * ctx.Ds[j - 1] * ctx.W(j - 1, 1) for j in range(1, N + 1)), sp.S.Zero)
    lines.append(text("S2.2: Hf[D,D] = Hl[E,E] + 2 sum_{i<j} <G, W_{N:j+1} D_j W_{j-1:i+1} D_i W_{i-1:1}> with"))
    lines.append(show("E", E))
    lines.append(show("Hl[E,E]", ctx.hl(E)))
    lines.append(show("Hf[D,D]", d.second_formula))
    diff2 = d.second_difference
    lines.append(show("f''(0) - Hf[D,D]", diff2))
    lines.append(text("  => S2.2 holds" if d.second_ok else "  => MISMATCH: S2.2 does not follow"))
    n1, n2 = len(sp.Add.make_args(d.first_derived)), len(sp.Add.make_args(d.second_derived))
    lines.append(text(f"({n1} trace terms in f'(0), {n2} in f''(0); both differences simplify to "
                      f"{'zero' if d.first_ok and d.second_ok else 'NONZERO'})"))
    return "\n".join(lines) + "\n"


def _transcendental_report(N: int, loss: str, latex: bool = False) -> str:
    """The text of ``certify derive`` for the cross-entropy and logistic losses."""
    d = derive_loss(loss)
    n_impl = min(N, IMPL_MAX_DEPTH)
    g_err, h_err = implementation_check(n_impl, loss)
    fmt = sp.latex if latex else sp.sstr
    text = (lambda t: f"% {t}") if latex else (lambda t: t)
    show = (lambda label, e: f"\\[ {label} = {fmt(e)} \\]") if latex else (lambda label, e: f"  {label} = {fmt(e)}")
    d_out, d_in, m = d.sizes
    title = f"certify derive: depth N = {N}, {loss} loss (SPEC S1, S2.1, S2.2)"
    lines = [text(title)] + ([] if latex else ["=" * len(title)])
    if loss == "cross_entropy":
        lines.append(text(f"Loss (S1) -(1/m) sum_i sum_c Y_ci log softmax(W x_i)_c at d_N = {d_out}, d_0 = {d_in}, "
                          f"m = {m}, W, X, Y symbols (Y any nonnegative matrix, s_i = sum_c Y_ci):"))
        glabel, hlabel = "(P diag(s) - Y) X^T / m", "(1/m) sum_i s_i (sum_c p_ci v_ci^2 - (sum_c p_ci v_ci)^2), v = E x_i"
    else:
        lines.append(text(f"Loss (S1) (1/m) sum_i log(1 + exp(-y_i W x_i)) at d_0 = {d_in}, m = {m}, labels +1, -1:"))
        glabel, hlabel = "-(1/m) sum_i y_i sigma(t_i) x_i^T", "(1/m) sum_i sigma(t_i)(1 - sigma(t_i)) (E x_i)^2"
    lines.append(show("l", d.value))
    lines.append(text(f"grad l by sympy.diff against {glabel} (exp(z) as positive symbols, sympy.cancel):"))
    lines.append(show("differences", sp.Matrix(d_out, d_in, d.grad_difference)))
    lines.append(text("  => grad l holds" if d.grad_ok else "  => MISMATCH: grad l does not follow"))
    lines.append(text(f"Hl[E,E] = d^2/dt^2 l(W + t E) at t = 0 by sympy.diff against {hlabel}:"))
    lines.append(show("difference", d.hess_difference))
    lines.append(text("  => Hl[E,E] holds" if d.hess_ok else "  => MISMATCH: Hl[E,E] does not follow"))
    lines.append(text("S2.1 and S2.2 are the chain rule through W_{N:1}: they hold with this G = grad l(W) and Hl."))
    ok = g_err <= IMPL_TOL and h_err <= IMPL_TOL
    lines.append(text(f"Implementation at depth {n_impl}" + (f" (at most {IMPL_MAX_DEPTH}: sympy's expansion of "
                      "W_N ... W_1 grows fast)" if n_impl < N else "") + " (widths 2, m = 2, a random dyadic point): "
                      "sympy's gradient and "
                      f"Hessian-vector product of f(theta) = l(W_N ... W_1) against certify.Objective (float64 "
                      f"estimates): max relative differences {g_err:.2g} (gradient), {h_err:.2g} (hvp)"
                      + (" => agree" if ok else " => MISMATCH")))
    return "\n".join(lines) + "\n"
