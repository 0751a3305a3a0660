"""Shared test helpers (no test module imports another test module):

- :mod:`helpers.independent` — truth computed without certify's code (exact
  rationals, hyper-dual AD, mpmath ODE solutions);
- :mod:`helpers.closed_forms` — instances whose flow and GD are known in closed form;
- :mod:`helpers.reference` — a naive mpmath loss and central differences (S1 from
  its definition), and diagonal instances with signed permutations.
"""
