"""The consistency check (`enterprise-desk check`): what the models promise about rows that
several writes keep together, verified by SQL aggregates over whole tables.

Every check is an aggregate statement (a scan or two per table, never a Python loop over
rows), grouped into families that share one scan; all of them read one snapshot (PostgreSQL:
a REPEATABLE READ READ ONLY transaction), so a server writing meanwhile cannot make a check
see half of a transaction. What is checked:

Demands and agency requests (one transaction writes the row, its timeline event and its
outbox rows, models.ops.demand_runner and agency_runner):
- every row has at least one timeline event;
- `last_event_id` is its newest event (highest id);
- its state is the newest event's `to_state`;
- `version` equals the number of its events (created at 1 with its SUBMIT event, +1 per
  transition);
- the timeline is a chain: the first event is a SUBMIT from nothing, every later one starts
  from the state the previous one reached;
- a work-order number exactly when submitted (a draft has none; models.rules.work_orders);
- demands: a pending marker (`pending`, `appeal = PENDING`) exactly when one request of that
  kind awaits a decision.

Notifications (models.ops.notify, docs/design.md section 9):
- an event has one inbox row per recipient it names, and no inbox row for anyone else;
- a notice of a transition (about a demand or an agency request, without a dedup key) has the
  timeline event of that transition at the same moment: nothing told of a change that did not
  happen;
- inbox rows and outbox rows point at rows that exist (user, event, notification, device);
- an inbox row has its outbox rows: a user with a device unchanged since before the
  notification, who did not mute its kind (and did not change preferences since), has a push
  queued for it;
- an outbox row's status agrees with its record (delivered and dead rows are finished, dead
  ones say why; pending ones are not finished).

Not checked, since the models do not promise it: that an outbox row's device still belongs to
the notification's user (a phone registered by another user moves to them, its old pushes
stay), and figures derived from dates (overdue and warning are computed, not stored)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

SAMPLE_SIZE = 5
# A device or preference changed within this long before a notification may have raced with
# the transaction that wrote it: left out of the "has its outbox rows" check.
RACE_SLACK_SECONDS = 60


@dataclass(frozen=True)
class Finding:
    """One check's result: how many rows break the promise, and the first few of their ids."""

    code: str
    subject: str  # the table whose ids `samples` are
    count: int
    samples: tuple[int, ...] = ()

    @property
    def ok(self) -> bool:
        return self.count == 0


@dataclass
class Report:
    findings: list[Finding] = field(default_factory=list)
    seconds: float = 0.0
    dialect: str = ""

    @property
    def ok(self) -> bool:
        return all(f.ok for f in self.findings)

    @property
    def problems(self) -> list[Finding]:
        return [f for f in self.findings if not f.ok]


@dataclass(frozen=True)
class Family:
    """Checks answered by one statement: `base` yields `id` and one boolean column per check."""

    subject: str
    base: str
    flags: tuple[tuple[str, str], ...]  # (check code, flag column of `base`)


def _timeline(table: str, events: str, fk: str, prefix: str) -> list[Family]:
    """The row/timeline promises of a demand or an agency request."""
    rows = Family(
        subject=table,
        base=f"""
        SELECT r.id,
          (ev.owner IS NULL) AS no_events,
          (ev.owner IS NOT NULL AND (r.last_event_id IS NULL OR r.last_event_id <> ev.last_id))
            AS last_event,
          (ev.owner IS NOT NULL AND (le.to_state IS NULL OR le.to_state <> r.state)) AS state,
          (ev.owner IS NOT NULL AND r.version <> ev.n) AS version,
          ((r.submitted_at IS NULL) <> (r.number IS NULL)) AS number
        FROM {table} r
        LEFT JOIN (SELECT {fk} AS owner, count(*) AS n, max(id) AS last_id
                   FROM {events} GROUP BY {fk}) ev ON ev.owner = r.id
        LEFT JOIN {events} le ON le.id = ev.last_id
        """,  # noqa: S608 - table names of this module, no input
        flags=(
            (f"{prefix}_NO_EVENTS", "no_events"),
            (f"{prefix}_LAST_EVENT", "last_event"),
            (f"{prefix}_STATE", "state"),
            (f"{prefix}_VERSION", "version"),
            (f"{prefix}_NUMBER", "number"),
        ),
    )
    chain = Family(
        subject=table,
        base=f"""
        SELECT DISTINCT owner AS id, (1 = 1) AS broken
        FROM (SELECT {fk} AS owner, action, from_state,
                     lag(to_state) OVER (PARTITION BY {fk} ORDER BY id) AS previous,
                     row_number() OVER (PARTITION BY {fk} ORDER BY id) AS position
              FROM {events}) e
        WHERE (position = 1 AND (action <> 'SUBMIT' OR from_state IS NOT NULL))
           OR (position > 1 AND (from_state IS NULL OR from_state <> previous))
        """,  # noqa: S608 - table names of this module, no input
        flags=((f"{prefix}_TIMELINE_CHAIN", "broken"),),
    )
    return [rows, chain]


