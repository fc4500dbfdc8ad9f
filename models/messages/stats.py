"""What people read about the supervisor view's figures: refusal messages (zh, en)."""

from __future__ import annotations

STATS_MESSAGES: dict[str, tuple[str, str]] = {
    "PERIOD_INVALID": (
        "统计期间无效：结束日期不能早于开始日期",
        "Invalid period: the end date is before the start date",
    ),
    "TOO_MANY_BUCKETS": (
        "趋势分段过多，最多 {max} 段，请缩短期间或改用更长的间隔",
        "Too many trend buckets: at most {max}; shorten the period or use a longer interval",
    ),
    "PERIOD_TOO_LONG": (
        "统计期间过长，最多 {days} 天",
        "The period is too long: at most {days} days",
    ),
}
