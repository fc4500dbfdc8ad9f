"""Timelines for the large synthetic demo (models.demo.scale): pure Python, no database.

Each demand's story is told event by event in time order, the way the real operations would
have written it (models.ops.demands): every event carries the column changes its operation makes,
so applying the events in order gives the demand row. Stories run past the reference moment
END; whatever would happen after END is cut off, which leaves the recent demands open in the
state they had reached, as in a live database.

Working-day arithmetic goes through the real rules (compute_deadlines, working_days_paused) on
the national calendar, memoised by their arguments: a million demands need only a few thousand
distinct calls."""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any

from models.demo.demands import BAD_COMMENTS, GOOD_COMMENTS, RESUME_NOTES, SUSPEND_REASONS, TOPICS
from models.demo.demands import END as DEMO_END
from models.rules.deadlines import Deadlines, compute_deadlines, working_days_paused
from models.rules.demand_states import (
    BAD_RATINGS,
    ClosureKind,
    DemandSource,
    DemandState,
    PendingKind,
    RectificationState,
    RejectReason,
    ReplyOutcome,
    RequestDecision,
    Satisfaction,
    Urgency,
)
from models.rules.policy import Policy
from models.rules.workdays import WorkCalendar

S = DemandState
END = DEMO_END  # 2026-11-20 18:00 Asia/Shanghai: nothing happens after it
END_TS = int(END.timestamp())
HISTORY_DAYS = 548  # about 18 months of demands before END
_TZ_OFFSET = 8 * 3600  # Asia/Shanghai has had no daylight saving since 1991
_EPOCH_ORD = date(1970, 1, 1).toordinal()
_POLICY = Policy()  # the demo county overrides only the work-order prefix

# The columns written, in the order of the demand table's COPY / INSERT.
DEMAND_COLUMNS: tuple[str, ...] = (
    "id", "source", "title", "description", "urgency", "state", "visit_id", "submitted_at",
    "dispatched_at", "claimed_at", "limit_days", "deadline", "extension_days", "suspended_days",
    "suspended_seconds", "suspended_at", "effective_deadline", "warning_date",
    "deadline_confirmed", "reply_outcome", "reply_text", "replied_at", "contact_attempts",
    "rating", "rating_comment", "rated_at", "rating_excluded", "appeal", "rectification_state",
    "rectification_deadline", "rectified_at", "closed_at", "closure", "reject_reason",
    "reopen_count", "return_count", "extension_count", "escalation_level", "pending", "version",
    "created_at", "category_id", "department_id", "enterprise_id", "handler_id",
    "merged_into_id", "region_id", "submitted_by_id", "last_event_id",
    "response_working_days", "response_seconds", "handling_working_days", "handling_seconds",
)  # fmt: skip
EVENT_COLUMNS: tuple[str, ...] = (
    "id",
    "demand_id",
    "action",
    "actor_id",
    "at",
    "from_state",
    "to_state",
    "note",
    "data",
)
REQUEST_COLUMNS: tuple[str, ...] = (
    "id", "demand_id", "kind", "decision", "days", "reason", "requested_by_id", "requested_at",
    "decided_by_id", "decided_at", "decision_note",
)  # fmt: skip
_DATETIME_COLUMNS = frozenset(c for c in DEMAND_COLUMNS if c.endswith("_at"))

_RATINGS = (
    (Satisfaction.VERY_SATISFIED, 46),
    (Satisfaction.SATISFIED, 38),
    (Satisfaction.BASIC, 10),
    (Satisfaction.DISSATISFIED, 4.5),
    (Satisfaction.VERY_DISSATISFIED, 1.5),
)
_SOURCES = (
    (DemandSource.APP, 40),
    (DemandSource.HOTLINE_12345, 25),
    (DemandSource.VISIT, 20),
    (DemandSource.SERVICE_POINT, 10),
    (DemandSource.OTHER, 5),
)
_URGENCIES = ((Urgency.NORMAL, 82), (Urgency.URGENT, 15), (Urgency.CRITICAL, 3))
# How often each default category comes up.
_CATEGORY_WEIGHTS = {
    "POLICY": 22, "FINANCE": 10, "LAND": 8, "LABOUR": 12, "APPROVAL": 14, "INSPECTION": 6,
    "UTILITIES": 9, "TRANSPORT": 5, "INNOVATION": 5, "LEGACY": 3, "OTHER": 6,
}  # fmt: skip
_REJECT_NOTES = {
    RejectReason.NOT_IN_SCOPE: "该事项属司法程序范围，不属于本平台受理范围。",
    RejectReason.DUPLICATE: "与企业此前提交的诉求重复。",
    RejectReason.INSUFFICIENT_INFO: "诉求内容不完整，多次联系企业未能补充。",
    RejectReason.OTHER: "企业来电表示问题已自行解决，不再需要办理。",
}
_EXTENSION_REASONS = ("需多部门联合会商，申请延期。", "涉及上级部门审批，需等待批复。")
_RETURN_REASONS = ("该事项不属于本部门职责，建议改派。", "经核实应由属地镇街办理。")
_WITHDRAW_REASONS = ("问题已自行解决。", "企业决定暂缓办理。", "")
_APPEAL_REASONS = ("已按政策规定办理，企业诉求超出政策范围。",)


