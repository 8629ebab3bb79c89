"""Optional sections of a scenario: today's books (budgets, protection, locks) and geography.

They are kept apart from :mod:`solver.scenario` so that module stays about the plan's
core. Every section rejects unknown keys and is immutable once loaded.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


class Strict(BaseModel):
    """Base of every scenario section: unknown keys are rejected, values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class TerritoryDisruption(Strict):
    """Limits on the accounts and metrics one territory may lose from its current book."""

    max_accounts_lost: int | None = Field(default=None, ge=0)
    max_share_lost: dict[str, float] = Field(default_factory=dict)

    @field_validator("max_share_lost")
    @classmethod
    def _shares(cls, value: dict[str, float]) -> dict[str, float]:
        return _check_shares(value)


class Disruption(Strict):
    """A disruption budget: how much of today's books a role's new plan may move."""

    max_accounts_moved: int | None = Field(default=None, ge=0)
    max_share_moved: dict[str, float] = Field(default_factory=dict)
    per_territory: TerritoryDisruption = Field(default_factory=TerritoryDisruption)

    @field_validator("max_share_moved")
    @classmethod
    def _shares(cls, value: dict[str, float]) -> dict[str, float]:
        return _check_shares(value)


class Protect(Strict):
    """Accounts that stay with their current owner: those whose ``metric`` is above ``above``."""

    metric: str
    above: float


class Geography(Strict):
    """Geographic units of a role: where they come from, how accounts join them, contiguity.

    Accounts in one unit always go to the same territory. With ``contiguity``, every
    territory is one connected piece of the units' adjacency graph.
    """

    # 'counties' and 'zips' are the shipped US geography. Anything else is a path to a
    # GeoJSON, GeoPackage or shapefile, relative to the scenario file.
    units: str
    # The id column of a user's unit file.
    id_column: str | None = None
    # The CRS the user's unit file is expected in, such as EPSG:4326.
    crs: str | None = None
    # How accounts find their unit. code uses the county FIPS, ZIP or unit code, and point
    # the latitude and longitude. auto uses the code where the row has one, else the point.
    join: Literal["auto", "code", "point"] = "auto"
    # A point outside every unit goes to the nearest unit up to this many km away.
    snap_km: float = Field(default=5.0, ge=0)
    contiguity: Literal["none", "rook", "queen"] = "none"


class Lock(Strict):
    """One account pinned to one rep."""

    account: str
    rep: str


def _check_shares(value: dict[str, float]) -> dict[str, float]:
    for metric, share in value.items():
        if not 0.0 <= share <= 1.0:
            raise ValueError(f"share for '{metric}' must be within [0, 1], got {share}")
    return value
