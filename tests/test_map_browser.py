"""map.html opened in headless Chromium with every request outside file:// blocked.

The browser starts from the test with a new, empty profile folder under the test's temp
directory (``launch_persistent_context``). Every request whose URL does not start with
``file://`` is aborted and recorded, so a page that needs the network fails here.
Two pages are checked: the small hand-built roles of ``test_maps`` and a map of real
county shapes from the shipped geography, dissolved into one territory per state.

Chromium is found through ``TERRITORY_CHROMIUM``, then ``chromium`` on the PATH, then
``/usr/bin/chromium``. Without it these tests fail with a message on how to install it.
"""

from __future__ import annotations

import gzip
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from playwright.sync_api import BrowserContext, Page, sync_playwright
from test_maps import small_roles

from solver.geo import GEO_DIR
from solver.maps import RoleMap, write_map_html

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# Longitude and latitude to screen pixels, through the page's own Leaflet map object.
_SCREEN_POINT = """([lat, lon]) => {
    const element = document.querySelector(".folium-map");
    const point = window[element.id].latLngToContainerPoint([lat, lon]);
    const box = element.getBoundingClientRect();
    return [point.x + box.left, point.y + box.top];
}"""

# State FIPS codes of the real-county page: Colorado, Kansas, Missouri, Nebraska.
STATES = {"08": "T-CO", "20": "T-KS", "29": "T-MO", "31": "T-NE"}
# County accounts of the point role: four around Denver, four around Kansas City,
# St. Louis and Wichita.
WEST_COUNTIES = ["08005", "08031", "08041", "08059"]
EAST_COUNTIES = ["20091", "20173", "29095", "29189"]


def chromium_path() -> str:
    """Return the Chromium executable, or fail the test with how to install it."""
    override = os.environ.get("TERRITORY_CHROMIUM")
    if override:
        if not Path(override).is_file():
            pytest.fail(f"TERRITORY_CHROMIUM={override} is not a file. Point it at Chromium.")
        return override

    found = shutil.which("chromium")
    if found is None and Path("/usr/bin/chromium").is_file():
        found = "/usr/bin/chromium"
    if found is None:
        pytest.fail(
            "Chromium was not found, and the map browser test needs it. Install it with "
            "'apt-get install chromium' (Debian) or 'make browser', or set "
            "TERRITORY_CHROMIUM to its path."
        )
    return found


@dataclass
class Visit:
    """A page opened from a file, with what went wrong while loading and using it."""

    page: Page
    blocked: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)

    def assert_clean(self) -> None:
        assert self.blocked == []
        assert self.page_errors == []
        assert self.console_errors == []


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrowserContext]:
    profile = tmp_path_factory.mktemp("chromium-profile")
    assert list(profile.iterdir()) == []
    executable = chromium_path()

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            user_data_dir=str(profile),
            executable_path=executable,
            headless=True,
            args=FLAGS,
            viewport={"width": 1400, "height": 900},
        )
        context.set_default_timeout(20_000)
        yield context
        context.close()


def open_page(browser: BrowserContext, path: Path) -> Iterator[Visit]:
    page = browser.new_page()
    visit = Visit(page)

    def route(request_route) -> None:
        url = request_route.request.url
        if url.startswith("file://"):
            request_route.continue_()
            return
        visit.blocked.append(url)
        request_route.abort()

    page.route("**/*", route)
    page.on("pageerror", lambda error: visit.page_errors.append(str(error)))
    page.on(
        "console",
        lambda message: (
            visit.console_errors.append(message.text) if message.type == "error" else None
        ),
    )
    page.goto(path.resolve().as_uri(), wait_until="load")
    yield visit
    page.close()


def hover(visit: Visit, lat: float, lon: float) -> str:
    """Move the mouse to a point of the map and return the open tooltip's text."""
    x, y = visit.page.evaluate(_SCREEN_POINT, [lat, lon])
    visit.page.mouse.move(x, y)
    tooltip = visit.page.locator(".leaflet-tooltip")
    tooltip.wait_for(state="visible")
    return tooltip.inner_text()


def test_chromium_is_installed() -> None:
    # Reported as a failure of its own, while the browser fixture errors for the others.
    assert Path(chromium_path()).is_file()


# -- small hand-built roles -----------------------------------------------------------


@pytest.fixture
def small(browser: BrowserContext, tmp_path: Path) -> Iterator[Visit]:
    write_map_html(tmp_path / "map.html", small_roles(), title="tiny: territories")
    yield from open_page(browser, tmp_path / "map.html")


def test_small_page_loads_cleanly(small: Visit) -> None:
    assert small.page.title() == "tiny: territories"
    assert small.page.evaluate("typeof L") == "object"
    small.assert_clean()


def test_small_page_layer_per_territory(small: Visit) -> None:
    labels = small.page.locator(".leaflet-control-layers-overlays label")

    assert labels.count() == 5
    assert labels.nth(0).inner_text().strip() == "SQ-1 — Ann Lee"
    assert labels.nth(4).inner_text().strip() == "PT-B — R5"


