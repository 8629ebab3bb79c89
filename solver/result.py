"""The result every backend returns, and its status."""

from __future__ import annotations

import enum
from dataclasses import dataclass

import numpy as np


class Status(enum.Enum):
    """Outcome of a solve.

    ``FEASIBLE`` is a usable plan whose optimality was not proven, because the time limit
    was reached or the gap is above the requested one. ``NO_PLAN`` means the time ran out
    before any plan was found, which proves nothing about feasibility. ``INFEASIBLE`` is
    proven.
    """

    OPTIMAL = "optimal"
    FEASIBLE = "feasible"
    INFEASIBLE = "infeasible"
    NO_PLAN = "no_plan"

    @property
    def has_plan(self) -> bool:
        return self in (Status.OPTIMAL, Status.FEASIBLE)


@dataclass(frozen=True)
class Result:
    """A backend's result for one linear model.

    Attributes
    ----------
    assignment
        ``(n,)`` territory index per account, or None when there is no plan.
    objective
        Objective of the plan recomputed from ``assignment`` in floating point.
    bound
        A proven lower bound on the objective (``-inf`` when none is known).
    history
        ``(seconds since the solve started, objective)`` of each improving plan, where the
        path records them (the scalable path does).
    """

    status: Status
    assignment: np.ndarray | None
    objective: float
    bound: float
    runtime_s: float
    solver: str
    history: tuple[tuple[float, float], ...] = ()

    @property
    def gap(self) -> float:
        """Return the relative gap ``(objective - bound) / objective``, 0 for a zero objective."""
        if self.assignment is None or not np.isfinite(self.bound):
            return float("inf")
        if self.objective <= 0:
            return 0.0
        return max(0.0, (self.objective - self.bound) / self.objective)
