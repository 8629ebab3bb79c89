"""Maps of a plan drawn from two small hand-built roles.

Role SQ (Squares) has three territories, each a 1° by 1° square in Kansas with one
account at its middle. Role PT (Points) has six accounts in two territories: three
around Denver (PT-A) and three around St. Louis (PT-B).

```
lat 39  +-------+-------+-------+
        | SQ-1  | SQ-2  | SQ-3  |      PT-A: 3 points near 39.7 N 105.0 W
lat 38  +-------+-------+-------+      PT-B: 3 points near 38.6 N  90.2 W
      100 W    99 W    98 W    97 W
```

Potential of SQ-1, SQ-2 and SQ-3 is 1,250,000, 1,000,000 and 750,000 against a target
of 1,000,000, so their deviations are +25.0 %, 0.0 % and -25.0 %.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely
from matplotlib.image import imread

from solver.maps import RoleMap, backdrop, regions, write_map_html, write_map_png, write_moves_png
from solver.maps.colours import PALETTE
from solver.maps.data import layer_names
from solver.maps.moves import moved_summary
from solver.maps.tooltips import number, percent, territory_tooltip, tooltip_html
from solver.maps.web import ASSETS

NAN = float("nan")

SQUARE_WEST = (-100.0, -99.0, -98.0)


def square_role() -> RoleMap:
    """Return role SQ: three squares, homes for SQ-1 and SQ-3, none for SQ-2."""
    territories = pd.DataFrame(
        {
            "territory_id": ["SQ-1", "SQ-2", "SQ-3"],
            "role": "SQ",
            "rep_id": ["R1", "R2", "R3"],
            "rep_name": ["Ann Lee", "Bo Chan", "Cy Diaz"],
            "n_accounts": [1, 1, 1],
            "potential": [1_250_000.0, 1_000_000.0, 750_000.0],
            "potential_target": 1_000_000.0,
            "potential_min_allowed": 700_000.0,
            "potential_max_allowed": 1_300_000.0,
            "potential_dev_pct": [25.0, 0.0, -25.0],
            "icp": [4.0, 3.0, 2.0],
            "icp_minimum": 2.0,
            "viable": [True, True, False],
            "mean_km": [42.4, 10.0, 1234.6],
            # A square's Polsby-Popper is 4 pi a^2 / (4 a)^2 = pi / 4 = 0.785.
            "polsby_popper": np.pi / 4,
            "pieces": 1,
        }
    )
    shapes = [shapely.box(west, 38.0, west + 1.0, 39.0) for west in SQUARE_WEST]
    middles = np.array([[38.5, west + 0.5] for west in SQUARE_WEST])
    points = pd.DataFrame(
        {
            "account_id": ["C1", "C2", "C3"],
            "latitude": middles[:, 0],
            "longitude": middles[:, 1],
            "territory_id": ["SQ-1", "SQ-2", "SQ-3"],
        }
    )
    homes = np.array([[38.2, -99.8], [NAN, NAN], [38.8, -97.2]])
    return RoleMap(
        "SQ", "Squares", territories, ("potential", "icp"), shapes, points, middles, homes
    )


def point_role() -> RoleMap:
    """Return role PT: two territories of three points, a home for PT-A only."""
    territories = pd.DataFrame(
        {
            "territory_id": ["PT-A", "PT-B"],
            "role": "PT",
            "rep_id": ["R4", "R5"],
            "rep_name": ["Dee Fox", NAN],
            "n_accounts": [3, 3],
            "accounts": [3.0, 3.0],
            "accounts_target": 3.0,
            "accounts_dev_pct": [0.0, 0.0],
        }
    )
    points = pd.DataFrame(
        {
            "account_id": [f"P{i}" for i in range(1, 7)],
            "latitude": [39.74, 39.70, 39.80, 38.63, 38.60, 38.70],
            "longitude": [-104.99, -105.10, -104.90, -90.20, -90.30, -90.10],
            "territory_id": ["PT-A"] * 3 + ["PT-B"] * 3,
        }
    )
    centres = np.array([[39.75, -105.0], [38.64, -90.2]])
    homes = np.array([[39.74, -104.99], [NAN, NAN]])
    return RoleMap("PT", "Points", territories, ("accounts",), None, points, centres, homes)


def small_roles() -> list[RoleMap]:
    return [square_role(), point_role()]


def tooltip_of(page: str, territory: str) -> str:
    """Return the tooltip HTML bound to the layer of ``territory``."""
    tooltips = [part.split("`", 2)[1] for part in page.split(".bindTooltip(")[1:]]
    found = [text for text in tooltips if f"<b>{territory} (" in text]
    assert len(found) == 1, f"{len(found)} tooltips for {territory}"
    return found[0]


def overlay_names(page: str) -> list[str]:
    """Return the names of the layer control's overlays as text, swatches removed."""
    block = page.split("overlays :  {", 1)[1].split("},", 1)[0]
    keys = re.findall(r'^\s*("(?:[^"\\]|\\.)*") : feature_group_\d+,$', block, re.MULTILINE)
    return [re.sub(r"<[^>]+>", "", json.loads(key)) for key in keys]


