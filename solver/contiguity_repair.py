"""Repair a plan so that every territory is one piece, keeping the model's rows.

The repair works on the rows of the role's linear model, so every rule the model carries
(balance bands, viability minimums, capacities, disruption budgets) counts, not only the
bands. It runs in three steps:

1. Every stray piece of a territory goes whole to the neighbouring territory where the
   rows end up least violated, then cheapest. Each such move merges two pieces, so the
   step ends.
2. While a row is violated, the single boundary row move that lowers the total violation
   most is made, between neighbouring territories.
3. With every row met, the boundary move that saves the most cost while every row stays
   met is made, until none saves anything.

A row whose removal would cut its territory in two (an articulation point) never moves in
steps 2 and 3, and locked rows never move at all. A territory's main piece is the one
holding a locked row, else its heaviest.
"""

from __future__ import annotations

import logging
import time

import networkx as nx
import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from solver.formulation import LinearModel
from solver.problem import RoleProblem

logger = logging.getLogger(__name__)

#: Most single-row moves steps 2 and 3 make together.
MAX_REPAIR_MOVES = 20_000

#: First moves a stuck band repair tries before it gives up (see ``_two_step``).
LOOKAHEAD = 30

#: Seconds the repair may spend on two-step moves in all. A plan that these moves cannot
#: mend in that time usually needs a looser setting, so more search rarely helps.
TWO_STEP_SECONDS = 10.0


def piece_labels(adjacency: sp.csr_matrix, assignment: np.ndarray) -> np.ndarray:
    """Return a piece label per row; rows share one when a path in their territory joins them."""
    graph = adjacency.tocoo()
    inside = assignment[graph.row] == assignment[graph.col]
    kept = sp.csr_matrix(
        (np.ones(int(inside.sum())), (graph.row[inside], graph.col[inside])), shape=adjacency.shape
    )
    _, labels = connected_components(kept, directed=False)
    return labels


class _Rows:
    """The model's rows and their activity for the current plan, with moves priced."""

    def __init__(self, model: LinearModel, plan: np.ndarray) -> None:
        self.model = model
        self.columns = np.full((model.n_accounts, model.n_territories), -1, dtype=np.int64)
        self.columns[model.pair_account, model.pair_territory] = np.arange(model.n_vars)
        self.by_column = model.matrix.tocsc()
        self.cost = np.full((model.n_accounts, model.n_territories), np.inf)
        self.cost[model.pair_account, model.pair_territory] = model.cost
        bounds = np.abs(np.concatenate([model.row_lo, model.row_hi]))
        bounds = np.where(np.isfinite(bounds), bounds, 0.0).reshape(2, -1).max(axis=0)
        self.scale = np.maximum(bounds, 1.0)
        self.activity = model.matrix @ model.start_vector(plan)

    def violation(self, activity: np.ndarray, rows: np.ndarray | slice = slice(None)) -> np.ndarray:
        """Return each row's distance outside its bounds, relative to the bound's size."""
        low, high = self.model.row_lo[rows], self.model.row_hi[rows]
        with np.errstate(invalid="ignore"):
            outside = np.maximum(np.maximum(low - activity, activity - high), 0.0)
        return outside / self.scale[rows]

    def change(self, members: np.ndarray, source: np.ndarray, target: np.ndarray) -> sp.coo_matrix:
        """Return ``(rows, moves)`` activity changes of moving ``members[k]`` to ``target[k]``."""
        to = self.by_column[:, self.columns[members, target]]
        frm = self.by_column[:, self.columns[members, source]]
        return (to - frm).tocoo()

    def gains(self, change: sp.coo_matrix, moves: int) -> np.ndarray:
        """Return how much each move lowers the total violation (negative when it raises it)."""
        before = self.violation(self.activity[change.row], change.row)
        after = self.violation(self.activity[change.row] + change.data, change.row)
        return np.bincount(change.col, weights=before - after, minlength=moves)

    def group_violation(self, members: np.ndarray, source: int, target: int) -> float:
        """Return the total violation after moving all ``members`` from ``source`` to ``target``."""
        delta = self.by_column[:, self.columns[members, target]].sum(axis=1)
        delta -= self.by_column[:, self.columns[members, source]].sum(axis=1)
        return float(self.violation(self.activity + np.asarray(delta).ravel()).sum())

    def apply(self, members: np.ndarray, source: int, target: int) -> None:
        delta = self.by_column[:, self.columns[members, target]].sum(axis=1)
        delta -= self.by_column[:, self.columns[members, source]].sum(axis=1)
        self.activity = self.activity + np.asarray(delta).ravel()


