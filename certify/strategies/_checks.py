"""Eager argument validation for :mod:`certify.strategies` (``hypothesis.extra.numpy``
style: :class:`hypothesis.errors.InvalidArgument` naming the bad value, when the
strategy is built)."""

from __future__ import annotations

import math
from fractions import Fraction

from hypothesis.errors import InvalidArgument

LOSSES = ("whitened", "square")


def _check_int(name: str, value, minimum: int | None = None) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidArgument(f"{name}={value!r} must be an integer")
    if minimum is not None and value < minimum:
        raise InvalidArgument(f"{name}={value!r} must be >= {minimum}")


def _check_range(name: str, lo, hi, minimum: int) -> None:
    _check_int(f"min_{name}", lo, minimum)
    _check_int(f"max_{name}", hi, minimum)
    if lo > hi:
        raise InvalidArgument(f"min_{name}={lo} is larger than max_{name}={hi}")


def _check_losses(losses) -> tuple:
    if isinstance(losses, str):
        losses = (losses,)
    try:
        losses = tuple(losses)
    except TypeError:
        raise InvalidArgument(f"losses={losses!r} must be a non-empty subset of {LOSSES}") from None
    if not losses or any(l not in LOSSES for l in losses):
        raise InvalidArgument(f"losses={losses!r} must be a non-empty subset of {LOSSES}")
    return losses


def _check_fraction(name: str, value) -> Fraction:
    if isinstance(value, bool) or not isinstance(value, (int, float, Fraction)):
        raise InvalidArgument(f"{name}={value!r} must be a real number")
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidArgument(f"{name}={value!r} must be finite")
    return Fraction(value)


def _validate_common(min_depth, max_depth, min_width, max_width, losses, min_samples, max_samples,
                     max_abs_numerator, denominator_exp):
    _check_range("depth", min_depth, max_depth, 1)
    _check_range("width", min_width, max_width, 1)
    losses = _check_losses(losses)
    _check_range("samples", min_samples, max_samples, 1)
    _check_int("max_abs_numerator", max_abs_numerator, 0)
    _check_int("denominator_exp", denominator_exp, 0)
    if denominator_exp > 60:
        raise InvalidArgument(f"denominator_exp={denominator_exp} must be <= 60")
    return losses
