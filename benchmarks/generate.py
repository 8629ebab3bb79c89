"""Seeded benchmark instances on the real US geography shipped in ``data/geo/``.

An instance is one role: ``n`` accounts placed where businesses are and ``T`` fully ramped
reps whose homes are fixed territory centres. Fixed centres make the objective of every
solver a plan cost for the same centres, so objectives compare directly across solvers.

Locations. An account picks a county with probability proportional to its business
establishments (County Business Patterns 2020), then one of the county's ZIP code points
uniformly. Picking a ZIP uniformly within a county is the same as giving every ZIP an equal
share of its county's establishments, because ``data/geo`` has no ZIP-level counts. The
10 counties without a ZIP point use their interior point with up to 5 km of spread. Every
point then moves by a seeded offset of at most 2 km. Homes are drawn the same way from
distinct counties.

Accounts. Three tiers with lognormal potential (USD): SMB (85 %), mid-market (13 %) and
enterprise (2 %). Workload (hours) follows the tier and grows slowly with potential, and
the ICP flag (0/1) has a probability per tier. Goals: potential, account count and
workload balanced within +/-5 % of an equal share, and at least 60 % of the average ICP
count per territory as a viability minimum.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from dataclasses import dataclass

import numpy as np

from solver.errors import InputError
from solver.geo import EARTH_RADIUS_KM, county_points, zip_points
from solver.problem import RoleProblem, Territory, balance_bands, territory_id

#: Benchmark sizes: name -> (accounts, territories).
SIZES: dict[str, tuple[int, int]] = {
    "S": (2_000, 20),
    "M": (20_000, 100),
    "L": (100_000, 200),
    "XL": (1_000_000, 1_000),
}

#: Role name of every benchmark instance.
ROLE = "BENCH"

#: Metric columns of ``RoleProblem.values``, in order.
METRICS = ("accounts", "potential", "workload", "icp")

#: Balance tolerance of potential, account count and workload.
BALANCE_TOLERANCE = 0.05

#: Viability minimum on ``icp`` as a fraction of the average ICP count per territory.
ICP_MINIMUM_FRACTION = 0.6

#: Maximum offset in km added to every drawn point.
JITTER_KM = 2.0

#: Spread in km around a county's interior point when the county has no ZIP code point.
NO_ZIP_SPREAD_KM = 5.0

#: Start date of every rep. All reps are fully ramped.
REP_START = dt.date(2020, 1, 1)

_KM_PER_DEGREE = math.pi * EARTH_RADIUS_KM / 180.0

# Workload grows with potential to this power within a tier (a larger account takes longer
# to work, but far less than proportionally), times lognormal noise of this sigma.
_WORKLOAD_ELASTICITY = 0.25
_WORKLOAD_SIGMA = 0.3


@dataclass(frozen=True)
class Tier:
    """One account tier: its share of accounts and the distributions of its metrics."""

    name: str
    share: float
    potential_median_usd: float
    potential_sigma: float
    workload_median_h: float
    icp_probability: float


TIERS = (
    Tier("smb", 0.85, 15_000.0, 0.9, 6.0, 0.15),
    Tier("mid_market", 0.13, 120_000.0, 0.7, 24.0, 0.35),
    Tier("enterprise", 0.02, 900_000.0, 0.7, 80.0, 0.60),
)


@dataclass(frozen=True)
class Geography:
    """Counties as sampling weights and points, with their ZIP points grouped by county.

    The ZIP points of county ``c`` are ``zip_coords[zip_start[c] : zip_start[c] + zip_count[c]]``.
    """

    county_probability: np.ndarray
    county_coords: np.ndarray
    zip_start: np.ndarray
    zip_count: np.ndarray
    zip_coords: np.ndarray

    @property
    def n_counties(self) -> int:
        return len(self.county_probability)


@dataclass(frozen=True)
class Accounts:
    """Drawn accounts: ``(n, 2)`` latitude/longitude, tier index into :data:`TIERS`, metrics."""

    coords: np.ndarray
    tier: np.ndarray
    values: np.ndarray


@functools.cache
def load_geography() -> Geography:
    """Build the sampling tables from the shipped counties and ZIP code points.

    Twelve counties (DC among them) have no establishment count. They get their population
    times the national ratio of establishments to people, so that DC is not left empty.
    """
    counties = county_points()
    establishments = counties["cbp2020_establishments"].to_numpy(dtype=float)
    population = counties["pop_latest"].to_numpy(dtype=float)
    known = np.isfinite(establishments)
    per_person = establishments[known].sum() / population[known].sum()
    weight = np.where(known, establishments, population * per_person)

    # ZIP points outside the 50 states and DC have no county in the table and are dropped.
    zips = zip_points()
    county_index = counties.reset_index().set_index("geoid")["index"]
    zip_county = zips["county_geoid"].map(county_index)
    zips = zips.assign(county=zip_county).dropna(subset=["county"])
    zips = zips.sort_values(["county", "zip"], kind="stable")
    zip_county_sorted = zips["county"].to_numpy(dtype=np.int64)

    n_counties = len(counties)
    zip_count = np.bincount(zip_county_sorted, minlength=n_counties)
    zip_start = np.concatenate([[0], np.cumsum(zip_count)[:-1]])
    return Geography(
        county_probability=weight / weight.sum(),
        county_coords=counties[["interior_lat", "interior_lon"]].to_numpy(dtype=float),
        zip_start=zip_start,
        zip_count=zip_count,
        zip_coords=zips[["lat", "lon"]].to_numpy(dtype=float),
    )


def make_instance(size: str, seed: int) -> RoleProblem:
    """Generate the benchmark instance of ``size`` (a key of :data:`SIZES`) for ``seed``."""
    if size not in SIZES:
        raise InputError(f"benchmark size '{size}' is unknown. Fix: use one of {', '.join(SIZES)}.")
    n_accounts, n_territories = SIZES[size]
    return make_instance_custom(n_accounts, n_territories, seed)


def make_instance_custom(n_accounts: int, n_territories: int, seed: int) -> RoleProblem:
    """Generate an instance of ``n_accounts`` accounts and ``n_territories`` reps for ``seed``.

    The same arguments always give identical arrays (one ``numpy.random.default_rng(seed)``
    stream, drawn in a fixed order: accounts first, then homes).
    """
    geography = load_geography()
    if n_accounts < n_territories or n_territories < 1:
        raise InputError(
            f"an instance of {n_accounts} accounts and {n_territories} territories is "
            "invalid. Fix: use at least one territory and at least one account per territory."
        )
    if n_territories > geography.n_counties:
        raise InputError(
            f"{n_territories} territories need as many distinct home counties, but only "
            f"{geography.n_counties} counties exist. Fix: use at most {geography.n_counties}."
        )

    rng = np.random.default_rng(seed)
    accounts = draw_accounts(geography, n_accounts, rng)
    homes = draw_homes(geography, n_territories, rng)
    return build_problem(accounts, homes)


def draw_accounts(geography: Geography, n_accounts: int, rng: np.random.Generator) -> Accounts:
    """Draw the locations, tiers and metric values of ``n_accounts`` accounts."""
    county = rng.choice(geography.n_counties, size=n_accounts, p=geography.county_probability)
    coords = draw_points(geography, county, rng)

    shares = np.array([tier.share for tier in TIERS])
    tier = rng.choice(len(TIERS), size=n_accounts, p=shares / shares.sum())
    median = np.array([t.potential_median_usd for t in TIERS])[tier]
    sigma = np.array([t.potential_sigma for t in TIERS])[tier]
    potential = np.maximum(1.0, np.round(median * np.exp(sigma * rng.standard_normal(n_accounts))))

    hours = np.array([t.workload_median_h for t in TIERS])[tier]
    noise = np.exp(_WORKLOAD_SIGMA * rng.standard_normal(n_accounts))
    workload = np.round(hours * (potential / median) ** _WORKLOAD_ELASTICITY * noise, 1)
    workload = np.maximum(workload, 0.1)

    icp_probability = np.array([t.icp_probability for t in TIERS])[tier]
    icp = (rng.random(n_accounts) < icp_probability).astype(float)

    values = np.column_stack([np.ones(n_accounts), potential, workload, icp])
    return Accounts(coords=coords, tier=tier, values=values)


def draw_homes(geography: Geography, n_territories: int, rng: np.random.Generator) -> np.ndarray:
    """Draw ``(T, 2)`` rep homes in distinct counties, weighted by establishments."""
    county = rng.choice(
        geography.n_counties, size=n_territories, replace=False, p=geography.county_probability
    )
    return draw_points(geography, county, rng)


def draw_points(geography: Geography, county: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Return ``(len(county), 2)`` points: a random ZIP point of each county, plus jitter.

    A county without a ZIP point uses its interior point with a wider spread.
    """
    count = geography.zip_count[county]
    pick = np.floor(rng.random(len(county)) * count).astype(np.int64)
    zip_index = np.minimum(geography.zip_start[county] + pick, len(geography.zip_coords) - 1)
    has_zip = count > 0
    base = np.where(
        has_zip[:, None], geography.zip_coords[zip_index], geography.county_coords[county]
    )

    radius_km = np.where(has_zip, JITTER_KM, NO_ZIP_SPREAD_KM)
    return _offset(base, radius_km, rng)


