"""Ranking departments and regions (docs/design.md section 8.3): the demand figures per group
from the same two grouped statements as the scope's figures, and a composite score whose weights are
the region policy's `ranking_weights`.

score = 100 × Σ weight × ratio ÷ Σ weight, over the weighted rates that have a denominator
(onTime: on-time rate, satisfaction: satisfaction rate without the ratings an upheld appeal
excluded, response: response rate, closure: closure rate); a group none of whose weighted rates has a denominator has no score and no rank.
Groups are ordered by score, best first (equal scores share a rank: 1, 1, 3), then by name."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from models.ops.stats_demand_sql import Fine, Grouping
from models.ops.stats_demands import (
    DemandStats,
    Rate,
    grouped_demand_stats,
    policy_of_scope,
)
from models.ops.stats_regions import Roots, region_groups, region_roots
from models.ops.stats_scope import Sql, StatsFilter, StatsScope, stats_scope
from models.rules.actor import Actor
from models.tables.org import Department, Region


@dataclass(frozen=True, slots=True)
class RankedGroup:
    kind: str  # "Department" or "Region"
    id: int
    name: str
    rank: int | None
    score: float | None
    figures: DemandStats


def _rates(f: DemandStats) -> dict[str, Rate]:
    return {
        "onTime": f.on_time,
        "satisfaction": f.ranked_satisfaction,
        "response": f.response_rate,
        "closure": f.closure,
    }


def composite_score(figures: DemandStats, weights: dict[str, float]) -> float | None:
    rates = _rates(figures)
    parts = [
        (w, rates[k].ratio) for k, w in weights.items() if w > 0 and rates[k].ratio is not None
    ]
    total = sum(w for w, _ in parts)
    if not parts or total == 0:
        return None
    return round(100 * sum(w * (r or 0.0) for w, r in parts) / total, 2)


def rank(
    kind: str, names: dict[int, str], groups: dict[int, DemandStats], weights: dict[str, float]
) -> list[RankedGroup]:
    scored = [(g, names.get(g, ""), composite_score(f, weights), f) for g, f in groups.items()]
    scored.sort(key=lambda t: (t[2] is None, -(t[2] or 0.0), t[1], t[0]))
    out: list[RankedGroup] = []
    for i, (g, name, score, f) in enumerate(scored):
        same = out and score is not None and out[-1].score == score
        place = (out[-1].rank if same else i + 1) if score is not None else None
        out.append(RankedGroup(kind, g, name, place, score, f))
    return out


DEPARTMENTS = Grouping(key="d.department_id", deadline_key="d.department_id")


async def department_ranking(actor: Actor | None, flt: StatsFilter) -> list[RankedGroup]:
    return await departments_ranked(await stats_scope(actor, flt))


async def departments_ranked(scope: StatsScope) -> list[RankedGroup]:
    """The lead departments (主办) of the scope's demands; demands not yet dispatched to one
    are left out."""
    policy = await policy_of_scope(scope)
    groups = await grouped_demand_stats(scope, policy, DEPARTMENTS)
    groups = {int(g): f for g, f in groups.items() if g is not None}
    names = dict(await Department.filter(id__in=list(groups)).values_list("id", "name"))
    return rank("Department", names, groups, policy.ranking_weights)


def _region_grouping(scope: StatsScope, roots: Roots) -> Grouping:
    """A demand counts for the region group (models.ops.stats_regions) its region lies in."""

    def join_on(column: str) -> Callable[[Sql], str]:
        return lambda sql: f"JOIN {region_groups(sql, scope, roots)} rg ON rg.rid = {column}"

    # Counted per region first, then per group over those counts: no join per demand.
    fine = Fine("d.region_id", "rg.gid", "d.region_id", "rg.gid", join=join_on("k.g"))
    return Grouping(key="rg.gid", deadline_key="rg.gid", join=join_on("d.region_id"), fine=fine)


async def region_ranking(actor: Actor | None, flt: StatsFilter) -> list[RankedGroup]:
    """The regions directly below the scope's region (towns of a county, counties of a city);
    the scope's own region stands for the demands made at its own level."""
    scope = await stats_scope(actor, flt)
    policy = await policy_of_scope(scope)
    roots = await region_roots(scope)
    if not roots:
        return []
    groups = await grouped_demand_stats(scope, policy, _region_grouping(scope, roots))
    groups = {int(g): f for g, f in groups.items() if g is not None}
    names = dict(await Region.filter(id__in=list(groups)).values_list("id", "name"))
    return rank("Region", names, groups, policy.ranking_weights)


def ranking_row(g: RankedGroup) -> dict[str, Any]:
    """A ranked group as an export row (models.ops.export_columns.DEPARTMENT_RANKING)."""
    f = g.figures
    row: dict[str, Any] = {
        "rank": g.rank,
        "name": g.name,
        "score": g.score,
        "submitted": f.submitted,
        "overdue_now": f.overdue_now,
        "handling_median": f.handling.median_working_days,
        "handling_mean": f.handling.mean_working_days,
    }
    for key, rate in _rates(f).items():
        name = {"onTime": "on_time"}.get(key, key)
        row[f"{name}_n"] = rate.numerator
        row[f"{name}_d"] = rate.denominator
        row[f"{name}_pct"] = None if rate.ratio is None else round(rate.ratio * 100, 2)
    return row
