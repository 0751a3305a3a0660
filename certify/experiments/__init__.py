"""Experiments built on certify's public API: the paper's experiment
(:func:`run_paper_experiment`, ``certify experiment paper``) and sweeps of
independent certifications on Dask (:func:`run_sweep`, ``certify sweep``)."""

from .paper import PaperResult, PaperRun, run_paper_experiment

__all__ = ["PaperResult", "PaperRun", "run_paper_experiment"]