def _weighted(pairs: Sequence[tuple[Any, float]]) -> tuple[list[Any], list[float]]:
    items = [p[0] for p in pairs]
    cum: list[float] = []
    total = 0.0
    for _, w in pairs:
        total += w
        cum.append(total)
    return items, cum


@dataclass(frozen=True, slots=True)
class Refs:
    """The ids a story needs, read from the loaded demo county."""

    categories: dict[str, tuple[int, int, int, int]]  # code → id, limits NORMAL/URGENT/CRITICAL
    departments: dict[str, list[tuple[int, int, int]]]  # code → [(department, handler, lead)]
    dispatcher: int
    supervisor: int
    visit_submitters: tuple[int, ...]  # cadres and the county leader
    agents: tuple[int, ...]
    # (id, region id, contact user id; None when the enterprise has no app account)
    enterprises: Sequence[tuple[int, int, int | None]]
    # With synthetic staff (`--users`): each department's handlers, the cadre assigned to each
    # enterprise, and from when on inbox rows are written (POSIX time; None: no inbox).
    handler_pools: dict[int, tuple[int, ...]] = field(default_factory=dict)
    cadre_of: dict[int, int] = field(default_factory=dict)
    notices_from: int | None = None


class Calendar:
    """Working days as integers (date ordinals) over the whole history, precomputed once."""

    def __init__(self, cal: WorkCalendar, first: date, last: date) -> None:
        self.cal = cal
        self.first = first.toordinal()
        self.last = last.toordinal()
        self.workdays: list[int] = []
        self.count: list[int] = []  # working days in [first, day], by day - first
        for o in range(self.first, self.last + 1):
            if cal.is_workday(date.fromordinal(o)):
                self.workdays.append(o)
            self.count.append(len(self.workdays))
        self._deadlines = lru_cache(maxsize=None)(self._compute)
        self._paused = lru_cache(maxsize=None)(self._paused_days)

    def is_workday(self, day: int) -> bool:
        i = day - self.first
        return self.count[i] != (self.count[i - 1] if i else 0)

    def add(self, day: int, n: int) -> int:
        """The n-th working day after `day` (n=0: the day itself)."""
        return day if n == 0 else self.workdays[self.count[day - self.first] + n - 1]

    def between(self, start: int, end: int) -> int:
        """Working days d with start < d <= end (end >= start)."""
        return self.count[end - self.first] - self.count[start - self.first]

    def deadlines(self, day: int, limit: int, ext: int = 0, susp: int = 0) -> Deadlines:
        return self._deadlines(day, limit, ext, susp)

    def paused(self, start: int, end: int) -> int:
        return self._paused(start, end)

    def _compute(self, day: int, limit: int, ext: int, susp: int) -> Deadlines:
        return compute_deadlines(
            self.cal,
            date.fromordinal(day),
            limit,
            extension_days=ext,
            suspended_days=susp,
            warning_lead=_POLICY.warning_lead_days,
        )

    def _paused_days(self, start: int, end: int) -> int:
        return working_days_paused(self.cal, date.fromordinal(start), date.fromordinal(end))


def local_day(ts: int) -> int:
    """The Asia/Shanghai date (ordinal) of a POSIX time."""
    return (ts + _TZ_OFFSET) // 86400 + _EPOCH_ORD


def day_ts(day: int) -> int:
    """POSIX time of local midnight starting the day."""
    return (day - _EPOCH_ORD) * 86400 - _TZ_OFFSET


def moment(ts: int) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


@dataclass(slots=True)
class _Event:
    at: int
    action: str
    actor: int | None
    to_state: DemandState
    fields: dict[str, Any]
    note: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    # ("new", kind, days, reason) or ("decide", kind, decision, note)
    request: tuple[Any, ...] | None = None


@dataclass(slots=True)
class Chunk:
    demands: list[tuple[Any, ...]]
    events: list[tuple[Any, ...]]
    requests: list[tuple[Any, ...]]
    # Inbox rows to write, ids not yet given: (kind, demand id, POSIX time, recipients, data).
    notices: list[tuple[str, int, int, list[int], dict[str, Any]]] = field(default_factory=list)


_TOPICS_BY_CATEGORY: dict[str, list[Any]] = {}
for _t in TOPICS:
    _TOPICS_BY_CATEGORY.setdefault(_t.category, []).append(_t)


