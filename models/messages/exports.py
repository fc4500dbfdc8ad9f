"""What people read about exports (导出): the labels of the filter's query parameters."""

from __future__ import annotations

EXPORT_LABELS: dict[str, tuple[str, str]] = {
    "from": ("开始日期", "Start date"),
    "to": ("结束日期", "End date"),
}
