"""Problem data: one immutable :class:`RoleProblem` per role, built from validated inputs.

Solvers take a ``RoleProblem`` (numpy arrays), never raw DataFrames. Every bound is
computed here once, so the formulation, the pre-checks, the verification and the outputs
all read the same numbers.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from solver.scenario import ACCOUNT_COUNT, Role, Scenario


@dataclass(frozen=True)
class Territory:
    """One territory, owned by one rep (a current rep or a planned hire)."""

    territory_id: str
    rep_id: str
    rep_name: str | None
    rep_start_date: dt.date
    ramp_factor: float
    capacity_share: float
    home: tuple[float, float] | None


@dataclass(frozen=True)
class MoveLimit:
    """A disruption budget: at most ``limit`` of ``metric`` may leave previous territories.

    ``territory`` is None for the whole role, else the index of the one territory whose
    losses the limit caps. ``metric`` is ``accounts`` to count accounts.
    """

    metric: str
    territory: int | None
    limit: float
    key: str
    # (n, T) amount of ``metric`` in scope that stays when account i goes to territory t.
    # None means account i's value stays only in its previous territory. Grouped families
    # set it, because their members can come from several territories.
    stay: np.ndarray | None = None


@dataclass(frozen=True)
class RoleProblem:
    """Accounts and territories of one role, with every bound as an array.

    Shapes: ``n`` accounts, ``T`` territories, ``m`` metrics. Bounds are ``(T, m)`` arrays
    aligned with ``metric_names``; ``-inf`` / ``+inf`` mean "no bound".

    Attributes
    ----------
    values
        ``(n, m)`` metric values of each account. Column ``metric_names.index("accounts")``
        is all ones.
    weights
        ``(n,)`` compactness weights, scaled to average 1 so the objective divided by ``n``
        is a weighted mean distance in km.
    balance_lo, balance_hi
        Balance bands: target times (1 - tolerance) and (1 + tolerance).
    minimum
        Viability minimums per territory.
    capacity
        Ramp-weighted capacity per territory (upper bounds), including max accounts on the
        ``accounts`` metric.
    fixed_centre
        ``(T,)`` True where the territory centre is the rep's home and never moves.
    previous
        ``(n,)`` territory of each account in the plan before this one, ``-1`` where it had
        none; None when there is no earlier plan.
    move_cost
        ``(n,)`` objective cost of moving each account away from ``previous``.
    move_budget
        Maximum number of accounts that may leave their ``previous`` territory; None
        for no limit.
    move_limits
        Disruption budgets on what may leave ``previous`` territories, per role or per
        territory and per metric.
    locked
        ``(n,)`` territory each account is pinned to, ``-1`` where it is free; None when no
        account is pinned.
    adjacency
        ``(n, n)`` symmetric 0/1 graph of the rows that touch, for a role whose territories
        must be contiguous; None otherwise.
    """

    role: str
    account_ids: np.ndarray
    coords: np.ndarray
    weights: np.ndarray
    metric_names: tuple[str, ...]
    values: np.ndarray
    territories: tuple[Territory, ...]
    tolerance: np.ndarray
    target: np.ndarray
    balance_lo: np.ndarray
    balance_hi: np.ndarray
    minimum: np.ndarray
    capacity: np.ndarray
    fixed_centre: np.ndarray
    home_coords: np.ndarray
    previous: np.ndarray | None = None
    move_cost: np.ndarray | None = None
    move_budget: int | None = None
    move_limits: tuple[MoveLimit, ...] = ()
    locked: np.ndarray | None = None
    adjacency: sp.csr_matrix | None = None

    def __post_init__(self) -> None:
        n, m, t = len(self.account_ids), len(self.metric_names), len(self.territories)
        checks = {
            "coords": (self.coords.shape, (n, 2)),
            "weights": (self.weights.shape, (n,)),
            "values": (self.values.shape, (n, m)),
            "target": (self.target.shape, (t, m)),
            "minimum": (self.minimum.shape, (t, m)),
            "capacity": (self.capacity.shape, (t, m)),
            "home_coords": (self.home_coords.shape, (t, 2)),
        }
        if self.adjacency is not None:
            checks["adjacency"] = (self.adjacency.shape, (n, n))
        for name, (got, expected) in checks.items():
            if got != expected:
                raise ValueError(f"role '{self.role}': {name} has shape {got}, expected {expected}")
        for array in (self.values, self.weights, self.coords):
            array.setflags(write=False)

    @property
    def n_accounts(self) -> int:
        return len(self.account_ids)

    @property
    def n_territories(self) -> int:
        return len(self.territories)

    @property
    def balanced(self) -> np.ndarray:
        """Return a ``(m,)`` mask of metrics with a balance goal."""
        return np.isfinite(self.tolerance)

    @property
    def lower(self) -> np.ndarray:
        """Return the tightest lower bound per territory and metric (band or minimum)."""
        return np.maximum(self.balance_lo, self.minimum)

    @property
    def upper(self) -> np.ndarray:
        """Return the tightest upper bound per territory and metric (band or capacity)."""
        return np.minimum(self.balance_hi, self.capacity)

    def totals(self, assignment: np.ndarray) -> np.ndarray:
        """Return ``(T, m)`` metric totals of each territory for an account→territory array."""
        totals = np.zeros((self.n_territories, len(self.metric_names)))
        np.add.at(totals, assignment, self.values)
        return totals

    def replace(self, **changes: object) -> RoleProblem:
        """Return a checked copy with ``changes`` applied."""
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]


def territory_id(role: str, index: int) -> str:
    """Return the id of the ``index``-th territory (0-based) of ``role``, e.g. ``ENT-T01``."""
    return f"{role}-T{index + 1:02d}"


def balance_bands(target: np.ndarray, tolerance: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the ``(T, m)`` band bounds ``target * (1 -/+ tolerance)``.

    A metric whose tolerance is ``inf`` has no goal, so its bounds are ``-inf`` and ``inf``.
    """
    balanced = np.isfinite(tolerance)
    finite = np.where(balanced, tolerance, 0.0)
    lower = np.where(balanced, target * (1.0 - finite), -np.inf)
    upper = np.where(balanced, target * (1.0 + finite), np.inf)
    return lower, upper