_PENDING = Family(
    subject="demand",
    base="""
    SELECT d.id,
      (coalesce(r.waiting, 0) > 1
       OR (d.pending IS NULL AND coalesce(r.waiting, 0) > 0)
       OR (d.pending IS NOT NULL AND (r.waiting IS NULL OR r.waiting <> 1
                                      OR r.kind <> d.pending))) AS pending,
      (coalesce(r.appeals, 0) > 1
       OR ((d.appeal IS NOT NULL AND d.appeal = 'PENDING') <> (coalesce(r.appeals, 0) = 1)))
        AS appeal
    FROM demand d
    LEFT JOIN (SELECT demand_id,
                      sum(CASE WHEN kind <> 'APPEAL' THEN 1 ELSE 0 END) AS waiting,
                      min(CASE WHEN kind <> 'APPEAL' THEN kind END) AS kind,
                      sum(CASE WHEN kind = 'APPEAL' THEN 1 ELSE 0 END) AS appeals
               FROM demand_request WHERE decision = 'PENDING' GROUP BY demand_id) r
      ON r.demand_id = d.id
    """,
    flags=(("DEMAND_PENDING_REQUEST", "pending"), ("DEMAND_APPEAL_REQUEST", "appeal")),
)


def _notification_families(dialect: str) -> list[Family]:
    pg = dialect == "postgres"
    recipients_count = (
        "jsonb_array_length(e.recipients)" if pg else "json_array_length(e.recipients)"
    )
    is_recipient = (
        "e.recipients @> to_jsonb(n.user_id)"
        if pg
        else "EXISTS (SELECT 1 FROM json_each(e.recipients) j WHERE j.value = n.user_id)"
    )
    mutes = (
        "jsonb_exists(p.muted_kinds, n.kind)"
        if pg
        else "EXISTS (SELECT 1 FROM json_each(p.muted_kinds) j WHERE j.value = n.kind)"
    )

    def before(column: str) -> str:  # `column` older than the notification by the slack
        if pg:
            return f"{column} < n.created_at - interval '{RACE_SLACK_SECONDS} seconds'"
        return f"julianday({column}) < julianday(n.created_at) - {RACE_SLACK_SECONDS} / 86400.0"

    events = Family(
        subject="notification_event",
        base=f"""
        SELECT e.id,
          (coalesce(n.told, 0) <> {recipients_count}) AS inbox,
          (e.dedup_key IS NULL AND (
             (e.subject_type = 'Demand' AND NOT EXISTS (
                SELECT 1 FROM demand_event de
                WHERE de.demand_id = e.subject_id AND de.at = e.fanned_out_at))
             OR (e.subject_type = 'AgencyRequest' AND NOT EXISTS (
                SELECT 1 FROM agency_event ae
                WHERE ae.request_id = e.subject_id AND ae.at = e.fanned_out_at))))
            AS without_change
        FROM notification_event e
        LEFT JOIN (SELECT event_id, count(*) AS told FROM notification GROUP BY event_id) n
          ON n.event_id = e.id
        """,  # noqa: S608 - table names of this module, no input
        flags=(("NOTICE_INBOX", "inbox"), ("NOTICE_WITHOUT_CHANGE", "without_change")),
    )
    inbox = Family(
        subject="notification",
        base=f"""
        SELECT n.id,
          (u.id IS NULL OR e.id IS NULL OR NOT ({is_recipient})) AS orphan,
          (NOT EXISTS (SELECT 1 FROM push_message m WHERE m.notification_id = n.id)
           AND EXISTS (SELECT 1 FROM device dv
                       WHERE dv.user_id = n.user_id AND {before("dv.last_seen_at")})
           AND NOT EXISTS (SELECT 1 FROM notification_preference p
                           WHERE p.user_id = n.user_id
                             AND (NOT ({before("p.updated_at")}) OR {mutes})))
            AS outbox_missing
        FROM notification n
        LEFT JOIN app_user u ON u.id = n.user_id
        LEFT JOIN notification_event e ON e.id = n.event_id
        """,  # noqa: S608 - table names of this module, no input
        flags=(("INBOX_ORPHAN", "orphan"), ("OUTBOX_MISSING", "outbox_missing")),
    )
    outbox = Family(
        subject="push_message",
        base="""
        SELECT m.id,
          (n.id IS NULL OR (m.device_id IS NOT NULL AND dv.id IS NULL)) AS orphan,
          ((m.status = 'PENDING' AND m.finished_at IS NOT NULL)
           OR (m.status = 'DELIVERED' AND m.finished_at IS NULL)
           OR (m.status = 'DEAD' AND (m.finished_at IS NULL OR m.last_error IS NULL))
           OR m.status NOT IN ('PENDING', 'DELIVERED', 'DEAD')) AS status
        FROM push_message m
        LEFT JOIN notification n ON n.id = m.notification_id
        LEFT JOIN device dv ON dv.id = m.device_id
        """,
        flags=(("OUTBOX_ORPHAN", "orphan"), ("OUTBOX_STATUS", "status")),
    )
    return [events, inbox, outbox]