def repair(problem: RoleProblem, assignment: np.ndarray, model: LinearModel) -> np.ndarray:
    """Return ``assignment`` repaired to one piece per territory (see the module notes)."""
    assert problem.adjacency is not None
    plan = np.asarray(assignment, dtype=np.int64).copy()
    rows = _Rows(model, plan)
    locked = np.zeros(problem.n_accounts, dtype=bool)
    if problem.locked is not None:
        locked = problem.locked >= 0

    _attach_stray_pieces(problem, plan, rows, locked)
    _move_boundary_rows(problem, plan, rows, locked)
    return plan


def _attach_stray_pieces(
    problem: RoleProblem, plan: np.ndarray, rows: _Rows, locked: np.ndarray
) -> None:
    adjacency = problem.adjacency
    assert adjacency is not None
    weight = problem.weights + 1e-9
    while True:
        labels = piece_labels(adjacency, plan)
        stray = _stray_pieces(plan, labels, weight, locked, problem.n_territories)
        movable = [(members, _targets(adjacency, plan, members)) for members in stray]
        movable = [(members, targets) for members, targets in movable if targets]
        if not movable:
            return
        members, targets = movable[0]
        source = int(plan[members[0]])
        best = min(
            targets,
            key=lambda t: (
                rows.group_violation(members, source, t),
                float(rows.cost[members, t].sum()),
                t,
            ),
        )
        rows.apply(members, source, best)
        plan[members] = best


def _targets(adjacency: sp.csr_matrix, plan: np.ndarray, members: np.ndarray) -> list[int]:
    """Return the other territories that border ``members``."""
    touched = np.setdiff1d(np.unique(adjacency[members].indices), members)
    source = plan[members[0]]
    return [int(t) for t in np.unique(plan[touched]) if t != source]


def _stray_pieces(
    plan: np.ndarray, labels: np.ndarray, weight: np.ndarray, locked: np.ndarray, n_terr: int
) -> list[np.ndarray]:
    """Return every piece that is not its territory's main piece, lightest first."""
    stray = []
    for t in range(n_terr):
        members_of_t = np.flatnonzero(plan == t)
        if len(members_of_t) == 0:
            continue
        main = _main_piece(members_of_t, labels, weight, locked)
        for piece in np.unique(labels[members_of_t]):
            members = members_of_t[labels[members_of_t] == piece]
            if piece != main and not locked[members].any():
                stray.append(members)
    stray.sort(key=lambda members: (float(weight[members].sum()), int(members[0])))
    return stray


def _main_piece(
    members: np.ndarray, labels: np.ndarray, weight: np.ndarray, locked: np.ndarray
) -> int:
    pieces, index = np.unique(labels[members], return_inverse=True)
    mass = np.bincount(index, weights=weight[members], minlength=len(pieces))
    mass = mass + 1e12 * np.bincount(index, weights=locked[members], minlength=len(pieces))
    return int(pieces[int(np.argmax(mass))])


