"""Shared fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest
from instances import write_instance


@pytest.fixture
def line_instance(tmp_path: Path) -> Path:
    """Four accounts on the meridian and two reps at fixed homes (latitudes 0 and 10).

    ```
    lat:  0    1    2                        10
          A1   A2   A3                       A4
          R1                                 R2
    ```

    Each account has potential 10 and each rep a full share, so each territory must hold
    20 (+/-10% allows 18..22): two accounts each. Nearest-home would give R1 three
    accounts, so one of A1..A3 moves to R2. Moving A3 costs the least extra distance
    (8 - 2 = 6 degrees, against 8 for A2 and 10 for A1), so the optimum is
    R1 = {A1, A2}, R2 = {A3, A4}, at 0 + 1 + 8 + 0 = 9 degrees of latitude.
    """
    accounts = [
        {"account_id": f"A{i + 1}", "latitude": lat, "longitude": 0.0, "potential": 10.0}
        for i, lat in enumerate([0.0, 1.0, 2.0, 10.0])
    ]
    reps = [
        {
            "rep_id": "R1",
            "role": "FIELD",
            "start_date": "2020-01-01",
            "home_latitude": 0.0,
            "home_longitude": 0.0,
        },
        {
            "rep_id": "R2",
            "role": "FIELD",
            "start_date": "2020-01-01",
            "home_latitude": 10.0,
            "home_longitude": 0.0,
        },
    ]
    roles = {
        "FIELD": {
            "ramp": [1.0],
            "balance": [{"metric": "potential", "tolerance": 0.1}],
            "centres": "rep_home",
        }
    }
    return write_instance(tmp_path / "line", accounts, reps, roles)
