"""Capacity feedback on the two-rep timeline of ``test_policies``, checked by hand."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from test_policies import scenario_path

from solver.errors import InputError
from solver.feedback import FEEDBACK_COLUMNS, account_regions, capacity_feedback, feedback_markdown
from solver.scenario import load_scenario
from solver.timeline import load_horizon


@pytest.fixture(scope="module")
def feedback(tmp_path_factory: pytest.TempPathFactory):
    path = scenario_path(tmp_path_factory.mktemp("feedback"))
    return capacity_feedback(load_horizon(load_scenario(path)))


def test_regions_follow_the_nearest_county() -> None:
    # Denver is in the West, Chicago in the Midwest, Atlanta in the South and Boston in
    # the Northeast. A point in the mid-Atlantic ocean is far from every county.
    coords = np.array(
        [[39.74, -104.99], [41.88, -87.63], [33.75, -84.39], [42.36, -71.06], [35.0, -40.0]]
    )

    regions = account_regions(coords)

    assert regions.tolist() == ["West", "Midwest", "South", "Northeast", "outside"]


def test_one_row_per_region_of_the_role(feedback) -> None:
    # The western accounts (near -105) are in Colorado, the eastern ones (near -92) in
    # Missouri.
    assert feedback.columns.tolist() == FEEDBACK_COLUMNS
    assert feedback["region"].tolist() == ["Midwest", "West"]
    assert feedback["accounts"].tolist() == [2, 2]


def test_staffing_matches_the_target_team(feedback) -> None:
    # In the last period A works the west and B the east, each at full ramp.
    assert feedback["capacity_share"].tolist() == [0.5, 0.5]
    assert feedback["staffing"].tolist() == ["balanced", "balanced"]


def test_one_more_rep_in_the_east_covers_march(feedback) -> None:
    # Baseline mean coverage is (1 + 1 + 0.875 + 1) / 4 = 0.96875: in March B owns E1 at
    # 50 % ramp. A rep working the east from January covers it fully: gain 0.03125. One
    # more rep in the west leaves B's phase-in as it was: gain 0.
    midwest = feedback.set_index("region").loc["Midwest"]
    west = feedback.set_index("region").loc["West"]

    assert midwest["coverage_gain"] == pytest.approx(0.03125)
    assert west["coverage_gain"] == pytest.approx(0.0)
    assert midwest["rank"] == 1
    assert west["rank"] == 2


def test_markdown_names_the_best_region(feedback) -> None:
    text = feedback_markdown(feedback)

    assert "## Capacity feedback" in text
    assert "**FIELD**: one more rep in the Midwest region gains the most" in text
    assert "mean coverage +3.12 points" in text


def test_feedback_needs_a_horizon(tmp_path: Path) -> None:
    path = scenario_path(tmp_path)
    text = path.read_text(encoding="utf-8")
    path.write_text(text.split("horizon:")[0], encoding="utf-8")

    with pytest.raises(InputError) as caught:
        load_horizon(load_scenario(path))

    message = str(caught.value)
    assert "has no planning horizon" in message
    assert "add horizon:" in message
