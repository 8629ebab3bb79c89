"""The plain data that every map is drawn from: one :class:`RoleMap` per role."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from solver.maps.colours import NO_OWNER, colour_map

#: Columns that ``RoleMap.points`` must have.
POINT_COLUMNS = ("account_id", "latitude", "longitude", "territory_id")


@dataclass(frozen=True)
class RoleMap:
    """One role's territories, shapes and accounts, ready to draw.

    Attributes
    ----------
    role, label
        The role id (``'COM'``) and its display name (``'Commercial'``).
    territories
        This role's rows of ``territories.csv`` in territory order. Only
        ``territory_id`` is required, and the map shows whichever other columns exist.
    metrics
        Metrics whose totals, targets and deviations the tooltips show.
    shapes
        Dissolved shapely geometry in EPSG:4326 per territory row, or None for a role
        whose accounts are points. A None or empty entry draws nothing.
    points
        Every account of the role: ``account_id``, ``latitude``, ``longitude``,
        ``territory_id``.
    centres, homes
        ``(T, 2)`` latitude and longitude per territory row: the territory's centre and its
        rep's home, NaN where there is none.
    """

    role: str
    label: str
    territories: pd.DataFrame
    metrics: tuple[str, ...]
    shapes: list | None
    points: pd.DataFrame
    centres: np.ndarray
    homes: np.ndarray

    def __post_init__(self) -> None:
        if "territory_id" not in self.territories.columns:
            raise ValueError(f"role map {self.role!r}: territories has no 'territory_id' column")
        count = len(self.territories)
        if self.shapes is not None and len(self.shapes) != count:
            raise ValueError(
                f"role map {self.role!r}: {len(self.shapes)} shapes for {count} territory rows. "
                "Pass one shape per row, or None for a point role."
            )
        for name in ("centres", "homes"):
            shape = np.shape(getattr(self, name))
            if shape != (count, 2):
                raise ValueError(
                    f"role map {self.role!r}: {name} has shape {shape}, expected ({count}, 2) "
                    "with one latitude and longitude per territory row"
                )
        missing = [column for column in POINT_COLUMNS if column not in self.points.columns]
        if missing:
            columns = ", ".join(missing)
            raise ValueError(f"role map {self.role!r}: points is missing columns {columns}")

    @property
    def territory_ids(self) -> list[str]:
        """Territory ids as text, in row order."""
        return [str(value) for value in self.territories["territory_id"]]

    @property
    def rep_names(self) -> list[str]:
        """Rep per territory row: its ``rep_name``, else its ``rep_id``, else empty."""
        names = []
        for _, row in self.territories.iterrows():
            name = _text(row.get("rep_name"))
            names.append(name or _text(row.get("rep_id")))
        return names

    @property
    def colours(self) -> list[str]:
        """Colour per territory row, assigned in sorted territory id order."""
        by_id = colour_map(self.territory_ids)
        return [by_id[territory] for territory in self.territory_ids]

    def point_colours(self) -> list[str]:
        """Colour per account: its territory's, grey for an id not in ``territories``."""
        by_id = dict(zip(self.territory_ids, self.colours, strict=True))
        return [by_id.get(str(value), NO_OWNER) for value in self.points["territory_id"]]


def layer_names(roles: Sequence[RoleMap]) -> list[list[str]]:
    """Name every territory ``<territory id> — <rep name>``, per role and row.

    A territory id used by two roles gets its role in front, so that no two names are
    equal. The names must differ because the layer control of the web map keys its
    entries by name.
    """
    counts: dict[str, int] = {}
    for role_map in roles:
        for territory in role_map.territory_ids:
            counts[territory] = counts.get(territory, 0) + 1

    names = []
    for role_map in roles:
        role_names = []
        for territory, rep in zip(role_map.territory_ids, role_map.rep_names, strict=True):
            shown = territory if counts[territory] == 1 else f"{role_map.role} {territory}"
            role_names.append(f"{shown} — {rep}" if rep else shown)
        names.append(role_names)
    return names


def _text(value: object) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value)
