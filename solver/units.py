"""Geographic units: the shipped counties and ZIP codes, or a user's file, read and repaired.

A unit layer is a sorted list of unit ids with one point inside each unit and, for polygon
layers, the unit polygons in EPSG:4326. ``'counties'`` is the shipped detailed county file
(see ``data/geo/README.md``), ``'zips'`` the shipped ZIP code points, and any other name a
GeoJSON, GeoPackage or shapefile of the user's.

Hygiene rules for polygon files:

- CRS: a file must declare its CRS, except GeoJSON, which is WGS84 by its specification. A
  CRS that the scenario declares must match the file's. Geometry is stored in EPSG:4326.
- Invalid polygons (a bow-tie ring, a self-touching ring) are repaired with
  ``shapely.make_valid``, with a warning naming the ids.
- Only polygonal parts are kept. A repair can leave lines and points, and a polygon part
  smaller than :data:`MIN_PIECE_SHARE` of its unit's area, or than :data:`MIN_PIECE_M2`, is a
  sliver. Both kinds are dropped, so they never show up as separate pieces of a unit.
- Rows are numbered as in a table: the first feature is row 2.
"""

from __future__ import annotations

import functools
import gzip
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from pyogrio.errors import DataLayerError, DataSourceError
from pyproj.exceptions import CRSError

from solver import geo
from solver.errors import PlanError, input_error

logger = logging.getLogger(__name__)

#: CRS of stored geometry and unit points (WGS84 latitude and longitude).
STORAGE_CRS = "EPSG:4326"

#: Equal-area CRS for piece areas: EASE-Grid 2.0 Global, valid between about 86 S and 86 N.
AREA_CRS = "EPSG:6933"

#: A polygon part smaller than this share of its unit's area is a sliver and is dropped. On
#: the shipped counties the smallest island part is 4.2e-8 of its county (a 76 m2 islet).
MIN_PIECE_SHARE = 1e-8

#: A polygon part smaller than this area in square metres is dropped whatever its share.
MIN_PIECE_M2 = 1.0

_COUNTY_FILE = "us_counties_detailed.geojson.gz"
_GEOJSON_SUFFIXES = (".geojson", ".json", ".geojson.gz", ".json.gz")
_POINT, _POLYGON, _MULTIPOLYGON = 0, 3, 6


@dataclass(frozen=True, eq=False)
class UnitLayer:
    """Geographic units sorted by id, each with a point inside it and, optionally, a polygon.

    Layers compare and hash by identity, so that caches can key on them.
    """

    #: 'counties', 'zips' or the user file's name.
    name: str
    #: File name used in messages.
    source: str
    #: (u,) object array of unit ids as text, sorted ascending and unique.
    ids: np.ndarray
    #: (u, 2) latitude and longitude in degrees of a point inside each unit.
    points: np.ndarray
    #: Polygons in EPSG:4326, positionally aligned with ``ids``, or None for a point layer.
    geometry: gpd.GeoSeries | None

    @property
    def polygonal(self) -> bool:
        """Whether the units are polygons (True) or points (False)."""
        return self.geometry is not None


def load_units(
    spec: str,
    *,
    base_dir: Path | None = None,
    id_column: str | None = None,
    crs: str | None = None,
) -> UnitLayer:
    """Load a unit layer: the shipped counties or ZIP codes, or a user's file.

    ``spec`` is ``'counties'``, ``'zips'`` or the path of a GeoJSON, GeoPackage or
    shapefile, relative to ``base_dir`` (default: the working folder). A user's file needs
    ``id_column``, the column with the unit ids. ``crs`` is the CRS the scenario expects the
    file in, such as ``'EPSG:4326'``, and is used when the file declares none.

    Raises
    ------
    InputError
        For a missing or unreadable file, a missing id column, empty or duplicate ids, a
        missing or mismatched CRS, a mix of points and polygons, or a unit left with no area
        after repair.
    """
    if spec == "counties":
        return _county_layer()
    if spec == "zips":
        return _zip_layer()

    path = Path(spec)
    if not path.is_absolute() and base_dir is not None:
        path = base_dir / path
    frame = _read_user_file(path)
    ids = _unit_ids(frame, id_column, path.name)
    frame = _with_crs(frame, path.name, crs)
    return _build_layer(frame, ids, name=path.name, source=path.name)


