"""Region policy and demand categories: reading the effective values, and admins editing them."""

from __future__ import annotations

import time
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from models.access import require_admin_over
from models.db.config import announce
from models.errors import DomainError, Problems
from models.ops.region_tree import chain_of_path, region_chain
from models.ops.validate import text
from models.rules.actor import Actor
from models.rules.demand_states import Urgency
from models.rules.policy import Policy, PolicyError, clean_overrides, merge_policy
from models.tables.policy import DemandCategory, RegionPolicy

# The categories a new installation offers (name, code, working days NORMAL/URGENT/CRITICAL).
DEFAULT_CATEGORIES: tuple[tuple[str, str, int, int, int], ...] = (
    ("政策咨询", "POLICY", 5, 3, 1),
    ("融资信贷", "FINANCE", 10, 5, 3),
    ("用地用房", "LAND", 15, 10, 5),
    ("用工招聘", "LABOUR", 10, 5, 3),
    ("审批服务", "APPROVAL", 10, 5, 2),
    ("执法检查", "INSPECTION", 10, 5, 2),
    ("水电气网", "UTILITIES", 5, 3, 1),
    ("物流交通", "TRANSPORT", 10, 5, 3),
    ("科技创新", "INNOVATION", 15, 10, 5),
    ("历史遗留", "LEGACY", 20, 15, 10),
    ("其他", "OTHER", 10, 5, 3),
)
CATEGORY_COLUMNS = (
    "id",
    "name",
    "code",
    "region_id",
    "limit_normal",
    "limit_urgent",
    "limit_critical",
    "is_active",
    "sort_order",
)


async def ensure_default_categories() -> int:
    """Create the default nationwide categories that are missing; returns how many."""
    existing = set(await DemandCategory.filter(region_id=None).values_list("code", flat=True))
    created = 0
    for order, (name, code, normal, urgent, critical) in enumerate(DEFAULT_CATEGORIES):
        if code in existing:
            continue
        try:
            await DemandCategory.create(
                name=name,
                code=code,
                limit_normal=normal,
                limit_urgent=urgent,
                limit_critical=critical,
                sort_order=order,
            )
            created += 1
        except IntegrityError:
            pass  # another process created it meanwhile
    return created


def limit_for(category: DemandCategory, urgency: Urgency) -> int:
    return int(getattr(category, f"limit_{urgency.value.lower()}"))


async def load_policy(region_id: int) -> Policy:
    chain = await region_chain(region_id)
    rows = {
        r["region_id"]: r["overrides"]
        for r in await RegionPolicy.filter(region_id__in=chain).values("region_id", "overrides")
    }
    return merge_policy([rows[r] for r in chain if r in rows])


async def set_region_policy(actor: Actor, region_id: int, overrides: dict[str, Any]) -> Policy:
    """Replace a region's overrides (None or missing keys inherit from above)."""
    await require_admin_over(actor, region_id)
    try:
        cleaned = clean_overrides(overrides)
    except PolicyError as err:
        # The field as the API names it (setRegionPolicy's input).
        first, *rest = err.key.split("_")
        raise DomainError("INVALID_POLICY_VALUE", first + "".join(map(str.title, rest))) from None
    async with in_transaction():
        row = await RegionPolicy.select_for_update().get_or_none(region_id=region_id)
        if row is None:
            await RegionPolicy.create(region_id=region_id, overrides=cleaned)
        else:
            row.overrides = cleaned
            await row.save(update_fields=["overrides", "updated_at"])
    invalidate_policy_cache()
    await announce(POLICY_CHANNEL)
    return await load_policy(region_id)


def categories_for_region_q(chain: list[int]) -> Q:
    return Q(region_id=None) | Q(region_id__in=chain)


async def category_for_region(
    category_id: int, region_id: int, region_path: str | None = None
) -> DemandCategory | None:
    """An active category offered in this region (nationwide or of it or an ancestor); the
    region's path when the caller has it already."""
    chain = chain_of_path(region_path) if region_path else await region_chain(region_id)
    return await DemandCategory.filter(
        categories_for_region_q(chain), id=category_id, is_active=True
    ).first()


def _limits(problems: Problems, limits: dict[str, int | None]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in limits.items():
        if value is None:
            continue
        if not 1 <= value <= 365:
            problems.add("INVALID_LIMIT", key)
        out[key] = value
    return out


async def create_category(
    actor: Actor,
    *,
    name: str,
    code: str,
    region_id: int | None,
    limits: dict[str, int | None],
) -> DemandCategory:
    await require_admin_over(actor, region_id)
    problems = Problems()
    clean_name = text(problems, name, "name", max_len=64, required=True)
    clean_code = text(problems, code, "code", max_len=32, required=True).upper()
    values = _limits(problems, limits)
    problems.raise_if_any()
    try:
        values.update(name=clean_name, code=clean_code, region_id=region_id)
        return await DemandCategory.create(**values)
    except IntegrityError:
        raise DomainError("DUPLICATE_CODE", "code") from None


async def update_category(
    actor: Actor,
    category_id: int,
    *,
    name: str | None = None,
    is_active: bool | None = None,
    limits: dict[str, int | None],
) -> DemandCategory:
    cat = await DemandCategory.get_or_none(id=category_id)
    if cat is None:
        raise DomainError("NOT_FOUND", "id")
    await require_admin_over(actor, cat.region_id)  # type: ignore[attr-defined]
    problems = Problems()
    if name is not None:
        cat.name = text(problems, name, "name", max_len=64, required=True)
    values = _limits(problems, limits)
    problems.raise_if_any()
    for key, value in values.items():
        setattr(cat, key, value)
    if is_active is not None:
        cat.is_active = is_active
    await cat.save()
    return cat


# The list screens read each page's regions' policies on every request; admins change them
# rarely. Cached per process for POLICY_CACHE_SECONDS, and on PostgreSQL dropped at once in
# every process when an edit is announced on POLICY_CHANNEL (server.live listens).
POLICY_CACHE_SECONDS = 30.0
POLICY_CHANNEL = "desk_policy"
_policies: dict[int, tuple[float, Policy]] = {}
_generation = 0  # bumped by every invalidation: a load that raced an edit is not cached


def invalidate_policy_cache() -> None:
    global _generation
    _generation += 1
    _policies.clear()


async def load_policies(region_paths: dict[int, str]) -> dict[int, Policy]:
    """Effective policies of several regions (id → path), for list screens: from the cache, the
    rest in one query."""
    now = time.monotonic()
    found: dict[int, Policy] = {}
    missing: dict[int, str] = {}
    for rid, path in region_paths.items():
        hit = _policies.get(rid)
        if hit is not None and now - hit[0] < POLICY_CACHE_SECONDS:
            found[rid] = hit[1]
        else:
            missing[rid] = path
    if missing:
        generation = _generation
        loaded = await _load_policies(missing)
        if generation == _generation:
            _policies.update((rid, (now, policy)) for rid, policy in loaded.items())
        found.update(loaded)
    return found


async def _load_policies(region_paths: dict[int, str]) -> dict[int, Policy]:
    chains = {rid: chain_of_path(path) for rid, path in region_paths.items()}
    wanted = {r for chain in chains.values() for r in chain}
    rows = (
        {
            r["region_id"]: r["overrides"]
            for r in await RegionPolicy.filter(region_id__in=wanted).values(
                "region_id", "overrides"
            )
        }
        if wanted
        else {}
    )
    return {
        rid: merge_policy([rows[r] for r in chain if r in rows]) for rid, chain in chains.items()
    }
