"""Maps of a plan: ``map.png``, the offline ``map.html`` and the moved-accounts ``moves.png``.

The functions take plain data (:class:`RoleMap` per role, or a table of accounts with
their owner before and after) and never import the planning pipeline.
"""

from solver.maps.data import RoleMap
from solver.maps.moves import write_moves_png
from solver.maps.static import write_map_png
from solver.maps.web import write_map_html

__all__ = ["RoleMap", "write_map_html", "write_map_png", "write_moves_png"]