def unit_index(layer: UnitLayer, codes: pd.Series, *, file: str, column: str) -> np.ndarray:
    """Return the position in ``layer.ids`` of each unit code.

    Some layers have only 5-digit ids: counties, ZIP codes, or such a user file. There a
    code of 1 to 4 digits is padded with leading zeros when the padded code is a unit id,
    with one warning (see :func:`solver.geo.read_codes`). Other codes must match an id
    exactly.

    The index of ``codes`` is the 0-based data row of ``file``, so messages show row
    index + 2. ``file`` and ``column`` name the input in messages.

    Raises
    ------
    InputError
        For an empty, malformed or unknown code, naming the file, row, column and value.
    """
    known = pd.Index(layer.ids)
    kind = _code_kind(layer)
    if kind is not None:
        found = geo.read_codes(codes, known, kind, file, column)
        return np.searchsorted(layer.ids, found.to_numpy(dtype=object)).astype(np.int64)

    text = codes.map(lambda value: None if pd.isna(value) else str(value).strip() or None)
    fix = f"use a unit id of {layer.source}"
    for mask, problem in ((text.isna(), "is empty"), (~text.isin(known), "is not a unit id")):
        if mask.any():
            label = mask[mask].index[0]
            value = text.loc[label] or ""
            count = f" ({int(mask.sum())} rows in total)" if mask.sum() > 1 else ""
            raise input_error(
                file, problem + count, fix, row=int(label) + 2, column=column, value=value
            )
    return np.searchsorted(layer.ids, text.to_numpy(dtype=object)).astype(np.int64)


def working_crs(layer: UnitLayer) -> pyproj.CRS:
    """Return a projected CRS in metres for topology and nearest-unit searches on ``layer``.

    US layers (all unit points in the 50 states' latitudes and longitudes) use the Albers
    equal-area CRS EPSG:5070, which keeps Alaska's Aleutians, across the antimeridian, in
    one piece. Other layers use the UTM zone of their centre.
    """
    lat, lon = layer.points[:, 0], layer.points[:, 1]
    in_us = (lat > 15) & (lat < 75) & ((lon < -60) | (lon > 170))
    if in_us.all():
        return pyproj.CRS.from_user_input("EPSG:5070")

    # NOTE: a layer wider than a few UTM zones is distorted by up to tens of percent at its
    # edges, which changes snapping tolerances in metres by as much.
    centre = gpd.GeoSeries(gpd.points_from_xy([lon.mean()], [lat.mean()]), crs=STORAGE_CRS)
    return centre.estimate_utm_crs()


@functools.lru_cache(maxsize=8)
def projected_units(layer: UnitLayer) -> tuple[pyproj.CRS, np.ndarray, shapely.STRtree]:
    """Return the working CRS of a polygon layer, its projected polygons and their STRtree.

    The result is cached per layer, because joins and adjacency both need it.
    """
    assert layer.geometry is not None, "projected_units needs a polygon layer"
    crs = working_crs(layer)
    polygons = np.asarray(layer.geometry.to_crs(crs).values, dtype=object)
    return crs, polygons, shapely.STRtree(polygons)


# -- shipped layers -----------------------------------------------------------------------


