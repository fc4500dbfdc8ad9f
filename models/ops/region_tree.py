"""Walking the region tree through its materialised `path` ("/1/4/9/")."""

from __future__ import annotations

from tortoise.expressions import Subquery

from models.tables.org import Region


def chain_of_path(path: str) -> list[int]:
    """The ids of a region and its ancestors, top first, from its path."""
    return [int(p) for p in path.strip("/").split("/") if p]


async def region_path(region_id: int | None) -> str:
    """A region's path; empty for None or an unknown region."""
    if region_id is None:
        return ""
    path = await Region.filter(id=region_id).values_list("path", flat=True)
    return str(path[0]) if path else ""


async def region_chain(region_id: int | None) -> list[int]:
    """The region and its ancestors, top first; empty for None or an unknown region."""
    return chain_of_path(await region_path(region_id))


async def region_subtree(region_id: int | None) -> Subquery:
    """Ids of the region and every region below it (none for an unknown region)."""
    path = await region_path(region_id)
    return Subquery(Region.filter(path__startswith=path or "~").values("id"))
