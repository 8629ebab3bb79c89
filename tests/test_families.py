"""Account families: roots, input errors, the pre-rolled warning and the grouped problem."""

from __future__ import annotations

import datetime as dt
import logging
import re

import numpy as np
import pandas as pd
import pytest

from solver.errors import InputError
from solver.families import family_roots, group_problem, oversized_families, warn_prerolled
from solver.problem import RoleProblem, Territory


def roots_of(pairs: list[tuple[str, str | None]]) -> list[str]:
    """Return the roots of ``(account id, parent id)`` rows of a file named accounts.csv."""
    ids = pd.Series([account for account, _ in pairs], dtype=object)
    parents = pd.Series([parent for _, parent in pairs], dtype=object)
    return list(family_roots(ids, parents, file="accounts.csv", column="parent_id"))


def make_problem(
    ids: list[str],
    potential: list[float],
    *,
    coords: list[tuple[float, float]] | None = None,
    weights: list[float] | None = None,
    territories: int = 3,
    capacity: float = np.inf,
    **fields: object,
) -> RoleProblem:
    """Build a problem with metrics ``accounts`` and ``potential`` and no balance goal.

    ``capacity`` caps the potential of territory ``j`` at ``capacity + j``, so the largest
    territory maximum is ``capacity + territories - 1``.
    """
    n, t = len(ids), territories
    values = np.column_stack([np.ones(n), np.array(potential, dtype=float)])
    share = np.full(t, 1 / t)
    target = np.outer(share, values.sum(axis=0))
    cap = np.full((t, 2), np.inf)
    cap[:, 1] = capacity + np.arange(t)
    points = np.array(coords if coords is not None else [(40.0, -95.0)] * n, dtype=float)
    return RoleProblem(
        role="FIELD",
        account_ids=np.array(ids, dtype=object),
        coords=points,
        weights=np.array(weights if weights is not None else [1.0] * n, dtype=float),
        metric_names=("accounts", "potential"),
        values=values,
        territories=tuple(
            Territory(
                f"FIELD-T{j + 1:02d}", f"R{j + 1}", None, dt.date(2020, 1, 1), 1.0, 1 / t, None
            )
            for j in range(t)
        ),
        tolerance=np.full(2, np.inf),
        target=target,
        balance_lo=np.full((t, 2), -np.inf),
        balance_hi=np.full((t, 2), np.inf),
        minimum=np.full((t, 2), -np.inf),
        capacity=cap,
        fixed_centre=np.zeros(t, dtype=bool),
        home_coords=np.full((t, 2), np.nan),
        **fields,  # type: ignore[arg-type]
    )


# -- family_roots ---------------------------------------------------------------------------


def test_roots_of_small_forest() -> None:
    # A <- B <- C <- D is a chain of 4 listed deepest first. E has two children, F and G,
    # one before and one after it. H has no parent and no children. None, empty and blank
    # parents all mark a top-level account, and the padded ' E ' is read as E.
    pairs: list[tuple[str, str | None]] = [
        ("D", "C"),
        ("C", "B"),
        ("B", "A"),
        ("A", None),
        ("F", "E"),
        ("E", ""),
        ("G", " E "),
        ("H", "  "),
    ]

    roots = roots_of(pairs)

    assert roots == ["A", "A", "A", "A", "E", "E", "E", "H"]


def test_roots_keep_index() -> None:
    ids = pd.Series(["A", "B"], dtype=object)
    parents = pd.Series([np.nan, "A"], dtype=object)

    roots = family_roots(ids, parents, file="accounts.csv", column="parent_id")

    assert list(roots.index) == [0, 1]
    assert list(roots) == ["A", "A"]


def test_roots_numeric_parent_matches_text_id() -> None:
    # A numeric parent column with gaps is read as floats: 123.0 is the account id "123".
    ids = pd.Series(["123", "124"], dtype=object)
    parents = pd.Series([np.nan, 123.0])

    roots = family_roots(ids, parents, file="accounts.csv", column="parent_id")

    assert list(roots) == ["123", "123"]


def test_self_parent_message() -> None:
    # B is the second data row, so a spreadsheet shows it as row 3.
    pairs: list[tuple[str, str | None]] = [("A", None), ("B", "B"), ("C", "A")]

    with pytest.raises(InputError) as caught:
        roots_of(pairs)

    message = str(caught.value)
    assert message.startswith("accounts.csv, row 3, column 'parent_id': value 'B' ")
    assert "own parent" in message
    assert "Fix: leave the cell empty for a top-level account." in message


