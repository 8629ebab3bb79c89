"""Lagrangian relaxation of the territory bounds: a proven lower bound and a near-plan.

Relaxing every row ``L[t,k] <= sum_i a[i,k] x[i,t] <= U[t,k]`` with multipliers
``mu_lo, mu_hi >= 0`` leaves one independent choice per account, so the dual function

    g(mu) = sum_i min_t ( c[i,t] + sum_k a[i,k] (mu_hi[t,k] - mu_lo[t,k]) )
            - sum mu_hi * U + sum mu_lo * L

costs one pass over the candidates. Every ``g(mu)`` is a lower bound on the optimum of the
model. The maximisation uses L-BFGS-B (SciPy) on a smoothed ``g`` (the per-account minimum
replaced by a soft minimum at a temperature that falls in stages), while the exact ``g`` of
every iterate is recorded and the best one kept.

The search runs on the candidate-restricted model. :func:`full_bound` then evaluates the
best multipliers on the full model (every territory allowed), which is the bound reported.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize

from solver.scale.candidates import Candidates

logger = logging.getLogger(__name__)

#: Soft-minimum temperatures, as fractions of the mean candidate cost.
TEMPERATURES = (0.05, 0.01, 0.002)

#: Most L-BFGS-B iterations per temperature.
ITERATIONS = 150


@dataclass(frozen=True)
class Bounds:
    """Scaled rows ``lower <= A^T x <= upper`` of shape ``(T, m)`` (``inf`` = no bound)."""

    values: np.ndarray
    lower: np.ndarray
    upper: np.ndarray


@dataclass(frozen=True)
class DualResult:
    """The best multipliers found and the lower bound they prove."""

    nu: np.ndarray
    best_nu: np.ndarray
    bound: float
    evaluations: int


class _Dual:
    """Evaluate the exact and the smoothed dual for packed multipliers ``[mu_hi, mu_lo]``."""

    def __init__(self, candidates: Candidates, rows: Bounds) -> None:
        self.candidates = candidates
        self.rows = rows
        self.t, self.m = rows.lower.shape
        self.finite_upper = np.isfinite(rows.upper)
        self.finite_lower = np.isfinite(rows.lower)
        self.upper = np.where(self.finite_upper, rows.upper, 0.0)
        self.lower = np.where(self.finite_lower, rows.lower, 0.0)
        self.best_bound = -np.inf
        self.best_nu = np.zeros((self.t, self.m))
        self.evaluations = 0

    def unpack(self, packed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        size = self.t * self.m
        return packed[:size].reshape(self.t, self.m), packed[size:].reshape(self.t, self.m)

    def reduced_costs(self, nu: np.ndarray) -> np.ndarray:
        """Return ``(n, K)`` costs plus multiplier terms for each candidate."""
        reduced = self.candidates.cost.copy()
        territory = self.candidates.territory
        for k in range(self.m):
            reduced += self.rows.values[:, k, None] * nu[territory, k]
        return reduced

    def constant(self, mu_hi: np.ndarray, mu_lo: np.ndarray) -> float:
        return float(-(mu_hi * self.upper).sum() + (mu_lo * self.lower).sum())

    def exact(self, nu: np.ndarray, reduced: np.ndarray, constant: float) -> float:
        """Return the exact dual value of the candidate-restricted model."""
        return float(reduced.min(axis=1).sum() + constant)

    def smoothed(self, packed: np.ndarray, temperature: float) -> tuple[float, np.ndarray]:
        """Return minus the smoothed dual and its gradient (for a minimiser)."""
        mu_hi, mu_lo = self.unpack(packed)
        nu = mu_hi - mu_lo
        reduced = self.reduced_costs(nu)
        constant = self.constant(mu_hi, mu_lo)

        self.evaluations += 1
        bound = self.exact(nu, reduced, constant)
        if bound > self.best_bound:
            self.best_bound, self.best_nu = bound, nu.copy()

        lowest = reduced.min(axis=1, keepdims=True)
        weights = np.exp(-(reduced - lowest) / temperature)
        total = weights.sum(axis=1, keepdims=True)
        value = float((lowest[:, 0] - temperature * np.log(total[:, 0])).sum() + constant)
        share = weights / total

        load = np.zeros((self.t, self.m))
        flat_territory = self.candidates.territory.ravel()
        for k in range(self.m):
            contribution = (share * self.rows.values[:, k, None]).ravel()
            load[:, k] = np.bincount(flat_territory, contribution, minlength=self.t)
        grad_hi = np.where(self.finite_upper, load - self.upper, 0.0)
        grad_lo = np.where(self.finite_lower, self.lower - load, 0.0)
        gradient = np.concatenate([grad_hi.ravel(), grad_lo.ravel()])
        return -value, -gradient


def maximise_dual(
    candidates: Candidates, rows: Bounds, deadline: float, start: np.ndarray | None = None
) -> DualResult:
    """Maximise the Lagrangian dual until ``deadline``; return the best multipliers found.

    A warm ``start`` (multipliers of an earlier round) skips the warmest temperature.
    """
    dual = _Dual(candidates, rows)
    size = dual.t * dual.m
    # A cap keeps the search finite when the restricted model has no plan, because its dual
    # is then unbounded. Any multipliers within the cap still give a valid bound.
    n = len(candidates.cost)
    cap = 100.0 * (float(np.mean(candidates.cost)) or 1.0) * n / max(dual.t, 1)
    bounds = [(0.0, cap if f else 0.0) for f in dual.finite_upper.ravel()]
    bounds += [(0.0, cap if f else 0.0) for f in dual.finite_lower.ravel()]
    packed = np.zeros(2 * size)
    if start is not None:
        packed[:size] = np.maximum(start, 0.0).ravel()
        packed[size:] = np.maximum(-start, 0.0).ravel()

    scale = float(np.mean(candidates.cost)) or 1.0
    for fraction in TEMPERATURES[1:] if start is not None else TEMPERATURES:
        if time.perf_counter() >= deadline:
            break

        def stop_at_deadline(*_: object) -> None:
            if time.perf_counter() >= deadline:
                raise StopIteration

        outcome = minimize(
            dual.smoothed,
            packed,
            args=(fraction * scale,),
            jac=True,
            method="L-BFGS-B",
            bounds=bounds,
            callback=stop_at_deadline,
            options={"maxiter": ITERATIONS, "gtol": 1e-9},
        )
        packed = outcome.x
        logger.info(
            "dual at temperature %.3g: bound %.1f after %d evaluations",
            fraction,
            dual.best_bound,
            dual.evaluations,
        )

    # The last smoothed optimum guides the primal plan; the best exact value is the bound.
    mu_hi, mu_lo = dual.unpack(packed)
    return DualResult(
        nu=mu_hi - mu_lo, best_nu=dual.best_nu, bound=dual.best_bound, evaluations=dual.evaluations
    )


def full_bound(
    nu: np.ndarray,
    candidates: Candidates,
    rows: Bounds,
    outside_cost_of: Callable[[np.ndarray], np.ndarray],
) -> tuple[float, np.ndarray, np.ndarray]:
    """Return the dual value of ``nu`` on the full model, a proven lower bound.

    For most accounts the cheapest candidate is provably cheaper than any territory outside
    the candidates (``outside_cost`` plus the smallest multiplier term). The others are
    evaluated against every territory by ``outside_cost_of(accounts) -> (len, T)`` costs.
    Also returns the accounts, and their territories, that are cheaper outside their
    candidates: the pairs to add to the candidates (column generation).
    """
    dual = _Dual(candidates, rows)
    mu_hi, mu_lo = np.maximum(nu, 0.0), np.maximum(-nu, 0.0)
    inside = dual.reduced_costs(nu).min(axis=1)
    estimate = candidates.outside_cost + rows.values @ nu.min(axis=0)
    unsure = np.flatnonzero(estimate < inside - 1e-9 * np.abs(inside))

    best = inside.copy()
    better_accounts, better_territories = [], []
    for chunk in np.array_split(unsure, max(1, len(unsure) // 20_000 + 1)):
        if len(chunk) == 0:
            continue
        every = outside_cost_of(chunk) + rows.values[chunk] @ nu.T
        cheapest = every.argmin(axis=1)
        value = every[np.arange(len(chunk)), cheapest]
        improved = value < inside[chunk] - 1e-9 * np.abs(inside[chunk])
        better_accounts.append(chunk[improved])
        better_territories.append(cheapest[improved])
        best[chunk] = np.minimum(best[chunk], value)

    accounts = np.concatenate(better_accounts) if better_accounts else np.zeros(0, dtype=int)
    territories = np.concatenate(better_territories) if better_territories else accounts
    logger.info(
        "full bound: %d of %d accounts checked against every territory, %d cheaper outside",
        len(unsure),
        len(inside),
        len(accounts),
    )
    return float(best.sum() + dual.constant(mu_hi, mu_lo)), accounts, territories