@functools.cache
def _county_layer() -> UnitLayer:
    path = geo.GEO_DIR / _COUNTY_FILE
    if not path.is_file():
        raise PlanError(
            f"The shipped county polygons {path} are missing. Fix: install the engine from a "
            "checkout with 'pip install -e .', which keeps the data/geo folder next to the "
            "solver package."
        )

    with gzip.open(path) as stream:
        frame = gpd.read_file(stream)
    if frame.crs is None:  # GeoJSON is WGS84 by its specification.
        frame = frame.set_crs(STORAGE_CRS)
    ids = frame["geoid"].astype(str).to_numpy(dtype=object)
    return _build_layer(frame, ids, name="counties", source=_COUNTY_FILE)


@functools.cache
def _zip_layer() -> UnitLayer:
    table = geo.zip_points().sort_values("zip")
    ids = table["zip"].to_numpy(dtype=object)
    points = table[["lat", "lon"]].to_numpy(dtype=np.float64)
    return _frozen(UnitLayer("zips", "us_zips.csv.gz", ids, points, None))


# -- user files ---------------------------------------------------------------------------


def _read_user_file(path: Path) -> gpd.GeoDataFrame:
    if not path.exists():
        fix = "correct the units path. A relative path starts from the scenario's folder"
        raise input_error(path.name, f"was not found (looked for {path})", fix)

    try:
        if path.name.lower().endswith(".gz"):
            with gzip.open(path) as stream:
                frame = gpd.read_file(stream)
        else:
            frame = gpd.read_file(path)
    except (DataSourceError, DataLayerError, OSError) as error:
        problem = f"could not be read as a GeoJSON, GeoPackage or shapefile ({error})"
        raise input_error(path.name, problem, "save the units in one of these formats") from error

    if frame.empty:
        raise input_error(path.name, "has no features", "add one feature per unit")
    logger.info("read %d units from %s", len(frame), path)
    return frame


def _unit_ids(frame: gpd.GeoDataFrame, id_column: str | None, file: str) -> np.ndarray:
    """Return the ids as text, rejecting a missing column, empty ids and duplicates."""
    columns = [str(c) for c in frame.columns if c != frame.geometry.name]
    if id_column is None or id_column not in frame.columns:
        problem = f"has no id column '{id_column}'" if id_column else "needs an id column"
        problem += f" (columns found: {', '.join(columns) or 'none'})"
        fix = "set the geography's id_column to the column that contains each unit's id"
        raise input_error(file, problem, fix)

    ids = frame[id_column].map(_id_text).to_numpy(dtype=object)
    empty = np.flatnonzero(pd.isna(ids))
    if len(empty):
        row = int(empty[0]) + 2
        raise input_error(file, "is empty", "give every unit an id", row=row, column=id_column)

    repeated = pd.Series(ids).duplicated()
    if repeated.any():
        row = int(np.flatnonzero(repeated)[0])
        first = int(np.flatnonzero(ids == ids[row])[0])
        raise input_error(
            file,
            f"is a duplicate id, also used in row {first + 2}",
            "give every unit its own id, or merge the features of one unit into one",
            row=row + 2,
            column=id_column,
            value=ids[row],
        )
    return ids


def _id_text(value: Any) -> str | None:
    """Return an id cell as text. An integral float such as 6001.0 becomes '6001'."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip() or None


def _with_crs(frame: gpd.GeoDataFrame, file: str, scenario_crs: str | None) -> gpd.GeoDataFrame:
    """Return ``frame`` with its CRS set, after checking it against the scenario's."""
    expected = _parse_crs(scenario_crs, file) if scenario_crs is not None else None
    found = frame.crs
    if found is None and expected is not None:
        found = expected
    elif found is None and file.lower().endswith(_GEOJSON_SUFFIXES):
        logger.info("%s declares no CRS, so it is read as WGS84 as GeoJSON requires", file)
        found = pyproj.CRS.from_user_input(STORAGE_CRS)
    elif found is None:
        raise input_error(
            file,
            "has no CRS: no coordinate reference system was found in the file",
            "write the CRS into the file (for a shapefile, the .prj next to it), for example "
            "EPSG:4326, or set the geography's crs in the scenario",
        )
    elif expected is not None and not _same_crs(found, expected):
        problem = f"is in CRS {_crs_name(found)}, but the scenario expects {_crs_name(expected)}"
        fix = "reproject the file to the expected CRS, or correct the geography's crs"
        raise input_error(file, problem, fix)

    frame = frame.set_crs(found, allow_override=True)
    if found.is_geographic:
        logger.warning(
            "%s: geometry is in %s, a geographic CRS in degrees. Areas and distances are "
            "computed on the WGS84 ellipsoid or in km after projection, never in degrees",
            file,
            _crs_name(found),
        )
    return frame