def test_orphan_message_counts_rows() -> None:
    # X and Y are no account ids. The first such row is data row 1, spreadsheet row 3.
    pairs: list[tuple[str, str | None]] = [("A", None), ("B", "X"), ("C", "A"), ("D", "Y")]

    with pytest.raises(InputError) as caught:
        roots_of(pairs)

    message = str(caught.value)
    assert message.startswith("accounts.csv, row 3, column 'parent_id': value 'X' ")
    assert "is not an account id" in message
    assert "(2 rows in total have this problem)" in message
    assert "Fix: set 'parent_id'" in message


def test_three_cycle_message() -> None:
    # T leads into the cycle A -> B -> C -> A but is not on it. The cycle member listed
    # first in the file is B (data row 2, spreadsheet row 4), so the message starts there
    # and follows the parents: B's parent is C, C's parent is A, A's parent is B.
    pairs: list[tuple[str, str | None]] = [
        ("Z", None),
        ("T", "A"),
        ("B", "C"),
        ("A", "B"),
        ("C", "A"),
    ]

    with pytest.raises(InputError) as caught:
        roots_of(pairs)

    message = str(caught.value)
    assert message.startswith("accounts.csv, row 4, column 'parent_id': ")
    assert "accounts B -> C -> A -> B form a cycle" in message
    assert "Fix: break the cycle by leaving one parent empty." in message


def test_two_cycle_is_found() -> None:
    # Pointer jumping maps each row of a 2-cycle back onto itself, which must still be
    # caught as a cycle and not taken for a root.
    pairs: list[tuple[str, str | None]] = [("A", "B"), ("B", "A")]

    with pytest.raises(InputError, match=r"row 2, .*accounts A -> B -> A form a cycle"):
        roots_of(pairs)


def test_deep_chain_has_one_root() -> None:
    # N0 <- N1 <- ... <- N199999, listed deepest first so no row's parent is known before
    # the row itself. A recursive walk would exceed Python's recursion limit here.
    depth = 200_000
    ids = pd.Series([f"N{i}" for i in reversed(range(depth))], dtype=object)
    parents = pd.Series([f"N{i - 1}" if i else None for i in reversed(range(depth))])

    roots = family_roots(ids, parents, file="accounts.csv", column="parent_id")

    assert len(roots) == depth
    assert set(roots) == {"N0"}


def test_long_cycle_message_is_shortened() -> None:
    # C0 -> C1 -> ... -> C11 -> C0: 12 accounts, more than the 10 the message spells out.
    size = 12
    pairs: list[tuple[str, str | None]] = [(f"C{i}", f"C{(i + 1) % size}") for i in range(size)]

    with pytest.raises(InputError) as caught:
        roots_of(pairs)

    message = str(caught.value)
    assert "accounts C0 -> C1 -> C2" in message
    assert "C9 -> ... (12 accounts in total) -> C0 form a cycle" in message
    assert "C10" not in message


# -- warn_prerolled -------------------------------------------------------------------------


def test_prerolled_parent_is_warned(caplog: pytest.LogCaptureFixture) -> None:
    # Potential: P has 30 = 10 + 20, the sum of its children C1 and C2, so it looks
    # pre-rolled. Q has 7 against 3 for its child. R has 0 = 0, which is not above 0.
    # Employees: P has 1 against 4 + 5, so that metric raises no warning.
    ids = pd.Series(["P", "C1", "C2", "Q", "D1", "R", "E1"], dtype=object)
    parents = pd.Series([None, "P", "P", None, "Q", None, "R"], dtype=object)
    roots = pd.Series(["P", "P", "P", "Q", "Q", "R", "R"], dtype=object)
    values = pd.DataFrame(
        {
            "potential": [30.0, 10.0, 20.0, 7.0, 3.0, 0.0, 0.0],
            "employees": [1.0, 4.0, 5.0, 2.0, 2.5, 1.0, 3.0],
        }
    )

    with caplog.at_level(logging.WARNING, logger="solver.families"):
        warn_prerolled(ids, roots, parents, values)

    assert len(caplog.records) == 1
    message = caplog.records[0].getMessage()
    assert "metric 'potential'" in message
    assert "found 1 parent account whose value" in message
    assert "(first ids: P)" in message


def test_prerolled_within_relative_tolerance(caplog: pytest.LogCaptureFixture) -> None:
    # 0.1 + 0.2 is 0.30000000000000004 in floating point, which must still count as 0.3.
    # B's value 1.0 is far from its child's 1.5 and is not flagged.
    ids = pd.Series(["A", "A1", "A2", "B", "B1"], dtype=object)
    parents = pd.Series([None, "A", "A", None, "B"], dtype=object)
    roots = pd.Series(["A", "A", "A", "B", "B"], dtype=object)
    values = pd.DataFrame({"potential": [0.3, 0.1, 0.2, 1.0, 1.5]})

    with caplog.at_level(logging.WARNING, logger="solver.families"):
        warn_prerolled(ids, roots, parents, values)

    assert len(caplog.records) == 1
    assert "(first ids: A)" in caplog.records[0].getMessage()


