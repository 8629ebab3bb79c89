"""Territory centres: seeding, the weighted-medoid update and the location-allocation loop.

A centre is a rep's home when the role fixes it, otherwise the model picks it. With free
centres the engine alternates two steps (location-allocation): allocate accounts for fixed
centres, then move each free centre to the account location that minimises the weighted
distance of its territory (a weighted medoid). The allocation rounds use the LP
relaxation, and the loop stops when the centres settle or the round limit is reached.
The exact backend then solves the plan for those centres. The reported bound is the
backend's proven bound for the final centres, not for every possible choice of centres.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np

from solver.backends import Backend
from solver.backends.highs import solve_lp
from solver.formulation import build_model
from solver.geo import distance_matrix_km, unit_vectors
from solver.problem import RoleProblem
from solver.result import Result
from solver.scenario import SolverSettings

logger = logging.getLogger(__name__)

#: Largest number of accounts tried as candidate centres per territory in the medoid step.
MEDOID_CANDIDATES = 400


@dataclass(frozen=True)
class RoleSolution:
    """The best plan of one role, the centres it was solved for and the rounds it took."""

    result: Result
    centres: np.ndarray
    rounds: int

    @property
    def history(self) -> tuple[tuple[float, float], ...]:
        """Return ``(seconds, objective)`` of each improving plan of the final solve."""
        return self.result.history

    @property
    def assignment(self) -> np.ndarray:
        """Return the plan's account→territory array; only solutions with a plan have one."""
        if self.result.assignment is None:
            raise ValueError(f"no plan: the solve ended with status {self.result.status.value}")
        return self.result.assignment


def initial_centres(problem: RoleProblem, seed: int) -> np.ndarray:
    """Return ``(T, 2)`` starting centres: homes where fixed, weighted k-means++ elsewhere.

    Free centres are drawn with probability proportional to weight times squared distance
    to the nearest centre chosen so far (fixed homes count as chosen), then snapped to an
    account location. The draw uses ``seed`` only, so it is reproducible.
    """
    rng = np.random.default_rng(seed)
    centres = problem.home_coords.copy()
    chosen = [i for i in range(problem.n_territories) if problem.fixed_centre[i]]
    points = unit_vectors(problem.coords)
    weights = problem.weights + 1e-12

    nearest = np.full(problem.n_accounts, np.inf)
    for t in chosen:
        nearest = np.minimum(nearest, _squared_chord(points, unit_vectors(centres[t : t + 1])))
    for t in range(problem.n_territories):
        if problem.fixed_centre[t]:
            continue
        score = weights * np.where(np.isfinite(nearest), nearest, 1.0)
        index = int(rng.choice(problem.n_accounts, p=score / score.sum()))
        centres[t] = problem.coords[index]
        nearest = np.minimum(nearest, _squared_chord(points, points[index : index + 1]))
    return centres


def medoid_centres(
    problem: RoleProblem,
    accounts: np.ndarray,
    territories: np.ndarray,
    shares: np.ndarray,
    centres: np.ndarray,
) -> np.ndarray:
    """Return centres moved to the weighted medoid of each free territory's accounts.

    Membership comes as pairs: account ``accounts[j]`` belongs to ``territories[j]`` with
    share ``shares[j]`` (1 for a plan, a fraction for an LP solution).
    """
    updated = centres.copy()
    for t in range(problem.n_territories):
        mask = (territories == t) & (shares > 1e-9)
        if problem.fixed_centre[t] or not mask.any():
            continue
        members = accounts[mask]
        coords = problem.coords[members]
        weights = problem.weights[members] * shares[mask]
        candidates = _medoid_candidates(coords, weights)
        cost = distance_matrix_km(coords, coords[candidates]).T @ weights
        updated[t] = coords[candidates[int(np.argmin(cost))]]
    return updated


def solve_with_centres(
    problem: RoleProblem,
    settings: SolverSettings,
    backend: Backend,
    compactness: float,
    deadline: float,
) -> RoleSolution:
    """Place free centres by location-allocation, then solve the plan exactly.

    The rounds that move centres solve the LP relaxation, which is fast and nearly
    integral. The exact backend then solves the plan for the final centres, and once more
    if the plan's own medoids lower the objective further.
    """
    centres = initial_centres(problem, settings.seed)
    if not problem.fixed_centre.all():
        # The centre rounds may use up to half the time; the exact solves get the rest.
        halfway = time.perf_counter() + 0.5 * (deadline - time.perf_counter())
        centres = _lp_rounds(problem, settings, compactness, centres, halfway)

    best: RoleSolution | None = None
    for round_number in (1, 2):
        remaining = deadline - time.perf_counter()
        if best is not None and remaining < 1.0:
            break
        # The previous plan stays feasible for any centres, so it seeds the next solve.
        start = best.result.assignment if best is not None else None
        result = backend(build_model(problem, centres, compactness), settings, remaining, start)
        logger.info(
            "%s exact solve %d: %s, objective %.1f, bound %.1f (%.1fs)",
            problem.role,
            round_number,
            result.status.value,
            result.objective,
            result.bound,
            result.runtime_s,
        )
        if not result.status.has_plan:
            return best or RoleSolution(result, centres, round_number)
        if best is not None and result.objective >= best.result.objective * (1 - 1e-9):
            break
        best = RoleSolution(result, centres, round_number)

        n = problem.n_accounts
        assignment = result.assignment
        assert assignment is not None  # a result with a plan always has an assignment
        moved = medoid_centres(problem, np.arange(n), assignment, np.ones(n), centres)
        if problem.fixed_centre.all() or np.allclose(moved, centres):
            break
        centres = moved

    assert best is not None
    return best


def _lp_rounds(
    problem: RoleProblem,
    settings: SolverSettings,
    compactness: float,
    centres: np.ndarray,
    deadline: float,
) -> np.ndarray:
    """Move free centres with LP-relaxed allocations until they settle; return the centres.

    NOTE: a round that starts before ``deadline`` finishes, so the rounds can overrun it by
    one LP solve.
    """
    previous = np.inf
    for round_number in range(1, settings.centre_iterations + 1):
        remaining = deadline - time.perf_counter()
        if remaining <= 0:
            break
        model = build_model(problem, centres, compactness)
        objective, x = solve_lp(model, settings, remaining / 4)
        if x is None:
            break
        logger.info("%s centre round %d: LP objective %.1f", problem.role, round_number, objective)
        moved = medoid_centres(problem, model.pair_account, model.pair_territory, x, centres)
        settled = np.allclose(moved, centres) or objective >= previous * (1 - 1e-4)
        centres, previous = moved, objective
        if settled:
            break
    return centres


def _medoid_candidates(coords: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Return the account indices tried as centres: all, or those nearest the weighted mean."""
    if len(coords) <= MEDOID_CANDIDATES:
        return np.arange(len(coords))
    points = unit_vectors(coords)
    mean = (points * weights[:, None]).sum(axis=0)
    mean /= np.linalg.norm(mean) or 1.0
    order = np.argsort(_squared_chord(points, mean[None, :]), kind="stable")
    return np.sort(order[:MEDOID_CANDIDATES])


def _squared_chord(points: np.ndarray, centre: np.ndarray) -> np.ndarray:
    return ((points - centre) ** 2).sum(axis=1)
