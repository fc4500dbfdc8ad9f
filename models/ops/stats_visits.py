"""The supervisor's visit figures (docs/design.md section 8.5: coverage by leader and by region,
visits against the cadence, trusted-location and photo shares, demands per visit), computed in
the database: two SQL statements whatever the number of visits, never a visit row loaded into
Python.

Definitions (the GraphQL descriptions in schema.types.stats_visits say the same):
- The period is whole Asia/Shanghai days; a visit falls in it by the moment it took place
  (`visit.at`, which a logged visit sets to its `visited_at`). Only COMPLETED visits count
  (PLANNED and CANCELLED ones never do).
- Assignments (包联, LeaderAssignment) count when active at some time in the period
  (start_date <= last day, end_date empty or >= first day); a leader assigned to the same
  enterprise more than once counts it once, from the earliest start to the latest end.
- Coverage (包联覆盖率): an assigned enterprise is visited when a leader assigned to it took part
  (lead or accompanying) in a completed visit of it in the period with a TRUSTED check-in; a
  DOUBTFUL or UNVERIFIED one (video, phone, no check-in, far away, mock location) is left out,
  as docs/design.md section 6.2 says and the cadres' own visitCoverage counts. Visits by people not
  assigned to the enterprise do not count, so the regions' figures add up to the total.
- Cadence: the scope's region policy `visit_cadence` (one visit per MONTH, QUARTER, HALF_YEAR or
  YEAR per assigned enterprise). Each leader-enterprise assignment owes one visit per cadence
  period that its active days within the period reach into; a period is kept when the leader
  made a coverage-counting visit of the enterprise in it (kept <= expected). Actual visits: the
  completed visits of the enterprise in the period the leader took part in, whatever the
  check-in. Coverage and actual visits take any visit in the period, also on days before an
  assignment starting mid-period began (the cadres' visitCoverage does the same).
- By region: grouped like regionRanking (models.ops.stats_regions); an enterprise counts for the group its
  region lies in, visited as in the total, so the groups add up to the total.
- Scope: assignments and coverage by the enterprise's region (its current one); the visit
  figures (trusted location, photo, demands per visit) by the visit's region (its enterprise's
  region when the visit was made). Department, category, source and service point do not apply
  to visits: accepted and ignored.

Placeholders are written in the statement's text order (SQLite binds `?` positionally)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from models.ops.stats_demand_sql import count_if, day_of, moment
from models.ops.stats_demands import Rate, policy_of_scope
from models.ops.stats_regions import Roots, region_groups, region_roots
from models.ops.stats_scope import Sql, StatsFilter, StatsScope, side_by_side, stats_scope
from models.rules.actor import Actor
from models.rules.demand_states import DemandState
from models.rules.geo import LocationTrust
from models.rules.periods import period_months, periods_touched
from models.rules.visit_states import PeriodKind, VisitStatus

COMPLETED = VisitStatus.COMPLETED.value
TRUSTED = LocationTrust.TRUSTED.value


@dataclass(frozen=True, slots=True)
class LeaderVisits:
    leader_id: int
    name: str
    coverage: Rate  # assigned enterprises visited ÷ assigned enterprises
    expected_visits: int
    visits: int
    cadence_kept: Rate  # cadence periods kept ÷ expected visits


@dataclass(frozen=True, slots=True)
class RegionCoverage:
    region_id: int
    name: str
    coverage: Rate


@dataclass(frozen=True, slots=True)
class VisitStats:
    start: date
    end: date
    cadence: PeriodKind
    cadence_periods: int  # cadence periods the whole period reaches into
    coverage: Rate
    by_leader: list[LeaderVisits]
    by_region: list[RegionCoverage]
    expected_visits: int
    visits: int
    cadence_kept: Rate
    completed: int
    trusted_location: Rate
    with_photo: Rate
    demands_per_visit: Rate


# --------------------------------------------------------------------------- SQL pieces


def _period_index(sql: Sql, day: str, months: int) -> str:
    """The SQL form of models.rules.periods.period_index for a date expression."""
    if sql.postgres:
        year, month = f"EXTRACT(YEAR FROM {day})::int", f"EXTRACT(MONTH FROM {day})::int"
    else:
        year = f"CAST(strftime('%Y', {day}) AS INTEGER)"
        month = f"CAST(strftime('%m', {day}) AS INTEGER)"
    return f"(({year} * 12 + {month} - 1) / {int(months)})"


def _in_scope(sql: Sql, scope: StatsScope) -> str:
    """The join keeping the visits of enterprises in the scope's regions (none: every region).
    Matching them against the assignments instead (`IN (SELECT enterprise_id FROM a)`) made
    PostgreSQL guess 200 enterprises and look the visits up one enterprise at a time: a
    quarter of 100,000 assignments took 0.3 s in that step alone."""
    if scope.region_paths is None:
        return ""
    return f"JOIN enterprise ve ON ve.id = v.enterprise_id AND {sql.region_clause(scope, 've.region_id')}"


def _coverage_statement(sql: Sql, scope: StatsScope, months: int, roots: Roots) -> str:
    """Rows of (kind, id, name, assigned, visited, expected, visits, kept): one 'T' row for the
    whole scope (coverage over distinct enterprises, cadence summed over the leaders), one 'L'
    row per assigned leader, one 'R' row per region group."""
    flt = scope.filter
    p = sql.p
    k_visit = _period_index(sql, day_of(sql, "v.at"), months)
    # Identifiers and constants are ours; every value goes through a placeholder, in text order.
    return f"""WITH a AS (
      SELECT la.leader_id, la.enterprise_id, e.region_id,
             MIN(CASE WHEN la.start_date > {p(flt.start)} THEN la.start_date
                      ELSE {p(flt.start)} END) AS s0,
             MAX(CASE WHEN la.end_date IS NULL OR la.end_date > {p(flt.end)} THEN {p(flt.end)}
                      ELSE la.end_date END) AS s1
      FROM leader_assignment la JOIN enterprise e ON e.id = la.enterprise_id
      WHERE la.start_date <= {p(flt.end)}
        AND (la.end_date IS NULL OR la.end_date >= {p(flt.start)})
        AND {sql.region_clause(scope, "e.region_id")}
      GROUP BY la.leader_id, la.enterprise_id, e.region_id
    ),
    ak AS (
      SELECT leader_id, enterprise_id, region_id,
             {_period_index(sql, "s0", months)} AS k0, {_period_index(sql, "s1", months)} AS k1
      FROM a
    ),
    vk AS (
      SELECT vp.user_id, v.enterprise_id, {k_visit} AS k, COUNT(*) AS n,
             MAX(CASE WHEN v.location_trust = '{TRUSTED}' THEN 1 ELSE 0 END) AS trusted
      FROM visit v JOIN visit_participant vp ON vp.visit_id = v.id {_in_scope(sql, scope)}
      WHERE v.status = '{COMPLETED}'
        AND v.at >= {moment(sql, scope.start_at)} AND v.at < {moment(sql, scope.end_at)}
      GROUP BY vp.user_id, v.enterprise_id, {k_visit}
    ),
    pair AS (
      SELECT ak.leader_id, ak.enterprise_id, ak.region_id, ak.k1 - ak.k0 + 1 AS expected,
             COALESCE(SUM(vk.n), 0) AS visits, MAX(COALESCE(vk.trusted, 0)) AS hit,
             {count_if("vk.trusted = 1 AND vk.k BETWEEN ak.k0 AND ak.k1")} AS kept
      FROM ak LEFT JOIN vk ON vk.user_id = ak.leader_id AND vk.enterprise_id = ak.enterprise_id
      GROUP BY ak.leader_id, ak.enterprise_id, ak.region_id, ak.k0, ak.k1
    ),
    ent AS (
      SELECT enterprise_id, region_id, MAX(hit) AS hit FROM pair
      GROUP BY enterprise_id, region_id
    ),
    er AS (
      SELECT region_id, COUNT(*) AS assigned, SUM(hit) AS visited FROM ent GROUP BY region_id
    ),
    rg AS (
      SELECT er.assigned, er.visited, m.gid
      FROM er JOIN {region_groups(sql, scope, roots)} m ON m.rid = er.region_id
    )
    SELECT 'T' AS kind, 0 AS id, '' AS name, COUNT(*) AS assigned,
           COALESCE(SUM(hit), 0) AS visited,
           (SELECT COALESCE(SUM(expected), 0) FROM pair) AS expected,
           (SELECT COALESCE(SUM(visits), 0) FROM pair) AS visits,
           (SELECT COALESCE(SUM(kept), 0) FROM pair) AS kept
    FROM ent
    UNION ALL
    SELECT 'L', pair.leader_id, u.display_name, COUNT(*), SUM(pair.hit), SUM(pair.expected),
           SUM(pair.visits), SUM(pair.kept)
    FROM pair JOIN app_user u ON u.id = pair.leader_id
    GROUP BY pair.leader_id, u.display_name
    UNION ALL
    SELECT 'R', g.id, g.name, SUM(rg.assigned), SUM(rg.visited), 0, 0, 0
    FROM rg JOIN region g ON g.id = rg.gid
    GROUP BY g.id, g.name"""  # noqa: S608


def _visit_statement(sql: Sql, scope: StatsScope) -> str:
    """One row over the completed visits of the scope in the period (by the visit's region)."""
    return f"""WITH c AS (
      SELECT v.location_trust,
             CASE WHEN EXISTS (SELECT 1 FROM attachment f WHERE f.visit_id = v.id)
                  THEN 1 ELSE 0 END AS photo,
             (SELECT COUNT(*) FROM demand d
              WHERE d.visit_id = v.id AND d.state <> '{DemandState.DRAFT.value}') AS demands
      FROM visit v
      WHERE v.status = '{COMPLETED}'
        AND v.at >= {moment(sql, scope.start_at)} AND v.at < {moment(sql, scope.end_at)}
        AND {sql.region_clause(scope, "v.region_id")}
    )
    SELECT COUNT(*) AS completed, {count_if(f"location_trust = '{TRUSTED}'")} AS trusted,
           COALESCE(SUM(photo), 0) AS photo, COALESCE(SUM(demands), 0) AS demands
    FROM c"""  # noqa: S608


# --------------------------------------------------------------------------- the figures


def _int(v: Any) -> int:
    return int(v or 0)


def _order(rate: Rate, name: str, pk: int) -> tuple[float, str, int]:
    """Lowest rate first (nothing assigned last), then by name."""
    return (2.0 if rate.ratio is None else rate.ratio, name, pk)


async def visit_stats(actor: Actor | None, flt: StatsFilter) -> VisitStats:
    scope = await stats_scope(actor, flt)
    policy = await policy_of_scope(scope)
    cadence = PeriodKind(policy.visit_cadence)

    roots = await region_roots(scope)
    coverage_sql, visit_sql = Sql(), Sql()
    rows, visit_rows = await side_by_side(
        coverage_sql.fetch(_coverage_statement(coverage_sql, scope, period_months(cadence), roots)),
        visit_sql.fetch(_visit_statement(visit_sql, scope)),
    )
    v = visit_rows[0]

    total: dict[str, Any] = {}
    by_leader: list[LeaderVisits] = []
    by_region: list[RegionCoverage] = []
    for r in rows:
        if r["kind"] == "T":
            total = r
        elif r["kind"] == "L":
            by_leader.append(
                LeaderVisits(
                    leader_id=int(r["id"]),
                    name=str(r["name"]),
                    coverage=Rate(_int(r["visited"]), _int(r["assigned"])),
                    expected_visits=_int(r["expected"]),
                    visits=_int(r["visits"]),
                    cadence_kept=Rate(_int(r["kept"]), _int(r["expected"])),
                )
            )
        else:
            by_region.append(
                RegionCoverage(
                    region_id=int(r["id"]),
                    name=str(r["name"]),
                    coverage=Rate(_int(r["visited"]), _int(r["assigned"])),
                )
            )
    completed = _int(v["completed"])
    return VisitStats(
        start=flt.start,
        end=flt.end,
        cadence=cadence,
        cadence_periods=periods_touched(cadence, flt.start, flt.end),
        coverage=Rate(_int(total.get("visited")), _int(total.get("assigned"))),
        by_leader=sorted(by_leader, key=lambda x: _order(x.coverage, x.name, x.leader_id)),
        by_region=sorted(by_region, key=lambda x: _order(x.coverage, x.name, x.region_id)),
        expected_visits=_int(total.get("expected")),
        visits=_int(total.get("visits")),
        cadence_kept=Rate(_int(total.get("kept")), _int(total.get("expected"))),
        completed=completed,
        trusted_location=Rate(_int(v["trusted"]), completed),
        with_photo=Rate(_int(v["photo"]), completed),
        demands_per_visit=Rate(_int(v["demands"]), completed),
    )