def test_prerolled_silent_without_hierarchy(caplog: pytest.LogCaptureFixture) -> None:
    ids = pd.Series(["A", "B"], dtype=object)
    parents = pd.Series([None, None], dtype=object)
    values = pd.DataFrame({"potential": [0.0, 0.0]})

    with caplog.at_level(logging.WARNING, logger="solver.families"):
        warn_prerolled(ids, ids, parents, values)

    assert caplog.records == []


# -- group_problem --------------------------------------------------------------------------


def test_group_sums_values_and_weights() -> None:
    # Rows B, A, C, D with roots A, A, C, A. Family A appears first (at row B), so the
    # family rows are A then C. Family A contains B, A, D: 3 accounts, potential
    # 1 + 2 + 8 = 11 and weight 1 + 2 + 1 = 4. Family C contains C: potential 4, weight 0.5.
    problem = make_problem(["B", "A", "C", "D"], [1.0, 2.0, 4.0, 8.0], weights=[1, 2, 0.5, 1])

    grouping = group_problem(problem, np.array(["A", "A", "C", "A"], dtype=object))

    grouped = grouping.problem
    assert list(grouped.account_ids) == ["A", "C"]
    assert list(grouping.family) == [0, 0, 1, 0]
    assert grouped.values.tolist() == [[3.0, 11.0], [1.0, 4.0]]
    assert grouped.weights.tolist() == [4.0, 0.5]
    assert grouped.territories == problem.territories
    assert np.array_equal(grouped.capacity, problem.capacity)


def test_group_coords_midpoint_on_meridian() -> None:
    # (0, 0) and (60, 0) as unit vectors are (1, 0, 0) and (0.5, 0, sqrt(3)/2). Their sum
    # (1.5, 0, 0.866) has latitude atan(0.866 / 1.5) = atan(1 / sqrt(3)) = 30 degrees.
    problem = make_problem(["A", "B"], [1.0, 1.0], coords=[(0.0, 0.0), (60.0, 0.0)])

    grouped = group_problem(problem, np.array(["A", "A"], dtype=object)).problem

    assert grouped.coords[0] == pytest.approx([30.0, 0.0], abs=1e-9)


def test_group_coords_follow_weights() -> None:
    # (0, 0) with weight 1 and (0, 90) with weight 3 give 1 * (1, 0, 0) + 3 * (0, 1, 0),
    # on the equator at longitude atan(3 / 1) = 71.565 degrees.
    problem = make_problem(
        ["A", "B"], [1.0, 1.0], coords=[(0.0, 0.0), (0.0, 90.0)], weights=[1.0, 3.0]
    )

    grouped = group_problem(problem, np.array(["A", "A"], dtype=object)).problem

    assert grouped.coords[0] == pytest.approx([0.0, np.degrees(np.arctan(3.0))], abs=1e-9)
    assert grouped.coords[0, 1] == pytest.approx(71.565, abs=1e-3)


def test_group_coords_zero_weights_count_equally() -> None:
    # Both weights are 0, so the members count equally: the midpoint of (0, 0) and
    # (0, 90) on the equator is longitude 45.
    problem = make_problem(
        ["A", "B"], [1.0, 1.0], coords=[(0.0, 0.0), (0.0, 90.0)], weights=[0.0, 0.0]
    )

    grouped = group_problem(problem, np.array(["A", "A"], dtype=object)).problem

    assert grouped.coords[0] == pytest.approx([0.0, 45.0], abs=1e-9)


def test_group_previous_and_move_cost() -> None:
    # Family X: X1 in T0 costs 2, X2 and X3 in T1 cost 1.5 each, X4 had no territory.
    #   T1 members cost 3 against 2 for T0, so X's previous is T1 and its move cost 3.
    # Family Y: Y1 in T2 and Y2 in T0 cost 1 each, a tie that goes to T0, move cost 1.
    # Family Z: no member had a territory, so previous -1 and move cost 0.
    # Family W: W1 in T2 costs 0. A member with a territory counts even at cost 0.
    ids = ["X1", "X2", "X3", "X4", "Y1", "Y2", "Z1", "W1"]
    problem = make_problem(
        ids,
        [1.0] * 8,
        previous=np.array([0, 1, 1, -1, 2, 0, -1, 2]),
        move_cost=np.array([2.0, 1.5, 1.5, 9.0, 1.0, 1.0, 4.0, 0.0]),
    )
    roots = np.array(["X1", "X1", "X1", "X1", "Y1", "Y1", "Z1", "W1"], dtype=object)

    grouped = group_problem(problem, roots).problem

    assert list(grouped.account_ids) == ["X1", "Y1", "Z1", "W1"]
    assert grouped.previous is not None
    assert grouped.move_cost is not None
    assert grouped.previous.tolist() == [1, 0, -1, 2]
    assert grouped.move_cost.tolist() == [3.0, 1.0, 0.0, 0.0]