def test_small_page_draws_every_element(small: Visit) -> None:
    page = small.page

    # Three squares, six account points, 50 states and DC as the backdrop.
    assert page.locator("path.territory-shape").count() == 3
    assert page.locator("path.territory-point").count() == 6
    assert page.locator("path.state-outline").count() == 51
    # Five centres, and homes for SQ-1, SQ-3 and PT-A.
    assert page.locator(".leaflet-marker-icon.territory-centre").count() == 5
    assert page.locator(".leaflet-marker-icon.rep-home").count() == 3
    small.assert_clean()


def test_small_page_tooltip_on_hover(small: Visit) -> None:
    # A point in the north-east quarter of SQ-1, away from its centre and home markers.
    text = hover(small, 38.75, -99.25)

    assert "SQ-1 (Squares)" in text
    assert "Ann Lee (R1)" in text
    assert "1,250,000" in text
    assert "+25.0 %" in text
    small.assert_clean()


def test_small_page_point_tooltip_on_hover(small: Visit) -> None:
    text = hover(small, 38.60, -90.30)

    assert "PT-B (Points)" in text
    small.assert_clean()


def test_small_page_layer_toggles_its_shape(small: Visit) -> None:
    page = small.page

    page.locator(".leaflet-control-layers-overlays input").nth(0).uncheck()

    assert page.locator("path.territory-shape").count() == 2
    assert page.locator(".leaflet-marker-icon.territory-centre").count() == 4
    small.assert_clean()


# -- real county shapes ---------------------------------------------------------------


def county_roles() -> list[RoleMap]:
    """Dissolve the counties of four states into one territory each, and add a point role."""
    with gzip.open(GEO_DIR / "us_counties_simplified.geojson.gz") as stream:
        counties = gpd.read_file(stream)
    counties = counties[counties["state_fips"].isin(list(STATES))].copy()
    counties["territory_id"] = counties["state_fips"].map(STATES)
    dissolved = counties.dissolve("territory_id").sort_index()

    ids = dissolved.index.tolist()
    territories = pd.DataFrame(
        {
            "territory_id": ids,
            "rep_name": [f"Rep {territory[2:]}" for territory in ids],
            "n_accounts": counties.groupby("territory_id").size().loc[ids].to_numpy(),
        }
    )
    centres = np.array([[p.y, p.x] for p in dissolved.geometry.representative_point()])
    points = pd.DataFrame(
        {
            "account_id": "CNTY-" + counties["geoid"],
            "latitude": counties.geometry.representative_point().y.to_numpy(),
            "longitude": counties.geometry.representative_point().x.to_numpy(),
            "territory_id": counties["territory_id"].to_numpy(),
        }
    )
    homes = np.full((len(ids), 2), np.nan)
    area = RoleMap(
        "COM", "Commercial", territories, (), list(dissolved.geometry), points, centres, homes
    )
    return [area, county_point_role()]


def county_point_role() -> RoleMap:
    table = pd.read_csv(GEO_DIR / "us_counties.csv", dtype={"geoid": str}).set_index("geoid")
    geoids = WEST_COUNTIES + EAST_COUNTIES
    points = pd.DataFrame(
        {
            "account_id": geoids,
            "latitude": table.loc[geoids, "interior_lat"].to_numpy(),
            "longitude": table.loc[geoids, "interior_lon"].to_numpy(),
            "territory_id": ["E-W"] * 4 + ["E-E"] * 4,
        }
    )
    territories = pd.DataFrame({"territory_id": ["E-W", "E-E"], "rep_name": ["West", "East"]})
    centres = np.array([[39.7, -104.9], [38.6, -94.0]])
    homes = np.array([[39.74, -104.99], [39.10, -94.58]])
    return RoleMap("ENT", "Enterprise", territories, (), None, points, centres, homes)


@pytest.fixture(scope="module")
def county_page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("county-map") / "map.html"
    write_map_html(path, county_roles(), title="four states")
    return path


@pytest.fixture
def counties(browser: BrowserContext, county_page: Path) -> Iterator[Visit]:
    yield from open_page(browser, county_page)


def test_county_page_loads_all_layers(counties: Visit) -> None:
    page = counties.page

    assert page.locator(".leaflet-control-layers-overlays label").count() == 6
    # Each state dissolves into one shape, drawn as one SVG path.
    assert page.locator("path.territory-shape").count() == 4
    assert page.locator("path.territory-point").count() == 8
    assert page.locator(".leaflet-marker-icon.territory-centre").count() == 6
    assert page.locator(".leaflet-marker-icon.rep-home").count() == 2
    counties.assert_clean()


def test_county_page_tooltip_on_hover(counties: Visit) -> None:
    # Central Kansas, away from every account point and marker.
    text = hover(counties, 38.5, -99.0)

    assert "T-KS (Commercial)" in text
    assert "Rep KS" in text
    counties.assert_clean()