def families(dialect: str) -> list[Family]:
    return [
        *_timeline("demand", "demand_event", "demand_id", "DEMAND"),
        _PENDING,
        *_timeline("agency_request", "agency_event", "request_id", "AGENCY"),
        *_notification_families(dialect),
    ]


def codes() -> list[str]:
    """Every check's code, in the order they run."""
    return [code for f in families("postgres") for code, _ in f.flags]


def _statement(family: Family, dialect: str) -> str:
    parts = []
    for i, (_, flag) in enumerate(family.flags):
        parts.append(f"count(*) FILTER (WHERE b.{flag}) AS n{i}")
        if dialect == "postgres":
            sample = f"(array_agg(b.id ORDER BY b.id) FILTER (WHERE b.{flag}))[1:{SAMPLE_SIZE}]"
        else:
            sample = f"group_concat(b.id) FILTER (WHERE b.{flag})"
        parts.append(f"{sample} AS s{i}")
    return f"SELECT {', '.join(parts)} FROM ({family.base}) b"  # noqa: S608 - constant SQL


def _samples(raw: object) -> tuple[int, ...]:
    if raw is None:
        return ()
    ids = [int(x) for x in raw.split(",")] if isinstance(raw, str) else [int(x) for x in raw]  # type: ignore[attr-defined]
    return tuple(sorted(ids)[:SAMPLE_SIZE])


async def _run_family(conn: BaseDBAsyncClient, family: Family, dialect: str) -> list[Finding]:
    rows = await conn.execute_query_dict(_statement(family, dialect))
    row = rows[0]
    return [
        Finding(code, family.subject, int(row[f"n{i}"] or 0), _samples(row[f"s{i}"]))
        for i, (code, _) in enumerate(family.flags)
    ]


async def check_consistency() -> Report:
    """Run every check on one snapshot of the default connection's database."""
    started = time.monotonic()
    report = Report()
    async with in_transaction() as conn:
        dialect = conn.capabilities.dialect
        report.dialect = dialect
        if dialect == "postgres":
            await conn.execute_script("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        for family in families(dialect):
            report.findings.extend(await _run_family(conn, family, dialect))
    report.seconds = time.monotonic() - started
    return report
