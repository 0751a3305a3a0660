"""Losses of the end-to-end matrix beyond the square losses (SPEC S1; issue 12): softmax
cross-entropy and logistic loss, with float64 estimates, rigorous float64 enclosures (proven
exp/log kernels, S4.6) and Arb enclosures of the value and the gradient, and the constants the
certificates use (``Hl >= 0``, ``Hl[E,E] <= c ||E X||_F^2 / m``, a Hessian-Lipschitz constant),
each with its proof module in ``proofs/ce_*.py``.

>>> import numpy as np
>>> from certify.losses import CrossEntropy
>>> loss = CrossEntropy(X=np.eye(2), Y=np.eye(2))
>>> G = loss.enclose_gradient(np.zeros((2, 2)))   # an F64Mat ball: G.m +- G.r
"""

from ._kernels import exp_ball, exp_enclosure, expm1_enclosure, log1p_enclosure, log_enclosure
from ._lse import logsumexp_enclosure, softmax_enclosure
from .base import Loss
from .cross_entropy import CrossEntropy, cross_entropy_from_labels
from .logistic import Logistic
from .series import GradientSeriesCE, gf_callbacks, gf_taylor_ce, gradient_series, softmax_series
from .series_enclosure import GradientSeriesEnclosure, GradientTM, enclose_gradient_series

__all__ = [
    "CrossEntropy", "Logistic", "Loss", "cross_entropy_from_labels",
    "exp_ball", "exp_enclosure", "expm1_enclosure", "log1p_enclosure", "log_enclosure",
    "logsumexp_enclosure", "softmax_enclosure",
    "GradientSeriesCE", "GradientSeriesEnclosure", "GradientTM", "enclose_gradient_series", "gf_callbacks",
    "gf_taylor_ce", "gradient_series", "softmax_series",
]
