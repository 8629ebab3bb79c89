"""Territory centres: seeding, the weighted-medoid update and the location-allocation loop.

A centre is a rep's home when the role fixes it, otherwise the model picks it. With free
centres the engine alternates two steps (location-allocation): assign accounts for fixed
centres with an exact MIP, then move each free centre to the account location that
minimises the weighted distance of its territory (a weighted medoid). Each round can only
lower the objective, and the loop stops when the centres stop moving, the objective stops
improving, or the round limit or time limit is reached. The reported bound is the MIP's
proven bound for the final centres.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np

from solver.backends import Backend
from solver.formulation import build_model
from solver.geo import distance_matrix_km
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


def unit_vectors(coords: np.ndarray) -> np.ndarray:
    """Return ``(n, 3)`` points on the unit sphere for latitude/longitude in degrees."""
    lat, lon = np.radians(coords[:, 0]), np.radians(coords[:, 1])
    return np.column_stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)])


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


def medoid_centres(problem: RoleProblem, assignment: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Return centres moved to the weighted medoid of each free territory's accounts."""
    updated = centres.copy()
    for t in range(problem.n_territories):
        members = np.flatnonzero(assignment == t)
        if problem.fixed_centre[t] or len(members) == 0:
            continue
        coords, weights = problem.coords[members], problem.weights[members]
        candidates = _medoid_candidates(coords, weights)
        cost = distance_matrix_km(coords, coords[candidates]).T @ weights
        best = candidates[int(np.argmin(cost))]
        updated[t] = coords[best]
    return updated


def solve_with_centres(
    problem: RoleProblem,
    settings: SolverSettings,
    backend: Backend,
    compactness: float,
    deadline: float,
) -> RoleSolution:
    """Run location-allocation rounds until no free centre moves; return the best plan."""
    centres = initial_centres(problem, settings.seed)
    rounds = 1 if problem.fixed_centre.all() else settings.centre_iterations
    best: RoleSolution | None = None

    for round_number in range(1, rounds + 1):
        remaining = deadline - time.perf_counter()
        if best is not None and remaining < 1.0:
            logger.info("%s: time limit reached after %d rounds", problem.role, round_number - 1)
            break
        # Early rounds leave time for later ones; the previous plan stays feasible for any
        # centres, so it seeds the next round as a starting solution.
        budget = remaining / 2 if round_number < rounds else remaining
        start = best.result.assignment if best is not None else None
        result = backend(build_model(problem, centres, compactness), settings, budget, start)
        logger.info(
            "%s round %d: %s, objective %.1f, bound %.1f (%.1fs)",
            problem.role, round_number, result.status.value, result.objective,
            result.bound, result.runtime_s,
        )
        if not result.status.has_plan:
            return best or RoleSolution(result, centres, round_number)
        if best is not None and result.objective >= best.result.objective * (1 - 1e-9):
            break
        best = RoleSolution(result, centres, round_number)

        moved = medoid_centres(problem, result.assignment, centres)
        if np.allclose(moved, centres):
            break
        centres = moved

    assert best is not None
    return best


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
