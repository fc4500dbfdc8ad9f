"""Region policy: every number a county sets for itself, with the defaults a new region gets.

A region's row holds only what it overrides; the effective policy is the defaults, then each
ancestor's overrides from the county down, then the region's own (`merge_policy`)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from models.rules.work_orders import DEFAULT_PREFIX, clean_prefix


def _default_weights() -> dict[str, float]:
    return {"onTime": 0.4, "satisfaction": 0.3, "response": 0.15, "closure": 0.15}


@dataclass(frozen=True)
class Policy:
    return_window_days: int = 2  # 退单: working days from dispatch
    extension_cap_days: int = 10  # 延期: total approved working days
    warning_lead_days: int = 1  # 预警: working days before the deadline
    # 督办: overdue by this many working days → escalation level 1, 2, 3.
    escalation_thresholds: tuple[int, ...] = (1, 3, 5)
    unreached_attempts: int = 3  # failed return-visit contacts before closing as unreached
    rectification_days: int = 5  # 整改 limit after a bad rating, working days
    response_limit_days: int = 1  # 签收 within this many working days counts as responded
    require_reply_approval: bool = True  # the department leader signs replies off
    ranking_weights: dict[str, float] = field(default_factory=_default_weights)
    # Visits: a check-in counts within this radius of the enterprise plus the reported accuracy,
    # and only when the phone's accuracy is no worse than the cap.
    checkin_radius_m: int = 500
    checkin_max_accuracy_m: int = 200
    visit_notes_edit_hours: int = 72  # the author may correct a logged visit's notes this long
    visit_cadence: str = "QUARTER"  # leaders visit each assigned enterprise once per period
    # Escalation and overdue pushes buzz even in quiet hours (night, holidays) when True.
    urgent_push_in_quiet_hours: bool = False
    # 工单号: the letters the region's work-order numbers start with (models.rules.work_orders).
    work_order_prefix: str = DEFAULT_PREFIX

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["escalation_thresholds"] = list(self.escalation_thresholds)
        return out


POLICY_KEYS = frozenset(f.name for f in fields(Policy))
_INT_RANGES: dict[str, tuple[int, int]] = {
    "return_window_days": (0, 30),
    "extension_cap_days": (0, 120),
    "warning_lead_days": (0, 10),
    "unreached_attempts": (1, 10),
    "rectification_days": (1, 60),
    "response_limit_days": (1, 30),
    "checkin_radius_m": (50, 5000),
    "checkin_max_accuracy_m": (10, 2000),
    "visit_notes_edit_hours": (0, 24 * 30),
}
VISIT_CADENCES = ("MONTH", "QUARTER", "HALF_YEAR", "YEAR")


class PolicyError(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def clean_overrides(raw: dict[str, Any]) -> dict[str, Any]:
    """Validate a region's overrides; raises PolicyError naming the first bad key."""
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if value is None:
            continue
        if key not in POLICY_KEYS:
            raise PolicyError(key)
        if key in _INT_RANGES:
            lo, hi = _INT_RANGES[key]
            if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
                raise PolicyError(key)
        elif key == "escalation_thresholds":
            steps = list(value)
            ok = 1 <= len(steps) <= 3 and all(isinstance(s, int) and s >= 0 for s in steps)
            if not ok or steps != sorted(steps):
                raise PolicyError(key)
            value = steps
        elif key == "visit_cadence":
            if value not in VISIT_CADENCES:
                raise PolicyError(key)
        elif key == "work_order_prefix":
            value = clean_prefix(value)
            if value is None:
                raise PolicyError(key)
        elif key in ("require_reply_approval", "urgent_push_in_quiet_hours"):
            if not isinstance(value, bool):
                raise PolicyError(key)
        elif key == "ranking_weights":
            known = set(_default_weights())
            if not isinstance(value, dict) or not set(value) <= known:
                raise PolicyError(key)
            if any(not isinstance(v, int | float) or v < 0 for v in value.values()):
                raise PolicyError(key)
            value = {k: float(v) for k, v in value.items()}
        out[key] = value
    return out


def merge_policy(chain: list[dict[str, Any]]) -> Policy:
    """The effective policy from overrides ordered from the top of the tree down."""
    values: dict[str, Any] = {}
    for overrides in chain:
        for key, value in overrides.items():
            if key in POLICY_KEYS and value is not None:
                values[key] = value
    if "escalation_thresholds" in values:
        values["escalation_thresholds"] = tuple(values["escalation_thresholds"])
    return Policy(**values)
