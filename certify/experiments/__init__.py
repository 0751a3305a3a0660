"""Experiments built on certify's public API: the paper's experiment
(:func:`run_paper_experiment`, ``certify experiment paper``) and sweeps of
independent certifications on Dask (:func:`run_sweep`, ``certify sweep``)."""

from .paper import PaperResult, PaperRun, format_report, run_paper_experiment
from .sweep import Grid, SweepResult, SweepTask, example_grid, load_grid, parse_grid, run_sweep

__all__ = [
    "Grid", "PaperResult", "PaperRun", "SweepResult", "SweepTask", "example_grid", "format_report",
    "load_grid", "parse_grid", "run_paper_experiment", "run_sweep",
]
