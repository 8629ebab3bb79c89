"""Tests for solver.adjacency: rook and queen graphs, slivers, islands and links."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from scipy.sparse.csgraph import connected_components
from shapely.geometry import box

from solver.adjacency import unit_graph
from solver.errors import InputError
from solver.units import UnitLayer, load_units

REFERENCE = Path(__file__).parent / "data" / "county_adjacency_polygons.csv"

# A spot in Kansas, in metres of the Albers equal-area CRS EPSG:5070.
X0, Y0, SIDE = -100_000.0, 1_700_000.0, 10_000.0


def write_layer(tmp_path: Path, boxes: dict[str, tuple], crs: str) -> UnitLayer:
    """Write boxes (min x, min y, max x, max y) keyed by unit id and load them."""
    geometry = [box(*bounds) for bounds in boxes.values()]
    frame = gpd.GeoDataFrame({"unit_id": list(boxes)}, geometry=geometry, crs=crs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        frame.to_file(tmp_path / "units.gpkg")
    return load_units("units.gpkg", base_dir=tmp_path, id_column="unit_id")


def grid(rows: int, columns: int, gap_after_column: float = 0.0) -> dict[str, tuple]:
    """Return a grid of 10 km squares in EPSG:5070, ids 'r<row>c<column>' in row order.

    Columns after the first are moved east by ``gap_after_column`` metres, which opens a
    gap of that width between the first and second columns.
    """
    cells = {}
    for r in range(rows):
        for c in range(columns):
            x = X0 + c * SIDE + (gap_after_column if c > 0 else 0.0)
            y = Y0 + r * SIDE
            cells[f"r{r}c{c}"] = (x, y, x + SIDE, y + SIDE)
    return cells


def edges(matrix) -> int:
    return int(matrix.nnz // 2)


def test_grid_rook_and_queen_counts(tmp_path):
    """A 3 x 3 grid.

    ```
    r2c0 r2c1 r2c2
    r1c0 r1c1 r1c2
    r0c0 r0c1 r0c2
    ```

    Rook: 3 rows of 2 east-west borders plus 3 columns of 2 north-south borders = 12.
    Queen adds the 2 diagonals of each of the 4 blocks of 2 x 2 cells: 12 + 8 = 20.
    """
    layer = write_layer(tmp_path, grid(3, 3), "EPSG:5070")

    rook = unit_graph(layer, "rook")
    queen = unit_graph(layer, "queen")

    assert edges(rook.matrix) == 12
    assert edges(queen.matrix) == 20
    assert rook.links == ()
    assert rook.islands == ()
    assert (rook.matrix != rook.matrix.T).nnz == 0
    assert rook.matrix.diagonal().sum() == 0
    # The centre r1c1 (position 4) has 4 rook and 8 queen neighbours.
    assert rook.matrix[4].nnz == 4
    assert queen.matrix[4].nnz == 8


def test_sliver_gap_keeps_rook_borders(tmp_path):
    # A 10 m gap between the first two columns is below the 50 m snapping tolerance.
    layer = write_layer(tmp_path, grid(3, 3, gap_after_column=10.0), "EPSG:5070")
    graph = unit_graph(layer, "rook")
    assert edges(graph.matrix) == 12
    assert graph.links == ()


def test_wide_gap_breaks_borders(tmp_path):
    # A 500 m gap is a real gap: the 3 borders across it go, and one link joins the
    # first column to the rest, so 12 - 3 + 1 = 10 edges.
    layer = write_layer(tmp_path, grid(3, 3, gap_after_column=500.0), "EPSG:5070")
    graph = unit_graph(layer, "rook")
    assert edges(graph.matrix) == 10
    assert len(graph.links) == 1
    assert graph.links[0][2] == pytest.approx(0.5, abs=0.02)


def test_corner_touch_queen_not_rook(tmp_path):
    cells = {
        "A": (X0, Y0, X0 + SIDE, Y0 + SIDE),
        "B": (X0 + SIDE, Y0 + SIDE, X0 + 2 * SIDE, Y0 + 2 * SIDE),
    }
    layer = write_layer(tmp_path, cells, "EPSG:5070")

    queen = unit_graph(layer, "queen")
    rook = unit_graph(layer, "rook")

    assert edges(queen.matrix) == 1
    assert queen.links == ()
    assert queen.islands == ()
    # By the rook rule both squares are islands, so a link of 0 km joins them.
    assert rook.islands == (0, 1)
    assert len(rook.links) == 1
    assert sorted(rook.links[0][:2]) == [0, 1]
    assert rook.links[0][2] == pytest.approx(0.0, abs=1e-3)
    assert edges(rook.matrix) == 1


def test_island_linked_to_nearest(tmp_path):
    # Squares of 0.1 degree at latitude 40 to 40.1: A and B touch, C is 0.8 degree east of
    # B. The closest points are the north corners, where the meridians are closest:
    # (40.1, -99.8) and (40.1, -99.0). Great circle: 2 R asin(cos 40.1 deg * sin 0.4 deg)
    # = 2 * 6371.0088 * asin(0.764922 * 0.00698126) = 68.044 km.
    cells = {
        "A": (-100.0, 40.0, -99.9, 40.1),
        "B": (-99.9, 40.0, -99.8, 40.1),
        "C": (-99.0, 40.0, -98.9, 40.1),
    }
    layer = write_layer(tmp_path, cells, "EPSG:4326")

    graph = unit_graph(layer, "rook")

    assert graph.islands == (2,)
    assert len(graph.links) == 1
    island, nearest, km = graph.links[0]
    assert (island, nearest) == (2, 1)
    assert km == pytest.approx(68.044, abs=0.01)
    assert graph.matrix[2, 1] == 1.0
    assert connected_components(graph.matrix, directed=False)[0] == 1


def test_subset_pieces_linked(tmp_path):
    # A row A B C of 0.1 degree squares, and only A and C have accounts. Without B they are two
    # pieces, 0.1 degree of longitude apart: at latitude 40.1 that is
    # 2 * 6371.0088 * asin(cos 40.1 deg * sin 0.05 deg) = 8.506 km.
    cells = {
        "A": (-100.0, 40.0, -99.9, 40.1),
        "B": (-99.9, 40.0, -99.8, 40.1),
        "C": (-99.8, 40.0, -99.7, 40.1),
    }
    layer = write_layer(tmp_path, cells, "EPSG:4326")

    graph = unit_graph(layer, "rook", subset=np.array([0, 2]))

    assert graph.matrix.shape == (2, 2)
    assert graph.islands == (0, 1)
    assert len(graph.links) == 1
    assert sorted(graph.links[0][:2]) == [0, 1]
    expected = (
        2 * 6371.0088 * math.asin(math.cos(math.radians(40.1)) * math.sin(math.radians(0.05)))
    )
    assert expected == pytest.approx(8.506, abs=0.001)
    assert graph.links[0][2] == pytest.approx(expected, abs=0.01)


def test_point_layer_rejected():
    message = "role 'FIELD': contiguity needs polygon units, but the zips layer has points"
    with pytest.raises(InputError, match=message) as error:
        unit_graph(load_units("zips"), "rook", role="FIELD")
    assert "Fix: use counties or a polygon file as the units" in str(error.value)


def test_unknown_rule_rejected():
    with pytest.raises(ValueError, match="rule must be 'rook' or 'queen', got 'bishop'"):
        unit_graph(load_units("counties"), "bishop")


# -- real counties ------------------------------------------------------------------------


def reference_pairs(rook_only: bool) -> set[tuple[str, str]]:
    table = pd.read_csv(REFERENCE, dtype={"geoid_a": str, "geoid_b": str})
    if rook_only:
        table = table[table["rook"]]
    return set(zip(table["geoid_a"], table["geoid_b"], strict=True))


def graph_pairs(rule: str) -> set[tuple[str, str]]:
    """Return the pairs of the rule itself, without the links that join pieces."""
    counties = load_units("counties")
    graph = unit_graph(counties, rule)
    linked = {(min(i, j), max(i, j)) for i, j, _ in graph.links}
    upper = graph.matrix.tocoo()
    return {
        (counties.ids[i], counties.ids[j])
        for i, j in zip(upper.row, upper.col, strict=True)
        if i < j and (i, j) not in linked
    }


@pytest.mark.parametrize("rule", ["rook", "queen"])
def test_counties_agree_with_reference(rule):
    # The reference pairs come from the full-resolution polygons, but the shipped ones are
    # simplified, so a few short borders and corner touches differ.
    mine = graph_pairs(rule)
    reference = reference_pairs(rook_only=rule == "rook")
    agreement = len(mine & reference) / len(mine | reference)
    assert agreement >= 0.99, (rule, len(mine), len(reference), len(mine & reference))


def test_counties_islands_linked_and_connected():
    counties = load_units("counties")
    graph = unit_graph(counties, "rook")

    islands = {counties.ids[i] for i in graph.islands}
    hawaii = {"15001", "15003", "15007"}
    assert islands == hawaii | {"25019", "25007", "53055", "02016"}
    linked = {counties.ids[i] for i, j, _ in graph.links} | {
        counties.ids[j] for i, j, _ in graph.links
    }
    assert islands <= linked
    assert connected_components(graph.matrix, directed=False)[0] == 1


def test_los_angeles_rook_neighbours():
    counties = load_units("counties")
    graph = unit_graph(counties, "rook")
    los_angeles = int(np.searchsorted(counties.ids, "06037"))
    neighbours = {counties.ids[j] for j in graph.matrix[los_angeles].indices}
    assert {"06059", "06029", "06111", "06071"} <= neighbours


def test_massachusetts_subset_links_islands():
    # Martha's Vineyard (Dukes, 25007) lies off Cape Cod (Barnstable, 25001), and Nantucket
    # (25019) lies south-east of Martha's Vineyard, so each gets one link.
    counties = load_units("counties")
    subset = np.flatnonzero(np.char.startswith(counties.ids.astype(str), "25"))
    assert len(subset) == 14

    graph = unit_graph(counties, "rook", subset=subset)

    ids = counties.ids[subset]
    assert {ids[i] for i in graph.islands} == {"25007", "25019"}
    pairs = {frozenset((ids[i], ids[j])) for i, j, _ in graph.links}
    assert pairs == {frozenset(("25007", "25001")), frozenset(("25019", "25007"))}
    assert connected_components(graph.matrix, directed=False)[0] == 1
