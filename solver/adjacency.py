"""Adjacency graphs of polygon units (rook or queen), with links that join separate pieces.

Neighbours are found in the layer's projected working CRS, in metres (see
:func:`solver.units.working_crs`). Real boundaries have slivers: tiny gaps and overlaps
between neighbours, and corners that a simplification moved apart. So:

- Queen: two units are neighbours when their polygons come within :data:`SNAP_M` of each
  other. Touching at one point is enough.
- Rook: queen neighbours whose boundaries also run within :data:`SNAP_M` of each other
  for more than :data:`MIN_BORDER_M`. That length is measured along each unit's boundary,
  and the shorter of the two counts. A corner touch gives about ``2 * SNAP_M`` of such
  boundary, so it stays queen-only. On the shipped counties 3 of the 339 corner touches of
  the full-resolution polygons reach more than :data:`MIN_BORDER_M` after simplification
  and count as rook.

Pieces: the rule's graph can have several connected components (islands, or areas that
units outside ``subset`` separate). They are joined by a minimum spanning tree over the
pieces, which gives the same links as repeatedly linking the two closest pieces. The
distance between two pieces is the great-circle km between the nearest points of their
closest units, and each link joins those two units. The closest unit of another piece is
found in the projected CRS, so over long distances it is the nearest only approximately.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass

import numpy as np
import pyproj
import scipy.sparse as sp
import shapely
from scipy.sparse.csgraph import connected_components

from solver.errors import input_error
from solver.geo import haversine_km
from solver.units import STORAGE_CRS, UnitLayer, projected_units

logger = logging.getLogger(__name__)

#: Snapping tolerance in metres: gaps up to this wide between polygons are borders.
SNAP_M = 50.0

#: Shortest border in metres that makes two units rook neighbours (4 times SNAP_M).
MIN_BORDER_M = 200.0

RULES = ("rook", "queen")


@dataclass(frozen=True)
class UnitGraph:
    """Adjacency graph of units, connected by links between its pieces."""

    #: 'rook' or 'queen'.
    rule: str
    #: (u, u) symmetric 0/1 adjacency without diagonal, including ``links``.
    matrix: sp.csr_matrix
    #: Links that join pieces: (unit i, unit j, great-circle km between their polygons).
    links: tuple[tuple[int, int, float], ...]
    #: Units with no neighbour by the rule itself, before links.
    islands: tuple[int, ...]


def unit_graph(
    layer: UnitLayer,
    rule: str = "rook",
    *,
    subset: np.ndarray | None = None,
    role: str | None = None,
) -> UnitGraph:
    """Build the rook or queen graph of the units and link its pieces into one.

    Parameters
    ----------
    layer
        Polygon units.
    rule
        ``'rook'`` (a shared border) or ``'queen'`` (a shared point is enough).
    subset
        Sorted positions in ``layer.ids`` of the units to keep, such as the units that
        contain a role's accounts. The graph is then the one induced on them, and every
        position in the result is a position in ``subset``. None keeps all units.
    role
        Role name for messages.

    Raises
    ------
    InputError
        When the layer has points, not polygons, because contiguity needs borders.
    """
    if rule not in RULES:
        raise ValueError(f"rule must be 'rook' or 'queen', got {rule!r}")
    if not layer.polygonal:
        problem = f"contiguity needs polygon units, but the {layer.name} layer has points"
        if role:
            problem = f"role '{role}': {problem}"
        fix = "use counties or a polygon file as the units, or set contiguity to none"
        raise input_error(layer.source, problem, fix)

    positions = _subset_positions(layer, subset)
    first, second, border = _neighbours(layer)
    pairs = border > MIN_BORDER_M if rule == "rook" else np.ones(len(border), dtype=bool)

    # Keep the pairs whose two units are both in the subset, renumbered in subset order.
    local = np.full(len(layer.ids), -1, dtype=np.int64)
    local[positions] = np.arange(len(positions))
    a, b = local[first[pairs]], local[second[pairs]]
    inside = (a >= 0) & (b >= 0)
    a, b = a[inside], b[inside]

    size = len(positions)
    matrix = _symmetric(a, b, size)
    islands = tuple(int(i) for i in np.flatnonzero(np.diff(matrix.indptr) == 0))
    links = _link_pieces(layer, positions, matrix)
    if links:
        ends = np.array([(i, j) for i, j, _ in links], dtype=np.int64)
        matrix = _symmetric(np.concatenate([a, ends[:, 0]]), np.concatenate([b, ends[:, 1]]), size)
    return UnitGraph(rule, matrix, links, islands)


def _subset_positions(layer: UnitLayer, subset: np.ndarray | None) -> np.ndarray:
    if subset is None:
        return np.arange(len(layer.ids), dtype=np.int64)
    positions = np.asarray(subset, dtype=np.int64)
    if positions.ndim != 1 or (np.diff(positions) <= 0).any():
        raise ValueError("subset must be a 1-d array of sorted, unique unit positions")
    if len(positions) and (positions[0] < 0 or positions[-1] >= len(layer.ids)):
        raise ValueError(f"subset positions must lie in [0, {len(layer.ids)})")
    return positions


@functools.lru_cache(maxsize=8)
def _neighbours(layer: UnitLayer) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the queen pairs (i < j) of the whole layer and the border length of each.

    Cached per layer, so the shipped counties are computed once per process for both rules.
    """
    _, polygons, tree = projected_units(layer)
    first, second = tree.query(polygons, predicate="dwithin", distance=SNAP_M)
    keep = first < second
    first, second = first[keep], second[keep]

    # Boundary of one unit within SNAP_M of the other: the border, even across a sliver.
    grown = shapely.buffer(polygons, SNAP_M, quad_segs=2)
    boundary = shapely.boundary(polygons)
    forward = shapely.length(shapely.intersection(boundary[first], grown[second]))
    backward = shapely.length(shapely.intersection(boundary[second], grown[first]))
    logger.debug("%s: %d queen pairs within %g m", layer.name, len(first), SNAP_M)
    return first, second, np.minimum(forward, backward)


