"""Solve one role at scale for fixed centres: bound by Lagrangian relaxation, plan by repair.

1. Each account keeps its ``K`` nearest centres as candidates.
2. The Lagrangian dual of all bound rows is maximised. Its best value is a proven lower
   bound for the full model (every territory allowed), so the reported gap is honest.
3. Each account takes its cheapest candidate at the final multipliers, a near-plan.
4. An LP over the nearly tied accounts and a small MIP over the accounts it splits round
   the near-plan (:mod:`solver.scale.polish`), and moves and swaps repair what is left.
5. CP-SAT, started from that plan, solves the candidate model for the remaining time.
   NOTE: CP-SAT runs against the wall clock with ``settings.threads`` workers, so this
   step, unlike the exact path stopped by its gap, can give a different plan per run.

Candidates are widened in two ways, the safeguard for territories that their nearest
accounts cannot fill: each territory is a candidate of its nearest accounts, and column
generation adds every pair that the full dual prices below an account's candidates.
"""

from __future__ import annotations

import logging
import time

import numpy as np

from solver.backends.cpsat import solve_cpsat
from solver.formulation import LinearModel, build_pair_model, tightened_bounds
from solver.geo import unit_vectors
from solver.problem import RoleProblem
from solver.result import Result, Status
from solver.scale.candidates import Candidates, chord_to_km, nearest_candidates, with_pairs
from solver.scale.lagrange import Bounds, full_bound, maximise_dual
from solver.scale.polish import round_near_ties
from solver.scale.repair import repair
from solver.scenario import SolverSettings

logger = logging.getLogger(__name__)

#: Relative gap (of the whole role's bound) at which the rounding MIP may stop.
ROUNDING_GAP = 0.002

#: Share of the time left after the bound that the LP rounding and the moves may use.
ROUNDING_SHARE = 0.3

#: Largest candidate model (account, territory pairs) handed to CP-SAT to finish.
#: NOTE: CP-SAT found no plan in 120 s at 20,000 accounts x 100 territories (about
#: 210,000 pairs) on a 2-core machine, so larger roles rely on the rounding alone.
CPSAT_PAIRS = 500_000

#: Most rounds of column generation for the dual bound.
PRICING_ROUNDS = 4

#: Candidate territories per account on the first attempt.
FIRST_CANDIDATES = 10

#: Each territory is also a candidate of its nearest ``REACH * n / T`` accounts.
REACH = 3.0


def scaled_bounds(problem: RoleProblem, *, tightened: bool) -> Bounds:
    """Return the bound rows of ``problem`` on the metrics that have one, in mean-territory units.

    With ``tightened`` the bounds are those a solver must meet: rounded inwards for whole
    numbers, with a tiny margin otherwise. Without it they are the exact bounds.
    """
    lower, upper = problem.lower, problem.upper
    active = np.flatnonzero(np.isfinite(lower).any(axis=0) | np.isfinite(upper).any(axis=0))
    values = problem.values[:, active]
    low, high = lower[:, active].copy(), upper[:, active].copy()
    if tightened:
        for column, k in enumerate(active):
            low[:, column], high[:, column] = tightened_bounds(
                problem.values[:, k], lower[:, k], upper[:, k]
            )
    scale = np.maximum(values.sum(axis=0) / max(problem.n_territories, 1), 1e-12)
    return Bounds(values / scale, low / scale, high / scale)


