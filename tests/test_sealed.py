"""Results are immutable once returned (issue 10: frozen result objects; certify._sealed).

Each public producer's result refuses attribute assignment with dataclasses.FrozenInstanceError, its
arrays are read-only and the objects inside it (checkpoints, steps, points) are sealed too; the JSON
document is unchanged by sealing (the goldens guard the bytes)."""

import dataclasses

import numpy as np
import pytest

import certify

DEMO = "builtin:demo"


def _frozen(obj, field):
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(obj, field, getattr(obj, field))


def test_gap_certificate_and_its_checkpoints_are_sealed():
    cert = certify.certify_gap(DEMO, 1e-2, 40, every=20)
    _frozen(cert, "eta")
    _frozen(cert.checkpoints[-1], "gap_upper")
    with pytest.raises(ValueError):
        cert.checkpoints[-1].theta[0] = 0.0  # read-only array
    assert isinstance(cert.to_json()["segments"], list)  # JSON arrays, as before sealing


def test_partial_gap_certificate_is_sealed():
    cert = certify.certify_gap(DEMO, 1e-2, 40, every=20, partial=True)
    _frozen(cert, "partial")


def test_flow_gd_distance_estimate_conditions_and_translation_results_are_sealed():
    enc = certify.enclose_flow(DEMO, 0.25, checkpoints=2)
    _frozen(enc, "checkpoints")
    _frozen(enc.steps[0], "h")
    _frozen(enc.checkpoints[-1], "radius")
    run = certify.run_gd(DEMO, 1e-2, 20, every=10)
    _frozen(run, "eta")
    assert not run.thetas[-1].flags.writeable
    dist = certify.certify_distance(DEMO, 1e-2, 20, (2,), every=10)
    _frozen(dist, "ratios")
    _frozen(dist.points[0][-1], "from_init")
    est = certify.integrate_gf(certify.load_problem(DEMO), 0.5, dps=20)
    _frozen(est, "times")
    rep = certify.check_conditions(DEMO, eta=1e-2, eps=0.5, trajectory=False)
    _frozen(rep, "seconds")


def test_unsealed_objects_stay_mutable_for_their_producer():
    from certify._sealed import Sealed

    @dataclasses.dataclass
    class R(Sealed):
        x: int
        a: np.ndarray

    r = R(1, np.zeros(2))
    r.x = 2  # building
    r.seal()
    assert r.seal() is r
    _frozen(r, "x")
    with pytest.raises(dataclasses.FrozenInstanceError):
        del r.x
    assert not r.a.flags.writeable and r.x == 2


def test_check_report_is_frozen():
    rep = certify.check_certificate(certify.certify_gap(DEMO, 1e-2, 40, every=20).to_json())
    assert rep.valid and rep.seconds > 0
    _frozen(rep, "valid")
