"""The state outlines drawn under every map, read from the shipped geography."""

from __future__ import annotations

import functools
import gzip
import logging

import geopandas as gpd

from solver.geo import GEO_DIR

logger = logging.getLogger(__name__)

#: US state polygons (50 states and DC, 2016 Census cartographic boundaries) in EPSG:4326.
STATES_FILE = "us_states.geojson.gz"


@functools.cache
def states() -> gpd.GeoDataFrame | None:
    """Return the state polygons, or None with a warning when the file is missing.

    A missing file only leaves the backdrop out of the maps. The frame is cached and
    shared, so callers must not modify it.
    """
    path = GEO_DIR / STATES_FILE
    if not path.is_file():
        logger.warning(
            "the state outlines %s are missing, so maps are drawn without them. Fix: install "
            "the engine from a checkout with 'pip install -e .', which keeps data/geo next to "
            "the solver package",
            path,
        )
        return None

    # GDAL does not recognise a gzip-compressed GeoJSON by its file name, so it gets a stream.
    with gzip.open(path) as stream:
        frame = gpd.read_file(stream)
    return frame.sort_values("state_fips", ignore_index=True)[["state", "geometry"]]