def _symmetric(a: np.ndarray, b: np.ndarray, size: int) -> sp.csr_matrix:
    rows = np.concatenate([a, b])
    columns = np.concatenate([b, a])
    matrix = sp.csr_matrix((np.ones(len(rows)), (rows, columns)), shape=(size, size))
    matrix.data[:] = 1.0  # A pair listed twice sums to 2, but the graph is 0/1.
    return matrix


def _link_pieces(
    layer: UnitLayer, positions: np.ndarray, matrix: sp.csr_matrix
) -> tuple[tuple[int, int, float], ...]:
    """Return the links of a minimum spanning tree over the pieces of ``matrix``.

    Each round, every piece but the largest finds its shortest link to another piece, and
    the links are added shortest first unless their pieces were already joined (Boruvka).
    Each such link is the shortest one leaving its piece, so it belongs to the spanning
    tree that repeatedly linking the closest pair of pieces (Kruskal) would build.
    """
    count, piece = connected_components(matrix, directed=False)
    if count <= 1:
        return ()

    crs, polygons, _ = projected_units(layer)
    polygons = polygons[positions]
    links: list[tuple[int, int, float]] = []
    while count > 1:
        sizes = np.bincount(piece)
        candidates = [
            _shortest_link(polygons, piece == label, crs)
            for label in np.unique(piece)
            if label != np.argmax(sizes)
        ]
        for km, i, j in sorted(candidates):
            if piece[i] != piece[j]:
                links.append((i, j, km))
                piece[piece == piece[j]] = piece[i]
        count = len(np.unique(piece))
    return tuple(links)


def _shortest_link(
    polygons: np.ndarray, inside: np.ndarray, crs: pyproj.CRS
) -> tuple[float, int, int]:
    """Return (km, unit inside, unit outside) of the shortest link leaving one piece."""
    members = np.flatnonzero(inside)
    others = np.flatnonzero(~inside)
    tree = shapely.STRtree(polygons[others])
    source, target = tree.query_nearest(polygons[members], all_matches=False)
    source, target = members[source], others[target]

    line = shapely.shortest_line(polygons[source], polygons[target])
    to_degrees = pyproj.Transformer.from_crs(crs, STORAGE_CRS, always_xy=True)
    lon, lat = to_degrees.transform(*shapely.get_coordinates(line).T)
    km = haversine_km(lat[0::2], lon[0::2], lat[1::2], lon[1::2])

    # The shortest km, ties to the smallest positions, so the result is reproducible.
    best = np.lexsort((target, source, km))[0]
    return float(km[best]), int(source[best]), int(target[best])