class _Boundary:
    """A plan with what single boundary moves need: sizes and the rows that cut."""

    def __init__(self, problem: RoleProblem, plan: np.ndarray, rows: _Rows, locked: np.ndarray):
        assert problem.adjacency is not None
        self.plan, self.rows, self.locked = plan, rows, locked
        self.graph = nx.from_scipy_sparse_array(problem.adjacency)
        self.edges = problem.adjacency.tocoo()
        self.sizes = np.bincount(plan, minlength=problem.n_territories)
        self.cut = np.zeros(problem.n_accounts, dtype=bool)
        for t in range(problem.n_territories):
            _mark_cut_points(self.graph, plan, t, self.cut)

    def move(self, row: int, target: int) -> int:
        """Move ``row`` to ``target`` and return the territory it came from."""
        source = int(self.plan[row])
        self.rows.apply(np.array([row]), source, target)
        self.plan[row] = target
        self.sizes[source] -= 1
        self.sizes[target] += 1
        _mark_cut_points(self.graph, self.plan, source, self.cut)
        _mark_cut_points(self.graph, self.plan, target, self.cut)
        return source

    def candidates(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Return the movable ``(rows, targets)``, their violation gains and cost savings."""
        edges, plan = self.edges, self.plan
        source, target = plan[edges.row], plan[edges.col]
        movable = (source != target) & ~self.locked[edges.row] & ~self.cut[edges.row]
        movable &= (self.sizes[source] > 1) & (self.rows.columns[edges.row, target] >= 0)
        pairs = np.unique(np.column_stack([edges.row[movable], target[movable]]), axis=0)
        members, to = pairs[:, 0], pairs[:, 1]
        frm = plan[members]
        gain = self.rows.gains(self.rows.change(members, frm, to), len(members))
        saving = self.rows.cost[members, frm] - self.rows.cost[members, to]
        return members, to, gain, saving

    def violated(self) -> bool:
        return bool(self.rows.violation(self.rows.activity).sum() > 1e-12)


def _move_boundary_rows(
    problem: RoleProblem, plan: np.ndarray, rows: _Rows, locked: np.ndarray
) -> None:
    state = _Boundary(problem, plan, rows, locked)
    until = time.perf_counter() + TWO_STEP_SECONDS
    for _ in range(MAX_REPAIR_MOVES):
        move = _best_move(state)
        if move is None and state.violated() and time.perf_counter() < until:
            move = _two_step(state)
        if move is None:
            break
        for row, target in move:
            state.move(row, target)


def _best_move(state: _Boundary) -> list[tuple[int, int]] | None:
    """Return the next boundary move: the largest fall in violation, else the largest saving.

    Ties go to the cheaper move, then to the lowest row and territory.
    """
    members, to, gain, saving = state.candidates()
    if len(members) == 0:
        return None
    if state.violated():
        score = np.where(gain > 1e-12, gain, -np.inf)
        order = np.lexsort((to, members, -saving, -score))
    else:
        # With every row met, a move may not break one: its gain must be zero.
        threshold = 1e-9 * max(
            1.0, float(np.abs(state.rows.cost[members, state.plan[members]]).max())
        )
        score = np.where((gain >= -1e-12) & (saving > threshold), saving, -np.inf)
        order = np.lexsort((to, members, -score))
    best = order[0]
    if not np.isfinite(score[best]):
        return None
    return [(int(members[best]), int(to[best]))]


def _two_step(state: _Boundary) -> list[tuple[int, int]] | None:
    """Return two moves that together lower the violation when no single move does.

    A territory just below its band next to one exactly at its lower bound needs a row
    from there, which must then take one from a third. The first moves tried are the
    :data:`LOOKAHEAD` with the largest gains, each undone after a look at its best follow-up.
    """
    members, to, gain, _ = state.candidates()
    best: tuple[float, list[tuple[int, int]]] | None = None
    for k in np.argsort(-gain, kind="stable")[:LOOKAHEAD]:
        first = (int(members[k]), int(to[k]))
        source = state.move(*first)
        follow = _best_move(state)
        if follow is not None:
            second = follow[0]
            total = float(gain[k]) + _gain_of(state, second)
            if total > 1e-12 and (best is None or total > best[0]):
                best = (total, [first, second])
        state.move(first[0], source)
    return None if best is None else best[1]


def _gain_of(state: _Boundary, move: tuple[int, int]) -> float:
    row, target = move
    members = np.array([row])
    change = state.rows.change(members, state.plan[members], np.array([target]))
    return float(state.rows.gains(change, 1)[0])


def _mark_cut_points(graph: nx.Graph, plan: np.ndarray, territory: int, cut: np.ndarray) -> None:
    """Set ``cut`` for the rows of ``territory`` whose removal would split it in two."""
    members = np.flatnonzero(plan == territory)
    cut[members] = False
    points = list(nx.articulation_points(graph.subgraph(members.tolist())))
    cut[points] = True
