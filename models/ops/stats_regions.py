"""The regions a scope's figures are split into (regionRanking, visitStats by region): with one
root region, its direct children (each standing for its subtree) plus the root itself for what
lies at its own level (县本级); with several roots, the roots. The roots are the filter's
region, the asker's outermost regions, or for a system-wide asker the top-level regions."""

from __future__ import annotations

from models.ops.region_tree import chain_of_path
from models.ops.stats_scope import Sql, StatsScope
from models.tables.org import Region

Roots = list[tuple[int, str]]  # (region id, path)


async def region_roots(scope: StatsScope) -> Roots:
    """From the scope's paths without a query; a system-wide scope asks for the top regions."""
    if scope.region_paths is not None:
        return sorted((chain_of_path(p)[-1], p) for p in scope.region_paths)
    rows = await Region.filter(parent_id=None).values_list("id", "path")
    return sorted((int(i), str(p)) for i, p in rows)


def region_groups(sql: Sql, scope: StatsScope, roots: Roots) -> str:
    """A subquery of (rid, gid): each region of the scope and the group it counts for,
    computed over the region table (small) so the caller joins it once to its rows."""
    if len(roots) == 1:
        root_id, path = roots[0]
        n = len(path)
        if sql.postgres:
            child = f"NULLIF(split_part(substr(r.path, {n + 1}), '/', 1), '')::int"
        else:
            rest = f"substr(r.path, {n + 1})"
            child = f"CAST(NULLIF(substr({rest}, 1, instr({rest}, '/') - 1), '') AS INTEGER)"
        gid = f"COALESCE({child}, {root_id})"
    else:
        cases = " ".join(f"WHEN r.path LIKE {sql.p(p + '%')} THEN {i}" for i, p in roots)
        gid = f"CASE {cases} END"
    # The scope's regions by id: the planner then expects the right number of regions and
    # joins with one scan of the rows, not one index scan per region.
    where = sql.region_clause(scope, "r.id")
    return f"(SELECT r.id AS rid, {gid} AS gid FROM region r WHERE {where})"  # noqa: S608
