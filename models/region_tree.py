"""Walking the region tree through its materialised `path` ("/1/4/9/")."""

from __future__ import annotations

from models.org import Region


def chain_of_path(path: str) -> list[int]:
    """The ids of a region and its ancestors, top first, from its path."""
    return [int(p) for p in path.strip("/").split("/") if p]


async def region_chain(region_id: int | None) -> list[int]:
    """The region and its ancestors, top first; empty for None or an unknown region."""
    if region_id is None:
        return []
    path = await Region.filter(id=region_id).values_list("path", flat=True)
    return chain_of_path(str(path[0])) if path else []