def _parse_crs(text: str, file: str) -> pyproj.CRS:
    try:
        return pyproj.CRS.from_user_input(text)
    except CRSError as error:
        problem = f"cannot be checked, because the scenario's crs {text!r} is not a known CRS"
        fix = "write the CRS as an EPSG code such as EPSG:4326"
        raise input_error(file, problem, fix) from error


def _same_crs(found: pyproj.CRS, expected: pyproj.CRS) -> bool:
    if found.equals(expected, ignore_axis_order=True):
        return True
    # A shapefile's .prj is ESRI WKT, which pyproj may not see as equal to the EPSG code.
    code = found.to_epsg(min_confidence=90)
    return code is not None and code == expected.to_epsg()


def _crs_name(crs: pyproj.CRS) -> str:
    authority = crs.to_authority(min_confidence=90)
    return f"{authority[0]}:{authority[1]} ({crs.name})" if authority else crs.name


# -- building a layer ---------------------------------------------------------------------


def _build_layer(frame: gpd.GeoDataFrame, ids: np.ndarray, *, name: str, source: str) -> UnitLayer:
    """Check the geometry types, repair polygons and sort the units by id."""
    geometry = np.asarray(frame.geometry.values, dtype=object)
    missing = np.flatnonzero(shapely.is_missing(geometry) | shapely.is_empty(geometry))
    if len(missing):
        row = int(missing[0])
        fix = "draw the unit or remove its row"
        raise input_error(source, "has no geometry", fix, row=row + 2, value=ids[row])

    types = shapely.get_type_id(geometry)
    if (types == _POINT).all():
        degrees = np.asarray(frame.geometry.to_crs(STORAGE_CRS).values)
        points = np.column_stack([shapely.get_y(degrees), shapely.get_x(degrees)])
        order = np.argsort(ids, kind="stable")
        return _frozen(UnitLayer(name, source, ids[order], points[order], None))
    if not np.isin(types, [_POLYGON, _MULTIPOLYGON]).all():
        found = ", ".join(sorted(set(frame.geometry.geom_type)))
        problem = f"mixes geometry types ({found}), but units must be all points or all polygons"
        fix = "keep one geometry type per file: polygons for areas, points for places"
        raise input_error(source, problem, fix)

    # Validity is judged in the user's CRS, because a projection can bend a line.
    polygons = _repair(geometry, frame.crs, ids, source)
    polygons = np.asarray(gpd.GeoSeries(polygons, crs=frame.crs).to_crs(STORAGE_CRS).values)
    if not shapely.is_valid(polygons).all():
        polygons = _repair(polygons, STORAGE_CRS, ids, source)
    order = np.argsort(ids, kind="stable")
    polygons = polygons[order]
    inside = shapely.point_on_surface(polygons)
    points = np.column_stack([shapely.get_y(inside), shapely.get_x(inside)])
    series = gpd.GeoSeries(polygons, crs=STORAGE_CRS)
    return _frozen(UnitLayer(name, source, ids[order], points, series))


