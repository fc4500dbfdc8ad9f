"""`enterprise-desk check`: run the consistency check (models.ops.consistency) and report.

Exit status 0 when every check passes, 1 with a report of what is broken, 2 when the database
cannot be read. The database is only read: no migration, no write, one snapshot."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from tortoise import Tortoise

from models.db.config import tortoise_config
from models.messages.check import check_text, subject_name
from models.ops.consistency import Report, check_consistency


async def _run(database_url: str) -> Report:
    await Tortoise.init(config=tortoise_config(database_url))
    try:
        return await check_consistency()
    finally:
        await Tortoise.close_connections()


def run_check(database_url: str) -> Report:
    return asyncio.run(_run(database_url))


def as_json(report: Report, locale: str) -> str:
    body: dict[str, Any] = {
        "consistent": report.ok,
        "seconds": round(report.seconds, 3),
        "database": report.dialect,
        "checks": [
            {
                "code": f.code,
                "ok": f.ok,
                "count": f.count,
                "subject": f.subject,
                "samples": list(f.samples),
                "message": check_text(f.code, locale),
            }
            for f in report.findings
        ],
    }
    return json.dumps(body, ensure_ascii=False, indent=2)


def as_text(report: Report, locale: str) -> str:
    seconds = f"{report.seconds:.1f}"
    checks = len(report.findings)
    if report.ok:
        return check_text("consistent", locale, checks=checks, seconds=seconds)
    problems = report.problems
    lines = [
        check_text("inconsistent", locale, failed=len(problems), checks=checks, seconds=seconds)
    ]
    for f in problems:
        line = check_text("finding", locale, count=f.count, what=check_text(f.code, locale))
        if f.samples:
            ids = ", ".join(str(i) for i in f.samples)
            sample = check_text("samples", locale, subject=subject_name(f.subject, locale), ids=ids)
            line += ("；" if locale != "en" else "; ") + sample
        lines.append(f"  ✗ {f.code}: {line}")
    return "\n".join(lines)