class StoryTeller:
    """Tells the stories of demands number `first`.. with their ids; one RNG per chunk, so a
    chunk's content depends only on the seed and its number."""

    def __init__(self, refs: Refs, cal: Calendar) -> None:
        self.refs = refs
        self.cal = cal
        self.rng = random.Random()
        self._sources = _weighted(_SOURCES)
        self._urgencies = _weighted(_URGENCIES)
        self.ratings = _weighted(_RATINGS)
        codes = [c for c in _CATEGORY_WEIGHTS if c in refs.categories]
        self._categories = _weighted([(c, _CATEGORY_WEIGHTS[c]) for c in codes])
        self.start_day = local_day(END_TS) - HISTORY_DAYS
        self.last_by_enterprise: dict[int, tuple[int, int]] = {}

    # ------------------------------------------------------------------ helpers

    def pick(self, table: tuple[list[Any], list[float]]) -> Any:
        items, cum = table
        return self.rng.choices(items, cum_weights=cum)[0]

    def work_moment(self, day: int) -> int:
        """A moment of office hours (08:30–17:30) on the day."""
        return day_ts(day) + self.rng.randrange(30600, 63000)

    def later(self, ts: int, low: int, high: int) -> int:
        """Some office-hours moment `low..high` working days after ts (0: later the same
        working day when there is time left)."""
        n = self.rng.randint(low, high)
        day = local_day(ts)
        if n == 0:
            left = day_ts(day) + 63000 - ts
            if left > 1200 and self.cal.is_workday(day):
                return ts + self.rng.randrange(600, min(left, 4 * 3600))
            n = 1
        return self.work_moment(self.cal.add(day, n))

    # ------------------------------------------------------------------ one demand

    def tell_chunk(self, seed: int, first_id: int, count: int, event_id: int,
                   request_id: int) -> Chunk:  # fmt: skip
        self.rng.seed(seed)
        chunk = Chunk([], [], [])
        for i in range(count):
            event_id, request_id = self._demand(chunk, first_id + i, event_id, request_id)
        return chunk

    def _demand(self, chunk: Chunk, demand_id: int, event_id: int, request_id: int
                ) -> tuple[int, int]:  # fmt: skip
        rng, refs = self.rng, self.refs
        enterprise_id, region_id, contact_user = refs.enterprises[
            rng.randrange(len(refs.enterprises))
        ]
        source: DemandSource = self.pick(self._sources)
        if source is DemandSource.APP and contact_user is None:
            source = DemandSource.HOTLINE_12345  # no app account: the enterprise phoned in
        if source is DemandSource.APP:
            submitter = contact_user
        elif source is DemandSource.VISIT:
            submitter = rng.choice(refs.visit_submitters)
            submitter = refs.cadre_of.get(enterprise_id, submitter)
        elif source is DemandSource.SERVICE_POINT:
            submitter = rng.choice(refs.agents)
        else:
            submitter = refs.dispatcher
        code: str = self.pick(self._categories)
        category_id = refs.categories[code][0]
        topics = _TOPICS_BY_CATEGORY.get(code) or _TOPICS_BY_CATEGORY["APPROVAL"]
        topic = rng.choice(topics)
        urgency: Urgency = self.pick(self._urgencies)
        # Linearly more demands towards the present (the platform grows).
        offset = int(HISTORY_DAYS * (rng.random() ** 0.75))
        day = self.start_day + offset
        if source is DemandSource.APP:  # the app is used evenings and weekends too
            t = day_ts(day) + rng.randrange(7 * 3600, 23 * 3600)
        else:
            t = self.work_moment(day if self.cal.is_workday(day) else self.cal.add(day, 1))

        row: dict[str, Any] = {
            "source": source.value, "title": topic.title, "description": topic.description,
            "urgency": urgency.value, "state": S.SUBMITTED, "visit_id": None,
            "submitted_at": t, "dispatched_at": None, "claimed_at": None, "limit_days": None,
            "deadline": None, "extension_days": 0, "suspended_days": 0, "suspended_seconds": 0,
            "suspended_at": None, "effective_deadline": None, "warning_date": None,
            "deadline_confirmed": True, "reply_outcome": None, "reply_text": None,
            "replied_at": None, "contact_attempts": 0, "rating": None, "rating_comment": None,
            "rated_at": None, "rating_excluded": False, "appeal": None,
            "rectification_state": None, "rectification_deadline": None, "rectified_at": None,
            "closed_at": None, "closure": None, "reject_reason": None, "reopen_count": 0,
            "return_count": 0, "extension_count": 0, "escalation_level": 0, "pending": None,
            "created_at": t, "category_id": category_id, "department_id": None,
            "enterprise_id": enterprise_id, "handler_id": None, "merged_into_id": None,
            "region_id": region_id, "submitted_by_id": submitter,
        }  # fmt: skip
        story = _Story(self, row, contact_user, urgency, code, topic)
        story.tell(demand_id)

        # Apply the events up to END: the row is what the operations would have left.
        events = chunk.events
        requests = chunk.requests
        open_requests: dict[str, int] = {}  # kind → index in chunk.requests
        state: DemandState | None = None
        applied = 0
        for ev in story.events:
            if ev.at > END_TS:
                break
            row.update(ev.fields)
            events.append(
                (
                    event_id, demand_id, ev.action, ev.actor, moment(ev.at),
                    state.value if state is not None else None, ev.to_state.value, ev.note,
                    json.dumps(ev.data, ensure_ascii=False),
                )
            )  # fmt: skip
            if ev.request is not None:
                op, kind = ev.request[0], ev.request[1]
                if op == "new":
                    open_requests[kind] = len(requests)
                    requests.append(
                        (
                            request_id, demand_id, kind, RequestDecision.PENDING.value,
                            ev.request[2], ev.request[3], ev.actor, moment(ev.at), None, None, "",
                        )
                    )  # fmt: skip
                    request_id += 1
                else:
                    i = open_requests.pop(kind)
                    r = requests[i]
                    requests[i] = (*r[:3], ev.request[2], *r[4:8], ev.actor, moment(ev.at),
                                   ev.request[3])  # fmt: skip
            state = ev.to_state
            row["state"] = state
            row["last_event_id"] = event_id
            event_id += 1
            applied += 1
        row["version"] = applied
        if refs.notices_from is not None:
            _notices(chunk, demand_id, row, story, refs.notices_from)
        # A later duplicate of this enterprise's may be merged into this one.
        if row["state"] not in (S.REJECTED, S.MERGED, S.WITHDRAWN):
            self.last_by_enterprise[enterprise_id] = (demand_id, row["submitted_at"])
        row.update(_times(self.cal, row))
        chunk.demands.append(_demand_tuple(demand_id, row))
        return event_id, request_id


