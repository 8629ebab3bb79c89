"""Solve one role at scale for fixed centres: a plan by bisection, a bound by Lagrangian duality.

1. Recursive bisection (:mod:`solver.scale.bisect`) gives a first plan within every bound.
2. Each account keeps its ``K`` nearest centres and its territory in that plan as
   candidates. The Lagrangian dual of the count rows, then of all bound rows, is
   maximised over them. The best value checked against every territory (or the
   nearest-centre cost, when higher) is a proven lower bound for the full model, so the
   reported gap is honest.
3. When the multipliers have converged, bisection runs again with the dual's reduced
   costs, and the cheaper of the two plans is kept. Re-splitting pairs of neighbouring
   territories (:mod:`solver.scale.pairs`) improves the plan until it stops paying.
4. On small candidate models CP-SAT, started from that plan, searches for the remaining
   time. On large ones the dual runs on to tighten the bound instead.
   NOTE: CP-SAT runs against the wall clock with ``settings.threads`` workers, so this
   step, unlike the exact path stopped by its gap, can give a different plan per run.

If bisection finds no plan, the dual's near-plan is rounded by an LP over the nearly tied
accounts (:mod:`solver.scale.polish`) and repaired by moves and swaps.

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
from solver.scale.bisect import NearestCost, PricedCost, bisect_plan
from solver.scale.candidates import Candidates, chord_to_km, nearest_candidates, with_pairs
from solver.scale.lagrange import Bounds, full_bound, maximise_dual
from solver.scale.pairs import PairSearch, improve_pairs
from solver.scale.polish import round_near_ties
from solver.scale.repair import repair
from solver.scenario import ACCOUNT_COUNT, SolverSettings

logger = logging.getLogger(__name__)

#: Relative gap (of the whole role's bound) at which the rounding MIP may stop.
ROUNDING_GAP = 0.002

#: Largest candidate model (account, territory pairs) handed to CP-SAT to finish.
#: NOTE: CP-SAT found no plan in 120 s at 20,000 accounts x 100 territories (about
#: 210,000 pairs) on a 2-core machine, so larger roles rely on the rounding alone.
CPSAT_PAIRS = 500_000

#: Share of the role's time the dual bound may use, counted from the start.
DUAL_SHARE = 0.4

#: Minimum ratio of the full dual bound to the candidates' dual bound at which the
#: multipliers guide a second bisection (measured: 0.9999 at 20,000 accounts, where the
#: guided plan won, and 0.81 at 100,000, where it lost).
GUIDE_AGREEMENT = 0.98

#: Golden-section steps when the multipliers are scaled down for a better full bound
#: (the interval shrinks to 0.618 ** (steps + 1) of its length).
SCALE_STEPS = 4
GOLDEN = (1.0 + 5.0**0.5) / 2.0

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

    history = _History(started)

    # Bisection gives a plan within every row; its pairs join the candidates, so the
    # candidate model is feasible and its dual is bounded.
    nearest = NearestCost(problem, centres, compactness)
    plan = bisect_plan(problem, centres, rows, nearest, settings, deadline)
    if plan is not None:
        history.record(_plan_cost(problem, centres, compactness, plan))
        candidates = _with_plan(candidates, problem, centres, compactness, plan)

    bound, candidates, dual, guide_nu = _lower_bound(
        problem,
        candidates,
        exact,
        centres,
        compactness,
        every_territory,
        started + DUAL_SHARE * (deadline - started),
    )
    cpsat = candidates.territory.size <= CPSAT_PAIRS
    search_deadline = deadline
    if cpsat:
        search_deadline = time.perf_counter() + 0.5 * (deadline - time.perf_counter())

    if plan is not None and guide_nu is not None:
        priced = PricedCost(nearest, candidates, rows, guide_nu)
        guided = bisect_plan(problem, centres, rows, priced, settings, search_deadline)
        # Multipliers far from converged mislead the splits, so the guided plan must win.
        if guided is not None:
            cost = _plan_cost(problem, centres, compactness, guided)
            if cost < history.best:
                plan = guided
                history.record(cost)
    if plan is not None:
        search = PairSearch(problem, centres, rows, compactness, plan)
        assignment = improve_pairs(search, settings, search_deadline, history.record)
        objective, feasible = _plan_cost(problem, centres, compactness, assignment), True
    else:
        assignment, objective, feasible = _round_and_repair(
            candidates, rows, dual, settings, search_deadline, gap_allowed(bound)
        )
        if feasible:
            history.record(objective)
    logger.info("%s: plan cost %.1f, within bounds: %s", problem.role, objective, feasible)

    # Time the search did not need tightens the bound, from where the dual stopped.
    if not cpsat and time.perf_counter() < deadline - 1.0:
        later, _, _ = _dual_bound(
            problem, candidates, exact, centres, compactness, every_territory, deadline, dual.nu
        )
        bound = max(bound, later)

    # CP-SAT finishes on the candidate model, starting from the rounded plan.
    if cpsat and time.perf_counter() < deadline - 1.0:
        candidates = _with_plan(candidates, problem, centres, compactness, assignment)
        finish = _cpsat_finish(problem, candidates, settings, deadline, assignment, history)
        if finish.assignment is not None and (not feasible or finish.objective < objective):
            assignment, objective, feasible = finish.assignment, finish.objective, True

    runtime = time.perf_counter() - started
    if not feasible:
        return Result(Status.NO_PLAN, None, float("inf"), bound, runtime, "scalable")

    bound = min(bound, objective)
    gap = (objective - bound) / objective if objective > 0 else 0.0
    status = Status.OPTIMAL if gap <= settings.mip_gap else Status.FEASIBLE
    return Result(status, assignment, objective, bound, runtime, "scalable", tuple(history.points))


def _lower_bound(problem, candidates, exact, centres, compactness, every_territory, deadline):
    """Return ``(bound, candidates, dual, guide)``: the best proven bound and its multipliers.

    The dual of the count rows alone has one multiplier per territory and converges far
    faster than the dual of every row. Its bound is valid too (the other rows are
    dropped), and its multipliers start the full dual. With every multiplier at zero the
    dual is each account at its nearest centre: a weak bound, but one that multipliers far
    from converged can fall below. ``guide`` is the multipliers worth a guided
    bisection, or None: they must beat that floor, and their full bound must nearly match
    the candidates' own, because others priced the splits worse in every trial.
    """
    bound = restricted = -np.inf
    guide: np.ndarray | None = None
    start: np.ndarray | None = None
    count = _count_column(problem)
    if count is not None:
        halfway = time.perf_counter() + 0.5 * (deadline - time.perf_counter())
        count_rows = Bounds(
            exact.values[:, [count]], exact.lower[:, [count]], exact.upper[:, [count]]
        )
        bound, candidates, count_dual = _dual_bound(
            problem, candidates, count_rows, centres, compactness, every_territory, halfway
        )
        if bound < GUIDE_AGREEMENT * count_dual.bound:
            scaled = _scaled_bound(count_dual.best_nu, candidates, count_rows, every_territory)
            logger.info("%s: count bound %.1f, scaled %.1f", problem.role, bound, scaled)
            bound = max(bound, scaled)
        start = np.zeros(exact.lower.shape)
        start[:, count] = count_dual.nu[:, 0]
        guide = np.zeros(exact.lower.shape)
        guide[:, count] = count_dual.best_nu[:, 0]
        restricted = count_dual.bound
    full, candidates, dual = _dual_bound(
        problem, candidates, exact, centres, compactness, every_territory, deadline, start
    )
    if full >= bound:
        bound, guide, restricted = full, dual.best_nu, dual.bound

    floor = float(candidates.cost[:, 0].sum())
    if not (bound > floor and bound >= GUIDE_AGREEMENT * restricted):
        guide = None
    return max(bound, floor), candidates, dual, guide


def _cpsat_finish(problem, candidates, settings, deadline, assignment, history) -> Result:
    """Run CP-SAT on the candidate model from ``assignment`` until ``deadline``."""
    model = _candidate_model(problem, candidates)
    finish = solve_cpsat(
        model,
        settings,
        deadline - time.perf_counter(),
        assignment,
        lp_bound_too=False,
        on_plan=history.record,
    )
    logger.info(
        "%s: CP-SAT finish %s, cost %.1f", problem.role, finish.status.value, finish.objective
    )
    return finish


class _History:
    """Times and costs of the improving plans, counted from ``started``."""

    def __init__(self, started: float) -> None:
        self.started = started
        self.points: list[tuple[float, float]] = []

    @property
    def best(self) -> float:
        return self.points[-1][1] if self.points else float("inf")

    def record(self, cost: float) -> None:
        """Add ``cost`` if it improves on the best so far."""
        if cost < self.best:
            self.points.append((time.perf_counter() - self.started, cost))


def _count_column(problem: RoleProblem) -> int | None:
    """Return the column of the account count in :func:`scaled_bounds`, if it has a bound."""
    if ACCOUNT_COUNT not in problem.metric_names:
        return None
    k = problem.metric_names.index(ACCOUNT_COUNT)
    lower, upper = problem.lower, problem.upper
    active = np.flatnonzero(np.isfinite(lower).any(axis=0) | np.isfinite(upper).any(axis=0))
    where = np.flatnonzero(active == k)
    return int(where[0]) if len(where) else None


def _dual_bound(
    problem, candidates, exact, centres, compactness, every_territory, deadline, start=None
):
    """Maximise the dual with column generation; return the bound, candidates and dual.

    Pairs that are cheaper outside the candidates at the best multipliers join the
    candidates, and the dual is maximised again from where it stopped.
    """
    started = time.perf_counter()
    for _ in range(PRICING_ROUNDS):
        dual = maximise_dual(candidates, exact, deadline, start)
        bound, accounts, territories = full_bound(dual.best_nu, candidates, exact, every_territory)
        if len(accounts) == 0 or time.perf_counter() >= deadline:
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
    return bound, candidates, dual


def _scaled_bound(nu, candidates, rows, every_territory) -> float:
    """Return the best full bound over multipliers ``alpha * nu``, ``0 <= alpha <= 1``.

    Multipliers fitted to the candidates can make territories outside them look cheap to
    almost every account, so the full bound at ``nu`` falls far below the candidates'
    own. Any multipliers give a valid bound, and the dual is concave along the segment
    from zero to ``nu``, so a golden-section search finds a better point on it.
    """

    def value(alpha: float) -> float:
        return full_bound(alpha * nu, candidates, rows, every_territory)[0]

    low, high = 0.0, 1.0
    inner = (high - low) / GOLDEN
    a, b = high - inner, low + inner
    value_a, value_b = value(a), value(b)
    best = max(value_a, value_b)
    for _ in range(SCALE_STEPS):
        if value_a >= value_b:
            high, b, value_b = b, a, value_a
            a = high - (high - low) / GOLDEN
            value_a = value(a)
        else:
            low, a, value_a = a, b, value_b
            b = low + (high - low) / GOLDEN
            value_b = value(b)
        best = max(best, value_a, value_b)
    return best


def _round_and_repair(candidates, rows, dual, settings, deadline, absolute_gap):
    """Return ``(assignment, cost, within bounds)`` from rounding the dual's near-plan."""
    reduced = _reduced(candidates, rows, dual.nu)
    slot, _ = round_near_ties(reduced, candidates, rows, settings, deadline, absolute_gap)
    slot, feasible = repair(slot, candidates, rows, deadline)
    return _assignment(candidates, slot), _cost(candidates, slot), feasible


def _with_plan(candidates, problem, centres, compactness, plan) -> Candidates:
    """Return ``candidates`` with each account's territory in ``plan`` added where missing."""
    known = (candidates.territory == plan[:, None]).any(axis=1)
    missing = np.flatnonzero(~known)
    return with_pairs(
        candidates, problem.coords, problem.weights, centres, compactness, missing, plan[missing]
    )


def _plan_cost(problem, centres, compactness, plan) -> float:
    """Return the cost of ``plan``: compactness times weight times km to its centre."""
    points, centre_points = unit_vectors(problem.coords), unit_vectors(centres)
    chord = np.linalg.norm(points - centre_points[plan], axis=1)
    return float((compactness * problem.weights * chord_to_km(chord)).sum())


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