def _repair(geometry: np.ndarray, crs: Any, ids: np.ndarray, source: str) -> np.ndarray:
    """Make every polygon valid and drop lines, points and slivers left by repair."""
    invalid = np.flatnonzero(~shapely.is_valid(geometry))
    if len(invalid):
        geometry = geometry.copy()
        geometry[invalid] = shapely.make_valid(geometry[invalid])
        logger.warning(
            "%s: repaired %d invalid polygons with make_valid (ids: %s%s)",
            source,
            len(invalid),
            ", ".join(str(i) for i in ids[invalid[:5]]),
            ", ..." if len(invalid) > 5 else "",
        )

    parts, owner = _flat_parts(geometry)
    area = np.zeros(len(parts))
    polygon = shapely.get_type_id(parts) == _POLYGON
    area[polygon] = gpd.GeoSeries(parts[polygon], crs=crs).to_crs(AREA_CRS).area
    unit_area = np.bincount(owner, weights=area, minlength=len(geometry))
    keep = polygon & (area >= np.maximum(MIN_PIECE_M2, MIN_PIECE_SHARE * unit_area[owner]))

    _check_area(keep, owner, ids, source)
    dropped = polygon & ~keep
    if dropped.any():
        logger.warning(
            "%s: dropped %d polygon pieces below %g m2 or %g of their unit's area (ids: %s)",
            source,
            int(dropped.sum()),
            MIN_PIECE_M2,
            MIN_PIECE_SHARE,
            ", ".join(str(i) for i in ids[np.unique(owner[dropped])[:5]]),
        )
    return _assemble(parts[keep], owner[keep], len(geometry))


def _flat_parts(geometry: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the single parts of each geometry and the index of the geometry they came from.

    A repaired geometry can be a GeometryCollection holding a MultiPolygon, so collections
    are opened until no part is a multi-part geometry.
    """
    parts, owner = shapely.get_parts(geometry, return_index=True)
    while True:
        nested = shapely.get_type_id(parts) >= 4
        if not nested.any():
            return parts, owner
        inner, where = shapely.get_parts(parts[nested], return_index=True)
        parts = np.concatenate([parts[~nested], inner])
        owner = np.concatenate([owner[~nested], owner[nested][where]])


def _check_area(keep: np.ndarray, owner: np.ndarray, ids: np.ndarray, source: str) -> None:
    kept = np.bincount(owner[keep], minlength=len(ids))
    empty = np.flatnonzero(kept == 0)
    if len(empty):
        row = int(empty[0])
        problem = f"has no area: after repair, no polygon piece is {MIN_PIECE_M2:g} m2 or more"
        fix = "redraw the unit as a polygon with an area, or remove its row"
        raise input_error(source, problem, fix, row=row + 2, value=ids[row])


def _assemble(parts: np.ndarray, owner: np.ndarray, count: int) -> np.ndarray:
    """Rebuild one Polygon or MultiPolygon per unit from its polygon parts."""
    order = np.argsort(owner, kind="stable")
    multi = shapely.multipolygons(parts[order], indices=owner[order])
    single = shapely.get_num_geometries(multi) == 1
    multi[single] = shapely.get_geometry(multi[single], 0)
    assert len(multi) == count
    return multi


def _code_kind(layer: UnitLayer) -> geo.CodeKind | None:
    """Return the reading rules of 5-digit codes for this layer, or None for other ids."""
    if layer.name == "counties" and layer.source == _COUNTY_FILE:
        return geo.COUNTY_CODES
    if layer.name == "zips" and layer.geometry is None and layer.source == "us_zips.csv.gz":
        return geo.ZIP_CODES
    if not pd.Series(layer.ids, dtype=object).str.fullmatch(r"\d{5}").all():
        return None
    return geo.CodeKind(
        label=f"unit code of {layer.source}",
        example=str(layer.ids[0]),
        accepts_zip_plus_four=False,
        unknown_fix=f"use a unit id of {layer.source}",
    )


def _frozen(layer: UnitLayer) -> UnitLayer:
    """Return ``layer`` with read-only arrays, because cached layers are shared."""
    layer.ids.setflags(write=False)
    layer.points.setflags(write=False)
    return layer
