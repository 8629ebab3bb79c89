"""Solver backends behind one call: ``solve(model, settings, time_limit_s, start) -> Result``.

Every backend takes a :class:`~solver.formulation.LinearModel` and returns a
:class:`~solver.result.Result` whose objective is recomputed from the assignment.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from solver.formulation import LinearModel
from solver.result import Result
from solver.scenario import SolverSettings

#: ``start`` is an optional account→territory array used as a starting solution.
Backend = Callable[[LinearModel, SolverSettings, float, "np.ndarray | None"], Result]


def get_backend(name: str) -> Backend:
    """Return the backend called ``name`` (``auto``, ``highs``, ``cbc`` or ``ortools``)."""
    if name in ("auto", "highs"):
        from solver.backends.highs import solve_highs

        return solve_highs
    if name == "cbc":
        from solver.backends.cbc import solve_cbc

        return solve_cbc
    if name == "ortools":
        from solver.backends.cpsat import solve_cpsat

        return solve_cpsat
    raise ValueError(f"unknown backend '{name}': use auto, highs, cbc or ortools")