def without_leaflet(page: str) -> str:
    """Return ``page`` with the inlined Leaflet library cut out, failing if it is absent."""
    library = (ASSETS / "leaflet.js").read_text(encoding="utf-8")
    library = library.rsplit("//# sourceMappingURL=", 1)[0]
    assert library in page
    return page.replace(library, "")


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("maps")
    write_map_png(folder / "map.png", small_roles(), title="tiny: territories")
    write_map_html(folder / "map.html", small_roles(), title="tiny: territories")
    return folder


@pytest.fixture(scope="module")
def page(written: Path) -> str:
    return (written / "map.html").read_text(encoding="utf-8")


# -- map.png ------------------------------------------------------------------------------


def test_png_has_the_figure_size(written: Path) -> None:
    image = imread(written / "map.png")

    # 11 inches wide and 0.8 + 5.6 per role tall, at 110 dpi: 1,210 by 12.0 * 110 = 1,320.
    assert image.shape == (1320, 1210, 4)


def test_png_square_in_territory_colour(written: Path) -> None:
    pixels = np.round(imread(written / "map.png")[:, :, :3] * 255).astype(int)

    # Sorted ids give SQ-1, SQ-2, SQ-3 the palette's first three colours. PT uses only
    # the first two, so the third colour comes from SQ-3's square (and its legend patch).
    third = tuple(int(PALETTE[2][i : i + 2], 16) for i in (1, 3, 5))
    count = int((pixels == third).all(axis=2).sum())
    assert count > 5_000


def test_png_same_input_same_bytes(written: Path, tmp_path: Path) -> None:
    write_map_png(tmp_path / "again.png", small_roles(), title="tiny: territories")

    assert (tmp_path / "again.png").read_bytes() == (written / "map.png").read_bytes()