_DATE_COLUMNS = frozenset({"deadline", "effective_deadline", "warning_date",
                           "rectification_deadline"})  # fmt: skip


def _value(column: str, v: Any) -> Any:
    if v is None:
        return None
    if column in _DATETIME_COLUMNS:
        return moment(v)
    if column in _DATE_COLUMNS:
        return date.fromordinal(v)
    if column == "state":
        return v.value
    return v


def _times(cal: Calendar, row: dict[str, Any]) -> dict[str, int | None]:
    """What models.ops.demand_times computes in SQL, from the same row (national calendar)."""
    d, c, r = row["dispatched_at"], row["claimed_at"], row["replied_at"]
    out: dict[str, int | None] = {
        "response_working_days": None,
        "response_seconds": None,
        "handling_working_days": None,
        "handling_seconds": None,
    }
    if d is None:
        return out
    if c is not None:
        out["response_working_days"] = cal.between(local_day(d), local_day(c))
        out["response_seconds"] = c - d
    if r is not None:
        out["handling_working_days"] = (
            cal.between(local_day(d), local_day(r)) - row["suspended_days"]
        )
        out["handling_seconds"] = r - d - row["suspended_seconds"]
    return out


_DECIDED_KINDS = {
    "DECIDE_RETURN": "DEMAND_RETURN_DECIDED",
    "DECIDE_EXTENSION": "DEMAND_EXTENSION_DECIDED",
    "DECIDE_SUSPENSION": "DEMAND_SUSPENSION_DECIDED",
}


def _notices(chunk: Chunk, demand_id: int, row: dict[str, Any], story: _Story, since: int) -> None:
    """The inbox rows the transitions since `since` would have written (models.ops.
    demand_notices), with one stand-in: a dispatch tells the handler who took the demand, not
    every handler of the department (hundreds of them in the large data set)."""
    title = row["title"]
    for ev in story.events:
        if ev.at > END_TS:
            break
        if ev.at < since:
            continue
        told: list[int | None] = []
        data: dict[str, Any] = {"title": title}
        if ev.action == "DISPATCH":
            kind, told = "DEMAND_DISPATCHED", [story.handler]
            data["deadline"] = ev.data.get("deadline", "")
        elif ev.action in _DECIDED_KINDS:
            kind, told = _DECIDED_KINDS[ev.action], [story.handler]
            data["approved"] = bool(ev.data.get("approved"))
        elif ev.to_state is S.PENDING_VISIT and ev.action in ("REVIEW_REPLY", "ANSWER_DIRECTLY"):
            kind, told = "DEMAND_REPLIED", [story.contact, row["submitted_by_id"]]
        elif ev.action == "ESCALATE":
            kind, told = "DEMAND_ESCALATED", [story.lead]
            data["level"] = ev.data["level"]
        else:
            continue
        people = sorted({u for u in told if u and u != ev.actor})
        if people:
            chunk.notices.append((kind, demand_id, ev.at, people, data))


