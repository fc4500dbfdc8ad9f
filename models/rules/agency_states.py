"""The agency request's vocabulary (帮办代办, docs/design.md section 7): states and actions."""

from __future__ import annotations

from enum import StrEnum


class AgencyState(StrEnum):
    SUBMITTED = "SUBMITTED"  # 待受理
    ACCEPTED = "ACCEPTED"  # 已受理 (possibly 容缺受理: named materials still missing)
    MATERIALS_REQUESTED = "MATERIALS_REQUESTED"  # 待补正: the clock stops
    IN_HANDLING = "IN_HANDLING"  # 办理中 (the agent is at the department)
    COMPLETED = "COMPLETED"  # 已办结
    REJECTED = "REJECTED"  # 不予受理
    CANCELLED = "CANCELLED"  # 企业撤销


FINAL_AGENCY_STATES = frozenset(
    {AgencyState.COMPLETED, AgencyState.REJECTED, AgencyState.CANCELLED}
)
OPEN_AGENCY_STATES = frozenset(AgencyState) - FINAL_AGENCY_STATES
# States in which the promised time limit runs (accepted, not paused for materials).
AGENCY_CLOCK_STATES = frozenset({AgencyState.ACCEPTED, AgencyState.IN_HANDLING})


class AgencyAction(StrEnum):
    SUBMIT = "SUBMIT"
    ACCEPT = "ACCEPT"
    REQUEST_MATERIALS = "REQUEST_MATERIALS"
    SUPPLY_MATERIALS = "SUPPLY_MATERIALS"
    START_HANDLING = "START_HANDLING"
    COMPLETE = "COMPLETE"
    REJECT = "REJECT"
    CANCEL = "CANCEL"
    RATE = "RATE"
    ASSIGN_AGENT = "ASSIGN_AGENT"
    RECORD_RECTIFICATION = "RECORD_RECTIFICATION"


class AppointmentStatus(StrEnum):
    BOOKED = "BOOKED"
    CANCELLED = "CANCELLED"