def solve_scalable(
    problem: RoleProblem,
    centres: np.ndarray,
    settings: SolverSettings,
    compactness: float,
    deadline: float,
) -> Result:
    """Return a plan within every bound and a proven lower bound, for fixed ``centres``."""
    started = time.perf_counter()
    k = min(FIRST_CANDIDATES, problem.n_territories)
    reach = int(np.ceil(REACH * problem.n_accounts / max(problem.n_territories, 1)))
    candidates = nearest_candidates(problem.coords, problem.weights, centres, k, compactness, reach)
    exact = scaled_bounds(problem, tightened=False)
    rows = scaled_bounds(problem, tightened=True)

    def gap_allowed(bound: float) -> float:
        # The rounding MIP may stop within a fraction of the whole role's gap target.
        return max(settings.mip_gap, ROUNDING_GAP) * max(bound, 0.0)

    points, centre_points = unit_vectors(problem.coords), unit_vectors(centres)

    def every_territory(accounts: np.ndarray) -> np.ndarray:
        # One matrix product gives every chord: |p - c|^2 = 2 - 2 p.c on the unit sphere.
        squared = np.maximum(2.0 - 2.0 * points[accounts] @ centre_points.T, 0.0)
        distance = chord_to_km(np.sqrt(squared))
        return compactness * problem.weights[accounts, None] * distance

    # Column generation: pairs that are cheaper outside the candidates at the best
    # multipliers join the candidates, and the dual is maximised again.
    dual_deadline = started + 0.5 * (deadline - started)
    start = None
    for _ in range(PRICING_ROUNDS):
        dual = maximise_dual(candidates, exact, dual_deadline, start)
        bound, accounts, territories = full_bound(dual.best_nu, candidates, exact, every_territory)
        if len(accounts) == 0 or time.perf_counter() >= dual_deadline:
            break
        candidates = with_pairs(
            candidates, problem.coords, problem.weights, centres, compactness, accounts, territories
        )
        start = dual.nu
    logger.info(
        "%s: dual bound %.1f (restricted %.1f) after %d evaluations (%.1fs)",
        problem.role,
        bound,
        dual.bound,
        dual.evaluations,
        time.perf_counter() - started,
    )

    reduced = _reduced(candidates, rows, dual.nu)
    round_deadline = time.perf_counter() + ROUNDING_SHARE * (deadline - time.perf_counter())
    slot, rounded = round_near_ties(
        reduced, candidates, rows, settings, round_deadline, gap_allowed(bound)
    )
    slot, feasible = repair(slot, candidates, rows, round_deadline)
    assignment = _assignment(candidates, slot)
    objective = _cost(candidates, slot)
    history: list[tuple[float, float]] = []
    if feasible:
        history.append((time.perf_counter() - started, objective))

    def record(value: float) -> None:
        if not history or value < history[-1][1]:
            history.append((time.perf_counter() - started, value))

    logger.info("%s: rounded plan cost %.1f, within bounds: %s", problem.role, objective, feasible)

    # CP-SAT finishes on the candidate model, starting from the rounded plan.
    if candidates.territory.size <= CPSAT_PAIRS and time.perf_counter() < deadline - 1.0:
        model = _candidate_model(problem, candidates)
        finish = solve_cpsat(
            model,
            settings,
            deadline - time.perf_counter(),
            assignment,
            lp_bound_too=False,
            on_plan=record,
        )
        if finish.assignment is not None and (not feasible or finish.objective < objective):
            assignment, objective, feasible = finish.assignment, finish.objective, True
        logger.info("%s: CP-SAT finish %s, cost %.1f", problem.role, finish.status.value, objective)

    runtime = time.perf_counter() - started
    if not feasible:
        return Result(Status.NO_PLAN, None, float("inf"), bound, runtime, "scalable")

    bound = min(bound, objective)
    gap = (objective - bound) / objective if objective > 0 else 0.0
    status = Status.OPTIMAL if gap <= settings.mip_gap else Status.FEASIBLE
    return Result(status, assignment, objective, bound, runtime, "scalable", tuple(history))


def _assignment(candidates: Candidates, slot: np.ndarray) -> np.ndarray:
    return candidates.territory[np.arange(len(slot)), slot].astype(np.int64)


def _candidate_model(problem: RoleProblem, candidates: Candidates) -> LinearModel:
    """Return the model with one binary per distinct (account, candidate territory) pair."""
    n, width = candidates.territory.shape
    pair_account = np.repeat(np.arange(n), width)
    pair_territory = candidates.territory.ravel().astype(np.int64)
    _, keep = np.unique(pair_account * problem.n_territories + pair_territory, return_index=True)
    cost = candidates.cost.ravel()
    return build_pair_model(problem, pair_account[keep], pair_territory[keep], cost[keep])


def _reduced(candidates: Candidates, rows: Bounds, nu: np.ndarray) -> np.ndarray:
    """Return ``(n, K)`` reduced costs: cost plus the multiplier terms at ``nu``."""
    reduced = candidates.cost.copy()
    for k in range(rows.values.shape[1]):
        reduced += rows.values[:, k, None] * nu[candidates.territory, k]
    return reduced


def _cost(candidates: Candidates, slot: np.ndarray) -> float:
    return float(candidates.cost[np.arange(len(slot)), slot].sum())