def _demand_tuple(demand_id: int, row: dict[str, Any]) -> tuple[Any, ...]:
    row["id"] = demand_id
    return tuple(_value(c, row[c]) for c in DEMAND_COLUMNS)


class _Story:
    """One demand's events from submission on, ignoring END (the caller cuts them off)."""

    def __init__(self, teller: StoryTeller, row: dict[str, Any], contact: int | None,
                 urgency: Urgency, code: str, topic: Any) -> None:  # fmt: skip
        self.t = teller
        self.rng = teller.rng
        self.cal = teller.cal
        self.row = row
        self.contact = contact
        self.urgency = urgency
        self.code = code
        self.topic = topic
        self.events: list[_Event] = []
        self.now: int = row["submitted_at"]
        self.state = S.SUBMITTED
        # What the story knows of the row as it goes (the row itself is filled by the caller).
        self.dispatch_day = 0
        self.limit = 0
        self.ext = 0
        self.susp = 0
        self.effective = 0
        self.escalation = 0
        self.department = 0
        self.handler = 0
        self.lead = 0
        self.reopens = 0
        self.attempts = 0  # failed return-visit calls
        self.rectifying = False
        self.demand_id = 0

    def emit(self, at: int, action: str, actor: int | None, to: DemandState,
             fields: dict[str, Any] | None = None, note: str = "",
             data: dict[str, Any] | None = None,
             request: tuple[Any, ...] | None = None) -> None:  # fmt: skip
        self.events.append(_Event(at, action, actor, to, fields or {}, note, data or {}, request))
        self.now = at
        self.state = to

    def deadline_fields(self, dl: Deadlines) -> dict[str, Any]:
        return {
            "deadline": dl.deadline.toordinal(),
            "effective_deadline": dl.effective.toordinal(),
            "warning_date": dl.warning_from.toordinal(),
            "deadline_confirmed": dl.confirmed,
        }

    # ------------------------------------------------------------------ the plot

    def tell(self, demand_id: int) -> None:
        self.demand_id = demand_id
        rng, t = self.rng, self.t
        refs = t.refs
        self.emit(self.now, "SUBMIT", self.row["submitted_by_id"], S.SUBMITTED,
                  data={"source": self.row["source"]})  # fmt: skip
        roll = rng.random()
        if roll < 0.025:
            reason = rng.choice(list(_REJECT_NOTES))
            self.emit(t.later(self.now, 0, 1), "REJECT", refs.dispatcher, S.REJECTED,
                      {"reject_reason": reason.value}, _REJECT_NOTES[reason],
                      {"reason": reason.value})  # fmt: skip
            return
        if roll < 0.04:
            earlier = t.last_by_enterprise.get(self.row["enterprise_id"])
            target = earlier[0] if earlier and earlier[1] < self.now else None
            at = t.later(self.now, 0, 1)
            if target is not None:
                self.emit(at, "MERGE", refs.dispatcher, S.MERGED, {"merged_into_id": target},
                          "与该企业此前提交的诉求内容相同，合并办理。", {"intoId": target})  # fmt: skip
            else:
                reason = RejectReason.DUPLICATE
                self.emit(at, "REJECT", refs.dispatcher, S.REJECTED,
                          {"reject_reason": reason.value}, _REJECT_NOTES[reason],
                          {"reason": reason.value})  # fmt: skip
            return
        if roll < 0.047:
            self.withdraw(t.later(self.now, 0, 1))
            return
        if self.code == "POLICY" and rng.random() < 0.7:
            reply, at = self.topic.reply, t.later(self.now, 0, 1)
            self.emit(at, "ANSWER_DIRECTLY", refs.dispatcher, S.PENDING_VISIT,
                      {"reply_outcome": ReplyOutcome.EXPLAINED.value, "reply_text": reply,
                       "replied_at": at}, reply)  # fmt: skip
            self.rating_phase()
            return
        self.dispatch(first=True)
        if rng.random() < 0.05:  # 退单 within the return window
            self.ask("RETURN", PendingKind.RETURN, t.later(self.now, 0, 1),
                     rng.choice(_RETURN_REASONS))  # fmt: skip
            approve = rng.random() < 0.7
            at = t.later(self.now, 0, 1)
            if approve:
                self.emit(at, "DECIDE_RETURN", refs.dispatcher, S.SUBMITTED, {
                    "pending": None, "department_id": None, "handler_id": None,
                    "dispatched_at": None, "claimed_at": None, "limit_days": None,
                    "deadline": None, "effective_deadline": None, "warning_date": None,
                    "return_count": 1,
                }, "同意退回，重新派单。", {"approved": True},
                    ("decide", PendingKind.RETURN.value, RequestDecision.APPROVED.value,
                     "同意退回，重新派单。"))  # fmt: skip
                self.dispatch(first=False)
            else:
                note = "经研究，该事项属于本部门职责，请继续办理。"
                self.emit(at, "DECIDE_RETURN", refs.dispatcher, self.state, {"pending": None},
                          note, {"approved": False},
                          ("decide", PendingKind.RETURN.value, RequestDecision.REFUSED.value,
                           note))  # fmt: skip
        if rng.random() < 0.01:
            self.withdraw(t.later(self.now, 0, 2))
            return
        at = t.later(self.now, 0, 2)
        self.emit(at, "CLAIM", self.handler, S.IN_PROGRESS,
                  {"handler_id": self.handler, "claimed_at": at})  # fmt: skip
        self.handle()
        self.rating_phase()

    def withdraw(self, at: int) -> None:
        by = self.contact or self.row["submitted_by_id"]  # no app account: whoever took it in
        self.emit(at, "WITHDRAW", by, S.WITHDRAWN,
                  {"pending": None, "suspended_at": None}, self.rng.choice(_WITHDRAW_REASONS))  # fmt: skip

    def ask(self, action: str, kind: PendingKind, at: int, reason: str,
            days: int | None = None) -> None:  # fmt: skip
        marker = ({"appeal": RequestDecision.PENDING.value} if kind is PendingKind.APPEAL
                  else {"pending": kind.value})  # fmt: skip
        data = {"days": days} if action == "REQUEST_EXTENSION" else {}
        self.emit(at, action, self.handler, self.state, marker, reason, data,
                  ("new", kind.value, days, reason))  # fmt: skip

    def dispatch(self, *, first: bool) -> None:
        rng, t = self.rng, self.t
        choices = t.refs.departments.get(self.code) or t.refs.departments["OTHER"]
        if not first and len(choices) > 1:
            choices = [c for c in choices if c[0] != self.department] or choices
        self.department, self.handler, self.lead = rng.choice(choices)
        pool = t.refs.handler_pools.get(self.department)
        if pool:  # one of the department's many handlers, spread by a hash of the demand id
            self.handler = pool[(self.demand_id * 2_654_435_761) % 4_294_967_296 % len(pool)]
        limit = t.refs.categories[self.code][1 + list(Urgency).index(self.urgency)]
        at = t.later(self.now, 0, 1)
        day = local_day(at)
        dl = self.cal.deadlines(day, limit)
        self.dispatch_day, self.limit, self.ext, self.susp = day, limit, 0, 0
        self.effective = dl.effective.toordinal()
        self.emit(at, "DISPATCH", t.refs.dispatcher, S.DISPATCHED, {
            "department_id": self.department, "handler_id": None, "category_id":
            t.refs.categories[self.code][0], "urgency": self.urgency.value, "dispatched_at": at,
            "claimed_at": None, "limit_days": limit, "extension_days": 0, "suspended_days": 0,
            "suspended_seconds": 0, **self.deadline_fields(dl),
        }, data={
            "departmentId": self.department, "assistingDepartmentIds": [], "limitDays": limit,
            "deadline": dl.deadline.isoformat(), "deadlineConfirmed": dl.confirmed,
        })  # fmt: skip

    def handle(self) -> None:
        """From the claim to the reply signed off and checked."""
        rng, t = self.rng, self.t
        refs = t.refs
        # When the handler will reply: mostly within the limit, some late.
        if rng.random() < 0.08:
            reply_day = self.cal.add(self.effective, rng.randint(1, 8))
        else:
            span = max(0, self.cal.between(local_day(self.now), self.effective))
            reply_day = self.cal.add(local_day(self.now), int(span * rng.random() ** 1.3))
        seconds = 0
        if rng.random() < 0.08 and self.cal.between(local_day(self.now), self.effective) > 1:
            days = rng.randint(2, 8)
            self.ask("REQUEST_EXTENSION", PendingKind.EXTENSION, t.later(self.now, 0, 1),
                     rng.choice(_EXTENSION_REASONS), days)  # fmt: skip
            at = t.later(self.now, 0, 1)
            if rng.random() < 0.85:
                self.ext = min(days, _POLICY.extension_cap_days)
                dl = self.cal.deadlines(self.dispatch_day, self.limit, self.ext, self.susp)
                self.effective = dl.effective.toordinal()
                reply_day = self.cal.add(reply_day, rng.randint(0, self.ext))
                self.emit(at, "DECIDE_EXTENSION", refs.dispatcher, S.IN_PROGRESS, {
                    "pending": None, "extension_days": self.ext, "extension_count": 1,
                    **self.deadline_fields(dl),
                }, "同意延期。", {"approved": True, "days": days},
                    ("decide", PendingKind.EXTENSION.value, RequestDecision.APPROVED.value,
                     "同意延期。"))  # fmt: skip
            else:
                note = "时限内可以办结，不同意延期。"
                self.emit(at, "DECIDE_EXTENSION", refs.dispatcher, S.IN_PROGRESS,
                          {"pending": None}, note, {"approved": False, "days": days},
                          ("decide", PendingKind.EXTENSION.value,
                           RequestDecision.REFUSED.value, note))  # fmt: skip
        if rng.random() < 0.06:
            self.ask("SUSPEND", PendingKind.SUSPENSION, t.later(self.now, 0, 1),
                     rng.choice(SUSPEND_REASONS))  # fmt: skip
            at = t.later(self.now, 0, 1)
            if rng.random() < 0.85:
                self.emit(at, "DECIDE_SUSPENSION", refs.dispatcher, S.SUSPENDED,
                          {"pending": None, "suspended_at": at}, "同意中止。", {"approved": True},
                          ("decide", PendingKind.SUSPENSION.value,
                           RequestDecision.APPROVED.value, "同意中止。"))  # fmt: skip
                resume = t.later(at, 2, 12)
                paused = self.cal.paused(local_day(at), local_day(resume))
                self.susp += paused
                seconds += resume - at
                dl = self.cal.deadlines(self.dispatch_day, self.limit, self.ext, self.susp)
                self.effective = dl.effective.toordinal()
                reply_day = self.cal.add(reply_day, paused)
                self.emit(resume, "RESUME", self.handler, S.IN_PROGRESS, {
                    "suspended_at": None, "suspended_days": self.susp,
                    "suspended_seconds": seconds, **self.deadline_fields(dl),
                }, rng.choice(RESUME_NOTES), {"suspendedDays": paused})  # fmt: skip
            else:
                note = "中止理由不充分，请继续办理。"
                self.emit(at, "DECIDE_SUSPENSION", refs.dispatcher, S.IN_PROGRESS,
                          {"pending": None}, note, {"approved": False},
                          ("decide", PendingKind.SUSPENSION.value,
                           RequestDecision.REFUSED.value, note))  # fmt: skip
        reply = max(self.work_moment_on(reply_day), self.t.later(self.now, 0, 0))
        self.escalations(reply)
        self.reply_round(reply)

    def work_moment_on(self, day: int) -> int:
        return self.t.work_moment(day if self.cal.is_workday(day) else self.cal.add(day, 1))

    def escalations(self, until: int) -> None:
        """The overdue job's automatic escalations (models.ops.demand_jobs) before `until`."""
        for level, threshold in enumerate(_POLICY.escalation_thresholds, start=1):
            if level <= self.escalation:
                continue
            day = self.cal.add(self.effective, threshold)
            at = day_ts(day) + 7 * 3600 + self.rng.randrange(0, 1800)  # the morning run
            if at <= self.now or at >= until:
                break
            self.escalation = level
            self.emit(at, "ESCALATE", None, self.state, {"escalation_level": level},
                      data={"level": level, "automatic": True, "overdueDays": threshold})  # fmt: skip

    def reply_round(self, at: int) -> None:
        rng, t = self.rng, self.t
        refs = t.refs
        outcome = self.topic.outcome
        fields: dict[str, Any] = {"reply_outcome": outcome.value, "reply_text": self.topic.reply,
                                  "replied_at": at}  # fmt: skip
        if self.reopens and self.rectifying:
            fields.update(rectification_state=RectificationState.DONE.value, rectified_at=at)
            self.rectifying = False
        self.emit(at, "REPLY", self.handler, S.PENDING_APPROVAL, fields, self.topic.reply,
                  {"outcome": outcome.value})  # fmt: skip
        at = t.later(self.now, 0, 1)
        if rng.random() < 0.05:
            note = "答复内容过于简单，请补充办理依据和具体结果。"
            self.emit(at, "APPROVE_REPLY", self.lead, S.IN_PROGRESS, note=note,
                      data={"approved": False})  # fmt: skip
            self.reply_round(t.later(self.now, 1, 2))
            return
        self.emit(at, "APPROVE_REPLY", self.lead, S.PENDING_REVIEW, data={"approved": True})
        at = t.later(self.now, 0, 1)
        if rng.random() < 0.03:
            note = "经电话核实，企业反映问题尚未实际解决，请重新办理。"
            self.emit(at, "REVIEW_REPLY", refs.dispatcher, S.IN_PROGRESS, note=note,
                      data={"passed": False})  # fmt: skip
            self.reply_round(t.later(self.now, 1, 3))
            return
        self.emit(at, "REVIEW_REPLY", refs.dispatcher, S.PENDING_VISIT, data={"passed": True})

    def rating_phase(self) -> None:
        rng, t = self.rng, self.t
        refs = t.refs
        rating: Satisfaction = t.pick(t.ratings)
        if rating in BAD_RATINGS and (not self.handler or (self.reopens and rng.random() < 0.8)):
            # A second bad rating is rare; an office's own answer has no department to redo it.
            rating = Satisfaction.BASIC
        comment = rng.choice(BAD_COMMENTS if rating in BAD_RATINGS else GOOD_COMMENTS)
        by_app = self.row["source"] == DemandSource.APP.value and rng.random() < 0.7
        data: dict[str, Any]
        if by_app:
            at = t.later(self.now, 0, 3)
            actor, data = self.contact, {"by": "ENTERPRISE"}
        else:
            at = t.later(self.now, 1, 3)
            actor, data = refs.dispatcher, {"by": "RETURN_VISIT", "reached": True}
            if rng.random() < 0.08:  # the office could not reach the enterprise
                while True:
                    self.attempts += 1
                    attempts = self.attempts
                    adata = {"reached": False, "attempt": attempts}
                    if attempts >= _POLICY.unreached_attempts:
                        self.emit(at, "RECORD_RETURN_VISIT", refs.dispatcher, S.CLOSED, {
                            "contact_attempts": attempts, "closed_at": at,
                            "closure": ClosureKind.UNREACHED.value,
                        }, "多次电话联系未接通。", adata)  # fmt: skip
                        return
                    self.emit(at, "RECORD_RETURN_VISIT", refs.dispatcher, S.PENDING_VISIT,
                              {"contact_attempts": attempts}, "电话未接通。", adata)  # fmt: skip
                    at = t.later(self.now, 1, 2)
                    if rng.random() < 0.5:
                        break  # reached next time
        action = "RATE" if by_app else "RECORD_RETURN_VISIT"
        fields: dict[str, Any] = {
            "rating": rating.value, "rating_comment": comment, "rated_at": at,
            "rating_excluded": False, "appeal": None,
        }  # fmt: skip
        data = {**data, "rating": rating.value}
        if rating not in BAD_RATINGS:
            fields.update(closed_at=at, closure=ClosureKind.SATISFIED.value)
            self.emit(at, action, actor, S.CLOSED, fields, comment, data)
            return
        # 重办: back to the department with a rectification deadline from today.
        dl = self.cal.deadlines(local_day(at), _POLICY.rectification_days)
        self.reopens += 1
        self.rectifying = True
        self.effective = dl.effective.toordinal()
        fields.update(
            reopen_count=self.reopens,
            rectification_state=RectificationState.OPEN.value,
            rectification_deadline=dl.effective.toordinal(),
            rectified_at=None,
            effective_deadline=dl.effective.toordinal(),
            warning_date=dl.warning_from.toordinal(),
            deadline_confirmed=dl.confirmed,
        )
        self.emit(at, action, actor, S.IN_PROGRESS, fields, comment, data)
        if rng.random() < 0.3:
            self.ask("APPEAL_RATING", PendingKind.APPEAL, t.later(self.now, 0, 2),
                     rng.choice(_APPEAL_REASONS))  # fmt: skip
            at = t.later(self.now, 1, 3)
            uphold = rng.random() < 0.4
            note = (
                "经核查，部门已依法依规办理，差评不计入考核。"
                if uphold
                else "经核查，申诉理由不成立。"
            )
            decision = RequestDecision.APPROVED if uphold else RequestDecision.REFUSED
            if uphold:
                self.emit(at, "DECIDE_APPEAL", refs.supervisor, S.CLOSED, {
                    "appeal": decision.value, "rating_excluded": True,
                    "rectification_state": RectificationState.WAIVED.value, "closed_at": at,
                    "closure": ClosureKind.APPEAL_UPHELD.value, "pending": None,
                }, note, {"upheld": True},
                    ("decide", PendingKind.APPEAL.value, decision.value, note))  # fmt: skip
                return
            self.emit(at, "DECIDE_APPEAL", refs.supervisor, S.IN_PROGRESS,
                      {"appeal": decision.value}, note, {"upheld": False},
                      ("decide", PendingKind.APPEAL.value, decision.value, note))  # fmt: skip
        span = max(0, self.cal.between(local_day(self.now), self.effective))
        if rng.random() < 0.1:
            day = self.cal.add(self.effective, rng.randint(1, 4))
        else:
            day = self.cal.add(local_day(self.now), int(span * rng.random()))
        reply = max(self.work_moment_on(day), t.later(self.now, 0, 0))
        self.escalations(reply)
        self.reply_round(reply)
        self.rating_phase()