def test_png_rejects_no_roles(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no role to draw"):
        write_map_png(tmp_path / "map.png", [], title="empty")


# -- map.html -----------------------------------------------------------------------------


def test_html_has_one_layer_per_territory(page: str) -> None:
    assert page.count("L.featureGroup(") == 5
    assert page.count("L.control.layers(") == 1
    # PT-B has no rep name, so its layer falls back to the rep id.
    assert overlay_names(page) == [
        "SQ-1 — Ann Lee",
        "SQ-2 — Bo Chan",
        "SQ-3 — Cy Diaz",
        "PT-A — Dee Fox",
        "PT-B — R5",
    ]


def test_html_marks_centres_and_homes(page: str) -> None:
    # Five territories have a centre. Homes: SQ-1, SQ-3 and PT-A.
    assert page.count('"className": "territory-centre"') == 5
    assert page.count('"className": "rep-home"') == 3
    assert page.count('"className": "territory-shape"') == 3
    assert page.count('"className": "territory-point"') == 2


def test_html_tooltip_metrics_by_hand(page: str) -> None:
    first = tooltip_of(page, "SQ-1")

    assert "<td>Ann Lee (R1)</td>" in first
    # Total, target, deviation (1,250,000 - 1,000,000) / 1,000,000 = +25.0 % and band.
    assert "<td>1,250,000</td><td>1,000,000</td><td>+25.0 %</td>" in first
    assert "<td>700,000 to 1,300,000</td>" in first
    # icp: total 4 and viability minimum 2, with no target.
    assert "<th>icp</th><td>4</td><td></td><td></td><td></td><td>2</td>" in first
    assert "<th>mean distance</th><td>42 km</td>" in first
    assert "<th>Polsby–Popper</th><td>0.79</td>" in first
    assert "<th>viable</th><td>yes</td>" in first


def test_html_tooltips_of_other_territories(page: str) -> None:
    assert "<td>0.0 %</td>" in tooltip_of(page, "SQ-2")
    third = tooltip_of(page, "SQ-3")
    assert "<td>750,000</td><td>1,000,000</td><td>-25.0 %</td>" in third
    assert "<th>mean distance</th><td>1,235 km</td>" in third
    assert "<th>viable</th><td>no</td>" in third
    # PT has an accounts metric, so the tooltip leaves out the separate account count.
    points = tooltip_of(page, "PT-A")
    assert "<th>accounts</th><td>3</td><td>3</td><td>0.0 %</td>" in points
    assert points.count("<th>accounts</th>") == 1


def test_html_loads_nothing_from_the_network(page: str) -> None:
    rest = without_leaflet(page)

    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", rest)
    assert not re.search(r"""url\(\s*["']?\s*(?:https?:)?//""", rest)
    assert "@import" not in rest
    assert "sourceMappingURL" not in page
    assert "<script src=" not in page
    assert "<link " not in page


def test_html_inlines_leaflet_css_images(page: str) -> None:
    assert "url(images/" not in page
    assert "url(data:image/png;base64," in page


def test_html_ids_are_counters(page: str) -> None:
    # Folium's own ids are 32 random hex digits after the element kind.
    assert not re.search(r"_[0-9a-f]{32}\b", page)
    assert "feature_group_" in page


def test_html_same_input_same_bytes(written: Path, tmp_path: Path) -> None:
    write_map_html(tmp_path / "again.html", small_roles(), title="tiny: territories")

    assert (tmp_path / "again.html").read_bytes() == (written / "map.html").read_bytes()


def test_html_escapes_names(tmp_path: Path) -> None:
    role = point_role()
    territories = role.territories.assign(rep_name=['Zoë <b>"Z"</b> & `${x}`', "Eve"])
    odd = RoleMap(
        "PT", "Points", territories, role.metrics, None, role.points, role.centres, role.homes
    )

    write_map_html(tmp_path / "map.html", [odd], title="<i>odd</i> {{ x }}")
    page = (tmp_path / "map.html").read_text(encoding="utf-8")

    text = tooltip_of(page, "PT-A")
    assert "Zoë &lt;b&gt;&quot;Z&quot;&lt;/b&gt; &amp; &#96;&#36;{x}&#96;" in text
    assert "<title>&lt;i&gt;odd&lt;/i&gt; {{ x }}</title>" in page
    braces = "&#123;&#123; x &#125;&#125;"
    assert f'<div class="territory-map-title">&lt;i&gt;odd&lt;/i&gt; {braces}</div>' in page


def test_html_without_state_file(tmp_path: Path, monkeypatch, caplog) -> None:
    monkeypatch.setattr(backdrop, "GEO_DIR", tmp_path)
    backdrop.states.cache_clear()
    try:
        with caplog.at_level(logging.WARNING, logger="solver.maps.backdrop"):
            write_map_html(tmp_path / "map.html", small_roles(), title="no states")
    finally:
        backdrop.states.cache_clear()

    page = (tmp_path / "map.html").read_text(encoding="utf-8")
    assert "state-outline" not in page
    assert page.count("L.featureGroup(") == 5
    assert "us_states.geojson.gz are missing" in caplog.text


# -- moves.png ----------------------------------------------------------------------------


def moves_accounts() -> pd.DataFrame:
    """Five A accounts (two change owner, one has none before or after) and two B ones."""
    return pd.DataFrame(
        {
            "account_id": ["a1", "a2", "a3", "a4", "a5", "b1", "b2"],
            "latitude": [38.5, 38.6, 38.7, 38.8, 38.9, 39.7, 39.8],
            "longitude": [-99.5, -99.4, -98.5, -97.5, -97.4, -105.0, -104.9],
            "role": ["A"] * 5 + ["B"] * 2,
            "before": ["X", "X", "Y", NAN, NAN, "P", "P"],
            "after": ["X", "Y", "Y", "Y", NAN, "P", "P"],
        }
    )


def test_moves_summary_counts_per_role() -> None:
    # a2 goes from X to Y and a4 from no owner to Y. a5 has no owner in either.
    expected = "A: 2 of 5 accounts changed owner, B: 0 of 2 accounts changed owner"
    assert moved_summary(moves_accounts()) == expected


def test_moves_png_size_and_same_bytes(tmp_path: Path) -> None:
    for name in ("one.png", "two.png"):
        write_moves_png(
            tmp_path / name, moves_accounts(), title="moves", before_label="a", after_label="b"
        )

    # 14 by 6 inches at 110 dpi.
    assert imread(tmp_path / "one.png").shape == (660, 1540, 4)
    assert (tmp_path / "one.png").read_bytes() == (tmp_path / "two.png").read_bytes()


def test_moves_png_requires_owner_columns(tmp_path: Path) -> None:
    accounts = moves_accounts().drop(columns=["before"])

    with pytest.raises(ValueError, match="accounts is missing columns before"):
        write_moves_png(
            tmp_path / "m.png", accounts, title="moves", before_label="a", after_label="b"
        )


# -- plain data, colours, formats and regions -----------------------------------------


def test_role_map_rejects_wrong_centres() -> None:
    role = square_role()

    with pytest.raises(ValueError, match=r"centres has shape \(2, 2\), expected \(3, 2\)"):
        RoleMap(
            "SQ",
            "Squares",
            role.territories,
            role.metrics,
            role.shapes,
            role.points,
            role.centres[:2],
            role.homes,
        )


def test_role_map_rejects_wrong_shape_count() -> None:
    role = square_role()

    with pytest.raises(ValueError, match="2 shapes for 3 territory rows"):
        RoleMap(
            "SQ",
            "Squares",
            role.territories,
            role.metrics,
            role.shapes[:2],
            role.points,
            role.centres,
            role.homes,
        )


def test_colours_follow_territory_ids_not_rows() -> None:
    role = square_role()
    flipped = RoleMap(
        "SQ",
        "Squares",
        role.territories.iloc[::-1].reset_index(drop=True),
        role.metrics,
        role.shapes[::-1],
        role.points,
        role.centres[::-1],
        role.homes[::-1],
    )

    assert dict(zip(flipped.territory_ids, flipped.colours, strict=True)) == {
        "SQ-1": PALETTE[0],
        "SQ-2": PALETTE[1],
        "SQ-3": PALETTE[2],
    }


def test_layer_names_prefix_shared_ids() -> None:
    role = point_role()
    copy = RoleMap(
        "XX", "Copy", role.territories, role.metrics, None, role.points, role.centres, role.homes
    )

    names = layer_names([role, copy])

    assert names == [["PT PT-A — Dee Fox", "PT PT-B — R5"], ["XX PT-A — Dee Fox", "XX PT-B — R5"]]


@pytest.mark.parametrize(
    ("value", "expected"),
    [(1_234_567.0, "1,234,567"), (73.529, "73.53"), (150.4, "150"), (3, "3"), (0.5, "0.50")],
)
def test_tooltip_number_format(value: float, expected: str) -> None:
    assert number(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [(-19.76, "-19.8 %"), (14.811, "+14.8 %"), (0.04, "0.0 %"), (-0.04, "0.0 %")],
)
def test_tooltip_percent_format(value: float, expected: str) -> None:
    assert percent(value) == expected


def test_tooltip_leaves_out_missing_columns() -> None:
    row = pd.Series({"territory_id": "T1", "potential": 2500.0, "potential_target": NAN})

    tooltip = territory_tooltip("T1 (Solo)", row, ("potential", "icp"))

    assert tooltip.facts == []
    assert tooltip.metrics == [{"metric": "potential", "total": "2,500"}]
    html = tooltip_html(tooltip)
    assert "<th>metric</th><th>total</th></tr>" in html
    assert "target" not in html


def test_layout_insets_only_with_data() -> None:
    # Wichita, Anchorage, Honolulu.
    lon, lat = np.array([-97.3, -149.9, -157.9]), np.array([37.7, 61.2, 21.3])

    kansas_only = regions.layout(lon[:1], lat[:1])
    all_three = regions.layout(lon, lat)

    assert kansas_only.main is regions.CONUS
    assert kansas_only.insets == ()
    assert all_three.insets == (regions.ALASKA, regions.HAWAII)
    assert all_three.count_outside(lon, lat) == 0


def test_layout_counts_points_outside_the_us() -> None:
    # Wichita and San Juan, Puerto Rico: San Juan is in no drawn region.
    lon, lat = np.array([-97.3, -66.1]), np.array([37.7, 18.5])

    layout = regions.layout(lon, lat)

    assert layout.count_outside(lon, lat) == 1


def test_layout_centres_on_non_us_data() -> None:
    # Paris and Berlin.
    lon, lat = np.array([2.35, 13.40]), np.array([48.86, 52.52])

    layout = regions.layout(lon, lat)

    assert layout.main.name == "data"
    assert layout.count_outside(lon, lat) == 0


def test_extent_of_a_line_widens() -> None:
    lon, lat = np.array([-105.0, -92.0]), np.array([39.0, 39.0])

    xmin, xmax, ymin, ymax = regions.extent(regions.CONUS, lon, lat)

    assert ymax - ymin >= 0.5 * (xmax - xmin) - 1e-6