def build_problem(accounts: Accounts, homes: np.ndarray) -> RoleProblem:
    """Build the role problem: equal shares, +/-5 % bands, the ICP minimum and fixed homes."""
    n_accounts, n_territories = len(accounts.tier), len(homes)
    values = accounts.values
    share = np.full(n_territories, 1.0 / n_territories)
    target = np.outer(share, values.sum(axis=0))

    tolerance = np.array([BALANCE_TOLERANCE, BALANCE_TOLERANCE, BALANCE_TOLERANCE, np.inf])
    balance_lo, balance_hi = balance_bands(target, tolerance)

    icp = METRICS.index("icp")
    minimum = np.full((n_territories, len(METRICS)), -np.inf)
    minimum[:, icp] = ICP_MINIMUM_FRACTION * values[:, icp].sum() / n_territories

    territories = tuple(
        Territory(
            territory_id=territory_id(ROLE, j),
            rep_id=f"R{j + 1:04d}",
            rep_name=None,
            rep_start_date=REP_START,
            ramp_factor=1.0,
            capacity_share=1.0 / n_territories,
            home=(float(homes[j, 0]), float(homes[j, 1])),
        )
        for j in range(n_territories)
    )
    width = len(str(n_accounts))
    return RoleProblem(
        role=ROLE,
        account_ids=np.array([f"A{i:0{width}d}" for i in range(n_accounts)], dtype=object),
        coords=accounts.coords,
        # The compactness weight is the account count, which the engine scales to mean 1.
        weights=np.ones(n_accounts),
        metric_names=METRICS,
        values=values,
        territories=territories,
        tolerance=tolerance,
        target=target,
        balance_lo=balance_lo,
        balance_hi=balance_hi,
        minimum=minimum,
        capacity=np.full((n_territories, len(METRICS)), np.inf),
        fixed_centre=np.ones(n_territories, dtype=bool),
        home_coords=homes,
    )


def _offset(points: np.ndarray, radius_km: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Move each point uniformly within a disc of ``radius_km`` (flat-Earth approximation)."""
    distance = radius_km * np.sqrt(rng.random(len(points)))
    angle = 2.0 * np.pi * rng.random(len(points))
    lat = points[:, 0] + distance * np.cos(angle) / _KM_PER_DEGREE
    cos_lat = np.maximum(np.cos(np.radians(points[:, 0])), 1e-6)
    lon = points[:, 1] + distance * np.sin(angle) / (_KM_PER_DEGREE * cos_lat)
    return np.column_stack([lat, lon])