def build_role_problem(
    scenario: Scenario,
    role_name: str,
    accounts: pd.DataFrame,
    capacity: pd.DataFrame,
) -> RoleProblem:
    """Build the problem of one role from its accounts and its active reps.

    Parameters
    ----------
    scenario
        The validated scenario.
    role_name
        Key of the role in ``scenario.roles``.
    accounts
        The role's accounts, as returned by the tables stage (one float column per metric).
    capacity
        The role's rows of the capacity table on the design date (one row per active rep).
    """
    role = scenario.roles[role_name]
    metric_names = tuple(scenario.metric_names)
    values = _metric_values(accounts, metric_names)
    territories = _territories(role_name, capacity)
    n_terr = len(territories)
    share = np.array([t.capacity_share for t in territories])
    ramp = np.array([t.ramp_factor for t in territories])

    tolerance = np.full(len(metric_names), np.inf)
    for goal in role.balance:
        tolerance[metric_names.index(goal.metric)] = goal.tolerance
    target = np.outer(share, values.sum(axis=0))
    balance_lo, balance_hi = balance_bands(target, tolerance)

    minimum = np.full((n_terr, len(metric_names)), -np.inf)
    for rule in role.viability:
        minimum[:, metric_names.index(rule.metric)] = rule.minimum

    homes = np.array([t.home if t.home else (np.nan, np.nan) for t in territories], dtype=float)
    fixed = _fixed_centres(role, homes)

    return RoleProblem(
        role=role_name,
        account_ids=accounts["account_id"].to_numpy(dtype=object),
        coords=accounts[["latitude", "longitude"]].to_numpy(dtype=float),
        weights=_weights(values, metric_names, role.account_weight),
        metric_names=metric_names,
        values=values,
        territories=territories,
        tolerance=tolerance,
        target=target,
        balance_lo=balance_lo,
        balance_hi=balance_hi,
        minimum=minimum,
        capacity=_capacity(role, metric_names, ramp),
        fixed_centre=fixed,
        home_coords=homes.reshape(n_terr, 2),
    )


def _metric_values(accounts: pd.DataFrame, metric_names: tuple[str, ...]) -> np.ndarray:
    columns = [
        np.ones(len(accounts)) if name == ACCOUNT_COUNT else accounts[name].to_numpy(dtype=float)
        for name in metric_names
    ]
    return np.column_stack(columns) if columns else np.zeros((len(accounts), 0))


def _territories(role_name: str, capacity: pd.DataFrame) -> tuple[Territory, ...]:
    territories = []
    records: list[dict[str, Any]] = capacity.to_dict("records")  # type: ignore[assignment]
    for index, rep in enumerate(records):
        home = None
        lat, lon = rep.get("home_latitude", np.nan), rep.get("home_longitude", np.nan)
        if pd.notna(lat) and pd.notna(lon):
            home = (float(lat), float(lon))
        name = rep.get("name")
        territories.append(
            Territory(
                territory_id=territory_id(role_name, index),
                rep_id=str(rep["rep_id"]),
                rep_name=None if pd.isna(name) else str(name),
                rep_start_date=pd.Timestamp(rep["start_date"]).date(),
                ramp_factor=float(rep["ramp_factor"]),
                capacity_share=float(rep["capacity_share"]),
                home=home,
            )
        )
    return tuple(territories)


def _weights(values: np.ndarray, metric_names: tuple[str, ...], metric: str) -> np.ndarray:
    raw = values[:, metric_names.index(metric)].astype(float)
    mean = raw.mean() if len(raw) else 0.0
    # An all-zero weight metric would make every plan cost 0; fall back to counting accounts.
    return raw / mean if mean > 0 else np.ones(len(raw))


def _capacity(role: Role, metric_names: tuple[str, ...], ramp: np.ndarray) -> np.ndarray:
    capacity = np.full((len(ramp), len(metric_names)), np.inf)
    for metric, amount in role.capacity.metrics.items():
        capacity[:, metric_names.index(metric)] = ramp * amount
    if role.capacity.max_accounts is not None:
        column = metric_names.index(ACCOUNT_COUNT)
        limit = np.floor(ramp * role.capacity.max_accounts + 1e-9)
        capacity[:, column] = np.minimum(capacity[:, column], limit)
    return capacity


def _fixed_centres(role: Role, homes: np.ndarray) -> np.ndarray:
    has_home = ~np.isnan(homes).any(axis=1) if len(homes) else np.zeros(0, dtype=bool)
    if role.centres == "model":
        return np.zeros(len(homes), dtype=bool)
    return has_home