def test_group_previous_without_move_cost() -> None:
    # Without move costs each member counts 1: two members in T2 outweigh one in T0.
    problem = make_problem(["A", "B", "C"], [1.0] * 3, previous=np.array([0, 2, 2]))

    grouped = group_problem(problem, np.array(["A", "A", "A"], dtype=object)).problem

    assert grouped.previous is not None
    assert grouped.previous.tolist() == [2]
    assert grouped.move_cost is None


def test_group_locks_follow_members() -> None:
    # Family A: A2 is locked to T1 and A1 is free, so the family is locked to T1.
    # Family B: no lock.
    problem = make_problem(["A1", "A2", "B1"], [1.0] * 3, locked=np.array([-1, 1, -1]))

    grouped = group_problem(problem, np.array(["A1", "A1", "B1"], dtype=object)).problem

    assert grouped.locked is not None
    assert grouped.locked.tolist() == [1, -1]


def test_group_conflicting_locks_raise() -> None:
    # A1 is locked to the first territory (rep R1) and A3 to the third (rep R3).
    problem = make_problem(["A1", "A2", "A3"], [1.0] * 3, locked=np.array([0, -1, 2]))

    with pytest.raises(InputError) as caught:
        group_problem(problem, np.array(["A1", "A1", "A1"], dtype=object))

    message = str(caught.value)
    assert "A1 (locked to FIELD-T01, rep R1)" in message
    assert "A3 (locked to FIELD-T03, rep R3)" in message
    assert "Fix: lock them to the same rep or remove one lock." in message


def test_group_expand_round_trip() -> None:
    # Families A = {B, A, D} and C = {C}. Family A goes to T2, family C to T0.
    problem = make_problem(["B", "A", "C", "D"], [1.0, 2.0, 4.0, 8.0])
    grouping = group_problem(problem, np.array(["A", "A", "C", "A"], dtype=object))
    family_plan = np.array([2, 0])

    plan = grouping.expand(family_plan)

    assert plan.tolist() == [2, 2, 0, 2]
    # T0 contains C: 1 account, potential 4. T2 contains B, A, D: 3 accounts, 1 + 2 + 8 = 11.
    assert problem.totals(plan).tolist() == [[1.0, 4.0], [0.0, 0.0], [3.0, 11.0]]
    assert np.array_equal(problem.totals(plan), grouping.problem.totals(family_plan))


def test_group_expand_rejects_wrong_length() -> None:
    problem = make_problem(["A", "B"], [1.0, 1.0])
    grouping = group_problem(problem, np.array(["A", "A"], dtype=object))

    with pytest.raises(ValueError, match="expected one per family"):
        grouping.expand(np.array([0, 1]))


def test_group_singletons_keep_problem() -> None:
    problem = make_problem(["A", "B", "C"], [1.0] * 3)

    grouping = group_problem(problem, problem.account_ids)

    assert grouping.problem is problem
    assert grouping.family.tolist() == [0, 1, 2]


# -- oversized_families ---------------------------------------------------------------------


def test_oversized_family_message() -> None:
    # Territory maximums of potential are 10, 11 and 12, so the largest is 12.
    # Family A (A1, A2, A3) adds up to 4 + 4 + 5 = 13 > 12 and is reported.
    # Family B (B1, B2) adds up to 6 + 6 = 12, not above 12.
    # S alone has 20 but a single account is reported elsewhere.
    ids = ["A1", "A2", "A3", "B1", "B2", "S"]
    problem = make_problem(ids, [4.0, 4.0, 5.0, 6.0, 6.0, 20.0], capacity=10.0)
    roots = np.array(["A1", "A1", "A1", "B1", "B1", "S"], dtype=object)
    grouping = group_problem(problem, roots)

    messages = oversized_families(grouping)

    assert messages == [
        "family of A1 (3 accounts): potential 13 is above the largest territory maximum 12 "
        "of role FIELD"
    ]


def test_oversized_without_member_counts() -> None:
    problem = make_problem(["A1", "A2"], [7.0, 7.0], capacity=10.0)
    grouping = group_problem(problem, np.array(["A1", "A1"], dtype=object))

    messages = oversized_families(grouping, member_counts=False)

    # 7 + 7 = 14 is above the largest maximum 12.
    assert len(messages) == 1
    assert messages[0].startswith("family of A1: potential 14 ")
    assert re.search(r"\(\d+ accounts\)", messages[0]) is None
