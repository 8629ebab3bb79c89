"""Wording of the smallest-relaxation explanation."""

from __future__ import annotations

from solver.explain import _percent


def test_needed_tolerance_rounds_up() -> None:
    assert _percent(0.004375, up=True) == "0.44%"


def test_exact_tolerance_stays() -> None:
    assert _percent(0.125, up=True) == "12.50%"


def test_set_tolerance_rounds_nearest() -> None:
    assert _percent(0.001) == "0.10%"
