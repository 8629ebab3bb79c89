"""Map regions of a static panel: the contiguous US with Alaska and Hawaii insets, or the data.

A static panel shows the contiguous US in the Albers equal-area projection (EPSG:5070),
zoomed to the accounts and shapes that lie there. Alaska (EPSG:3338) and Hawaii
(ESRI:102007) get an inset each, drawn only when the role has something there. Data
elsewhere (Puerto Rico, Guam, Canada north of 50°N) is left out of that layout, and a
warning counts it. When nothing lies in the contiguous US, the panel shows all the data
in an equidistant cylindrical projection centred on it, with no insets.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyproj

#: A box of longitude and latitude in degrees: west, south, east, north.
Box = tuple[float, float, float, float]

#: Padding around the data, as a share of its span and as a minimum in projected metres.
_PAD_SHARE = 0.04
_PAD_MIN_M = 50_000.0
#: Smallest width as a share of the height, and smallest height as a share of the width.
_MIN_WIDTH = 0.75
_MIN_HEIGHT = 0.5


@dataclass(frozen=True)
class Region:
    """A part of the map drawn in its own panel or inset, with its own projection.

    ``boxes`` decide which coordinates belong to the region. ``view`` is a box the inset
    always shows, so that an inset with one account still shows the whole state.
    """

    name: str
    crs: str
    boxes: tuple[Box, ...]
    view: Box | None = None

    def contains(self, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        """Return True per coordinate inside one of the region's boxes."""
        inside = np.zeros(len(lon), dtype=bool)
        for west, south, east, north in self.boxes:
            inside |= (lon >= west) & (lon <= east) & (lat >= south) & (lat <= north)
        return inside


CONUS = Region("contiguous US", "EPSG:5070", ((-125.0, 24.0, -66.0, 50.0),))
# Alaska's Aleutian islands cross the antimeridian, so its region has a box on each side.
ALASKA = Region(
    "Alaska",
    "EPSG:3338",
    ((-180.0, 51.0, -129.0, 72.0), (172.0, 51.0, 180.0, 72.0)),
    view=(-170.0, 54.0, -130.0, 71.5),
)
HAWAII = Region(
    "Hawaii",
    "ESRI:102007",
    ((-161.0, 18.5, -154.0, 22.5),),
    view=(-160.3, 18.9, -154.8, 22.3),
)


@dataclass(frozen=True)
class Layout:
    """The main region of a panel and its insets."""

    main: Region
    insets: tuple[Region, ...]

    def count_outside(self, lon: np.ndarray, lat: np.ndarray) -> int:
        """Return how many coordinates lie in none of the layout's regions."""
        shown = self.main.contains(lon, lat)
        for region in self.insets:
            shown |= region.contains(lon, lat)
        return int((~shown).sum())


def layout(lon: np.ndarray, lat: np.ndarray) -> Layout:
    """Choose the regions that show the coordinates ``lon``, ``lat`` (degrees)."""
    if len(lon) == 0:
        return Layout(CONUS, ())
    if not CONUS.contains(lon, lat).any():
        return Layout(_local_region(lon, lat), ())

    insets = tuple(region for region in (ALASKA, HAWAII) if region.contains(lon, lat).any())
    return Layout(CONUS, insets)


def extent(region: Region, lon: np.ndarray, lat: np.ndarray) -> tuple[float, float, float, float]:
    """Return the padded projected bounds ``(xmin, xmax, ymin, ymax)`` of the region's data.

    The region's ``view`` box is always included, so an inset shows its whole state.
    """
    inside = region.contains(lon, lat)
    x, y = project(region.crs, lon[inside], lat[inside])
    # A region without data (a role with no accounts) shows its first box.
    view = region.view if region.view is not None or inside.any() else region.boxes[0]
    if view is not None:
        view_x, view_y = project(region.crs, *_box_outline(view))
        x, y = np.concatenate([x, view_x]), np.concatenate([y, view_y])

    xmin, xmax, ymin, ymax = x.min(), x.max(), y.min(), y.max()
    pad = max(_PAD_SHARE * max(xmax - xmin, ymax - ymin), _PAD_MIN_M)
    width, height = xmax - xmin + 2 * pad, ymax - ymin + 2 * pad
    # Data along a line (accounts on one parallel) would give a sliver of a map, so the
    # short side grows to a share of the long one.
    width, height = max(width, _MIN_WIDTH * height), max(height, _MIN_HEIGHT * width)
    centre_x, centre_y = (xmin + xmax) / 2, (ymin + ymax) / 2
    return (
        float(centre_x - width / 2),
        float(centre_x + width / 2),
        float(centre_y - height / 2),
        float(centre_y + height / 2),
    )


def project(crs: str, lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Project degrees of longitude and latitude to ``crs``, in metres."""
    x, y = _transformer(crs).transform(np.asarray(lon, float), np.asarray(lat, float))
    return np.asarray(x, dtype=float), np.asarray(y, dtype=float)


@functools.cache
def _transformer(crs: str) -> pyproj.Transformer:
    return pyproj.Transformer.from_crs("EPSG:4326", crs, always_xy=True)


def _local_region(lon: np.ndarray, lat: np.ndarray) -> Region:
    """Return a region of the whole world in a projection centred on the data."""
    centre_lon = float(np.clip((lon.min() + lon.max()) / 2.0, -180.0, 180.0))
    centre_lat = float(np.clip((lat.min() + lat.max()) / 2.0, -80.0, 80.0))
    # The true-scale latitude at the centre keeps shapes there undistorted.
    crs = f"+proj=eqc +lat_ts={centre_lat:.4f} +lon_0={centre_lon:.4f} +datum=WGS84 +units=m"
    return Region("data", crs, ((-180.0, -90.0, 180.0, 90.0),))


def _box_outline(box: Box, steps: int = 16) -> tuple[np.ndarray, np.ndarray]:
    """Return points along the edges of ``box``, because its projected bounds lie on them."""
    west, south, east, north = box
    t = np.linspace(0.0, 1.0, steps)
    lon = np.concatenate(
        [west + (east - west) * t, west + (east - west) * t, [west] * steps, [east] * steps]
    )
    lat = np.concatenate(
        [[south] * steps, [north] * steps, south + (north - south) * t, south + (north - south) * t]
    )
    return lon, lat


def coordinates(parts: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Stack ``(n, 2)`` latitude-longitude arrays and return finite longitudes and latitudes."""
    stacked = np.concatenate([np.asarray(part, dtype=float).reshape(-1, 2) for part in parts])
    stacked = stacked[np.isfinite(stacked).all(axis=1)]
    return stacked[:, 1], stacked[:, 0]
