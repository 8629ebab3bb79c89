"""Roles on geographic units: the unit of each account, the unit graph, and checks.

A role with a ``geography`` section is planned on units (counties, ZIP codes or a user's
polygons). Each account finds its unit by code or by point (see
:mod:`solver.spatial_join`), all accounts of a unit go to one territory, and with
``contiguity`` every territory must be one connected piece of the graph of the units that
hold the role's accounts (:mod:`solver.adjacency`).

The solver works on one row per unit, or per group of units that a family of accounts
ties together. This module builds that grouping and hands the grouped problem its
adjacency matrix. Afterwards it checks the plan against the unit graph on its own.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from solver.adjacency import UnitGraph, unit_graph
from solver.errors import InputError, input_error
from solver.families import Grouping, group_problem
from solver.problem import RoleProblem
from solver.scenario import Geography, Scenario
from solver.shapes import dissolve_territories, polsby_popper
from solver.spatial_join import join_points
from solver.units import UnitLayer, load_units, unit_index

logger = logging.getLogger(__name__)

#: Accounts-table column with each kind of unit code, and the scenario key mapping it.
_CODE_COLUMNS = {"counties": ("county_code", "county_fips"), "zips": ("zip_code", "zip")}


@dataclass(frozen=True)
class RoleGeography:
    """The units of one role's accounts and, with contiguity, the graph between them.

    ``unit`` gives each account (in the role's account order) its position in
    ``layer.ids``. ``used`` lists the positions of the units with accounts in ascending
    order, and ``graph`` is indexed in that order.
    """

    role: str
    settings: Geography
    layer: UnitLayer
    unit: np.ndarray
    used: np.ndarray
    graph: UnitGraph | None

    @property
    def used_row(self) -> np.ndarray:
        """Return each account's position in ``used``."""
        return np.searchsorted(self.used, self.unit)


def role_geographies(
    scenario: Scenario, accounts: pd.DataFrame, members: dict[str, np.ndarray]
) -> dict[str, RoleGeography]:
    """Place the accounts of every role with a ``geography`` section in its units."""
    found = {}
    for role, spec in scenario.roles.items():
        if spec.geography is None:
            continue
        settings = spec.geography
        layer = load_units(
            settings.units,
            base_dir=scenario.source.parent,
            id_column=settings.id_column,
            crs=settings.crs,
        )
        if settings.contiguity != "none" and not layer.polygonal:
            raise InputError(
                f"{scenario.source.name}, key 'roles.{role}.geography.contiguity': "
                f"'{settings.contiguity}' needs polygon units, but '{settings.units}' has "
                "points only. Fix: use units: counties or a polygon file, or set contiguity: "
                "none."
            )
        own = accounts.loc[members[role]].reset_index(drop=True)
        unit = _join(scenario, role, settings, layer, own)
        used = np.unique(unit)
        graph = None
        if settings.contiguity != "none":
            graph = unit_graph(layer, settings.contiguity, subset=used, role=role)
            _log_graph(role, layer, used, graph)
        found[role] = RoleGeography(role, settings, layer, unit, used, graph)
    return found


def _join(
    scenario: Scenario, role: str, settings: Geography, layer: UnitLayer, own: pd.DataFrame
) -> np.ndarray:
    """Return the unit position of each account: by code where it has one, else by point."""
    file = scenario.inputs.accounts.path.name
    column, key = _code_column(settings, layer)
    source = getattr(scenario.inputs.accounts.columns, key) if key else None
    codes = own[column] if column in own.columns else pd.Series([None] * len(own), dtype=object)
    has_code = codes.notna().to_numpy() if settings.join != "point" else np.zeros(len(own), bool)

    if settings.join == "code" and not has_code.all():
        first = int(np.flatnonzero(~has_code)[0])
        raise input_error(
            file,
            f"has no unit code, but role '{role}' joins its accounts to {layer.name} by code",
            f"fill in the column, map it under inputs.accounts.columns.{key or 'unit'}, or set "
            f"roles.{role}.geography.join to auto or point",
            row=int(own["source_row"].iloc[first]),
            column=source or key or "unit",
            value="",
        )

    unit = np.full(len(own), -1, dtype=np.int64)
    if has_code.any():
        # unit_index reports rows as index + 2, so the index is the 0-based data row.
        coded = _padded_once(codes, own, settings)[has_code].copy()
        coded.index = own.loc[has_code, "source_row"].to_numpy() - 2
        unit[has_code] = unit_index(layer, coded, file=file, column=str(source))
    if (~has_code).any():
        rest = own.loc[~has_code]
        unit[~has_code] = join_points(
            layer,
            rest["latitude"].to_numpy(dtype=float),
            rest["longitude"].to_numpy(dtype=float),
            snap_km=settings.snap_km,
            file=file,
            account_ids=rest["account_id"].to_numpy(dtype=object),
            rows=rest["source_row"].to_numpy(),
        )
    return unit


def _padded_once(codes: pd.Series, own: pd.DataFrame, settings: Geography) -> pd.Series:
    """Pad the codes that placed their accounts, whose lost zeros were already reported.

    The accounts table pads a county or ZIP code that lost its leading zeros, with a
    warning, when it places the account by it. Padding those codes again here keeps the
    warning from showing twice; other codes are left for :func:`unit_index` to check.
    """
    sources = {"counties": "county_fips", "zips": "zip"}
    if settings.units not in sources:
        return codes
    placed = (own["location_source"] == sources[settings.units]).to_numpy()
    short = codes.astype("string").str.fullmatch(r"\d{1,4}(\.0*)?").fillna(False).to_numpy()
    fixed = codes.copy()
    digits = codes[placed & short].astype(str).str.split(".").str[0]
    fixed[placed & short] = digits.str.zfill(5)
    return fixed


def _code_column(settings: Geography, layer: UnitLayer) -> tuple[str, str | None]:
    """Return the accounts column with this layer's codes and the scenario key that maps it."""
    if settings.units in _CODE_COLUMNS:
        return _CODE_COLUMNS[settings.units]
    return "unit_code", "unit"


def _log_graph(role: str, layer: UnitLayer, used: np.ndarray, graph: UnitGraph) -> None:
    edges = graph.matrix.nnz // 2
    logger.info(
        "%s: %d units of %s hold accounts; %d %s adjacencies, %d links joining separate pieces",
        role,
        len(used),
        layer.name,
        edges,
        graph.rule,
        len(graph.links),
    )
    for i, j, km in graph.links:
        logger.info(
            "%s: unit %s is linked to its nearest unit %s (%.0f km)",
            role,
            layer.ids[used[i]],
            layer.ids[used[j]],
            km,
        )


def with_geography(
    problems: dict[str, RoleProblem],
    groupings: dict[str, Grouping],
    geographies: dict[str, RoleGeography],
) -> dict[str, Grouping]:
    """Group every geographic role by unit and give the grouped problem its adjacency.

    A role that also keeps families gets groups that join both: accounts of one unit
    and accounts of one family always share a territory.
    """
    grouped = dict(groupings)
    for role, geography in geographies.items():
        problem = problems[role]
        roots = _roots(geography, groupings.get(role))
        grouping = group_problem(problem, roots)
        if geography.graph is not None:
            adjacency = _group_adjacency(geography, grouping)
            grouping = Grouping(grouping.problem.replace(adjacency=adjacency), grouping.family)
        grouped[role] = grouping
    return grouped


def _roots(geography: RoleGeography, families: Grouping | None) -> np.ndarray:
    """Return a group key per account: its unit, merged with its family when there is one."""
    units = geography.used_row
    if families is None:
        return np.array([f"unit:{u}" for u in units], dtype=object)

    # Nodes are the used units, then the families; each account joins its unit and family.
    n_units = len(geography.used)
    n_nodes = n_units + int(families.family.max()) + 1
    links = sp.csr_matrix(
        (np.ones(len(units)), (units, n_units + families.family)), shape=(n_nodes, n_nodes)
    )
    _, component = connected_components(links, directed=False)
    return np.array([f"group:{c}" for c in component[units]], dtype=object)


def _group_adjacency(geography: RoleGeography, grouping: Grouping) -> sp.csr_matrix:
    """Return the 0/1 adjacency between groups: two groups touch when any of their units do."""
    assert geography.graph is not None
    n_groups = grouping.problem.n_accounts
    group_of_unit = np.zeros(len(geography.used), dtype=np.int64)
    group_of_unit[geography.used_row] = grouping.family
    incidence = sp.csr_matrix(
        (np.ones(len(group_of_unit)), (np.arange(len(group_of_unit)), group_of_unit)),
        shape=(len(group_of_unit), n_groups),
    )
    touching = (incidence.T @ geography.graph.matrix @ incidence).tocsr()
    touching.setdiag(0)
    touching.eliminate_zeros()
    touching.data[:] = 1.0
    return touching


def geography_violations(
    geography: RoleGeography, territory_ids: np.ndarray
) -> list[dict[str, object]]:
    """Return the units split between territories and the territories in several pieces.

    ``territory_ids`` has each account's territory id, in the role's account order. The
    check uses only the unit graph and the final assignment, not the solver's model.
    """
    found: list[dict[str, object]] = []
    frame = pd.DataFrame({"unit": geography.used_row, "territory": territory_ids})
    per_unit = frame.groupby("unit")["territory"].nunique()
    split = per_unit[per_unit > 1].index.to_numpy()
    if len(split):
        ids = [str(geography.layer.ids[geography.used[u]]) for u in split[:5]]
        found.append(_violation(geography.role, "unit_split", len(split), ids))
    if geography.graph is None or len(split):
        return found

    unit_territory = frame.drop_duplicates("unit").set_index("unit")["territory"]
    owner = unit_territory.reindex(np.arange(len(geography.used))).to_numpy()
    for territory, count in territory_pieces(geography.graph.matrix, owner).items():
        if count > 1:
            found.append(
                _violation(geography.role, "contiguity", count, [], territory=str(territory))
            )
    return found


def territory_pieces(adjacency: sp.csr_matrix, owner: np.ndarray) -> dict:
    """Return the number of connected pieces of each owner value on the unit graph."""
    graph = adjacency.tocoo()
    same = owner[graph.row] == owner[graph.col]
    inside = sp.csr_matrix(
        (np.ones(int(same.sum())), (graph.row[same], graph.col[same])), shape=adjacency.shape
    )
    _, labels = connected_components(inside, directed=False)
    pieces = pd.DataFrame({"territory": owner, "piece": labels}).drop_duplicates()
    return {k: int(v) for k, v in pieces.groupby("territory").size().items()}


def _violation(
    role: str, rule: str, count: int, ids: list[str], territory: str | None = None
) -> dict[str, object]:
    if rule == "unit_split":
        message = f"{role}: {count} units are split between territories: {', '.join(ids)}"
    else:
        message = f"{territory}: contiguity: the territory is in {count} separate pieces"
    found: dict[str, object] = {"role": role, "rule": rule, "count": count, "message": message}
    if territory is not None:
        found["territory_id"] = territory
    return found


def shape_columns(
    geography: RoleGeography, account_territory: np.ndarray, shapes: list | None
) -> dict[str, list]:
    """Return the ``pieces`` and ``polsby_popper`` columns, one value per territory.

    ``account_territory`` is each account's territory index and ``shapes`` the dissolved
    shape of each territory (None for a point layer). Pieces are counted on the unit
    graph, so only a role with contiguity has them. Polsby–Popper is ``4 pi A / P^2`` of
    the dissolved shape with geodesic area and perimeter: 1 for a disc, lower when ragged.
    """
    columns: dict[str, list] = {}
    if geography.graph is not None:
        owner = np.zeros(len(geography.used), dtype=np.int64)
        owner[geography.used_row] = account_territory
        pieces = territory_pieces(geography.graph.matrix, owner)
        n_territories = len(shapes) if shapes is not None else int(account_territory.max()) + 1
        columns["pieces"] = [pieces.get(t, 0) for t in range(n_territories)]
    if shapes is not None:
        columns["polsby_popper"] = [polsby_popper(shape) for shape in shapes]
    return columns


def territory_shapes(
    geography: RoleGeography, account_territory: np.ndarray, n_territories: int
) -> list | None:
    """Return the dissolved shape of each territory, or None for a point layer."""
    if not geography.layer.polygonal:
        return None
    unit_territory = np.full(len(geography.layer.ids), -1, dtype=np.int64)
    unit_territory[geography.unit] = account_territory
    return dissolve_territories(geography.layer, unit_territory, n_territories)
