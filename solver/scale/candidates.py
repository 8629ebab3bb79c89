"""Candidate territories: each account may go only to its ``K`` nearest centres.

Territories are compact, so an account almost never belongs to a far centre, and limiting
the choice to the nearest ``K`` cuts the model by ``T / K``. Distances are great-circle km
computed from chords between unit vectors, which a k-d tree searches exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from solver.geo import EARTH_RADIUS_KM, unit_vectors


@dataclass(frozen=True)
class Candidates:
    """The ``K`` nearest territories of every account and their costs.

    Attributes
    ----------
    territory
        ``(n, K)`` territory indices, nearest first.
    cost
        ``(n, K)`` objective coefficient of each choice (weight times km).
    outside_cost
        ``(n,)`` a lower bound on the cost of any territory that is not a candidate: the
        weight times the distance to the nearest non-candidate centre (``inf`` when every
        territory is a candidate). The dual bound uses it to stay valid for the full model.
    """

    territory: np.ndarray
    cost: np.ndarray
    outside_cost: np.ndarray

    @property
    def k(self) -> int:
        return self.territory.shape[1]


def chord_to_km(chord: np.ndarray) -> np.ndarray:
    """Return great-circle km for chord lengths between points on the unit sphere."""
    return 2.0 * EARTH_RADIUS_KM * np.arcsin(np.clip(chord / 2.0, 0.0, 1.0))


def nearest_candidates(
    coords: np.ndarray,
    weights: np.ndarray,
    centres: np.ndarray,
    k: int,
    scale: float = 1.0,
    reach: int = 0,
) -> Candidates:
    """Return the candidates of every account, with costs ``scale * w * km``.

    Each account gets its ``k`` nearest centres. With ``reach > 0`` every territory also
    becomes a candidate of its ``reach`` nearest accounts, a safeguard for a centre crowded
    by others, which would otherwise be the nearest choice of too few accounts to fill it.
    Rows are padded to one width by repeating the nearest candidate.
    """
    n, t = len(coords), len(centres)
    k = min(k, t)
    points = unit_vectors(coords)
    query = min(k + 1, t)
    chord, index = cKDTree(unit_vectors(centres)).query(points, k=query)
    chord = np.asarray(chord).reshape(n, query)
    index = np.asarray(index).reshape(n, query)
    territory = index[:, :k]

    if reach > 0 and k < t:
        territory = _add_reverse(territory, points, unit_vectors(centres), min(reach, n))

    km = distance_km(points, unit_vectors(centres), territory)
    cost = scale * weights[:, None] * km
    outside = np.full(n, np.inf)
    if query > k:
        outside = scale * weights * chord_to_km(chord[:, k])
    return Candidates(territory.astype(np.int32), cost, outside)


def distance_km(points: np.ndarray, centres: np.ndarray, territory: np.ndarray) -> np.ndarray:
    """Return ``(n, K)`` km from each account (unit vector) to its candidate centres."""
    chord = np.linalg.norm(points[:, None, :] - centres[territory], axis=2)
    return chord_to_km(chord)


def _add_reverse(
    territory: np.ndarray, points: np.ndarray, centres: np.ndarray, reach: int
) -> np.ndarray:
    """Return ``territory`` widened so that each centre is a candidate of its nearest accounts."""
    n, k = territory.shape
    _, nearest = cKDTree(points).query(centres, k=reach)
    nearest = np.asarray(nearest).reshape(len(centres), reach)
    account = nearest.ravel()
    centre = np.repeat(np.arange(len(centres)), reach)

    known = (territory[account] == centre[:, None]).any(axis=1)
    account, centre = account[~known], centre[~known]
    if len(account) == 0:
        return territory
    order = np.lexsort((centre, account))
    account, centre = account[order], centre[order]
    starts = np.searchsorted(account, account, side="left")
    position = np.arange(len(account)) - starts
    extra = int(position.max()) + 1

    widened = np.repeat(territory[:, :1], k + extra, axis=1)
    widened[:, :k] = territory
    widened[account, k + position] = centre
    return widened


def with_pairs(
    candidates: Candidates,
    coords: np.ndarray,
    weights: np.ndarray,
    centres: np.ndarray,
    scale: float,
    accounts: np.ndarray,
    territories: np.ndarray,
) -> Candidates:
    """Return ``candidates`` with territory ``territories[j]`` added for ``accounts[j]``."""
    if len(accounts) == 0:
        return candidates
    n, k = candidates.territory.shape
    order = np.lexsort((territories, accounts))
    accounts, territories = accounts[order], territories[order]
    position = np.arange(len(accounts)) - np.searchsorted(accounts, accounts, side="left")
    extra = int(position.max()) + 1

    territory = np.repeat(candidates.territory[:, :1], k + extra, axis=1)
    territory[:, :k] = candidates.territory
    territory[accounts, k + position] = territories
    km = distance_km(unit_vectors(coords), unit_vectors(centres), territory)
    cost = scale * weights[:, None] * km
    return Candidates(territory, cost, candidates.outside_cost)
