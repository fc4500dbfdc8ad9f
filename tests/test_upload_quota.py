"""Uploads nobody links: each account may keep only so many files, and so many bytes, uploaded
but not yet used (UPLOAD_QUOTA_FILES, UPLOAD_QUOTA_MB), over POST /uploads and GraphQL alike;
the scheduler deletes those left unused past UNLINKED_UPLOAD_HOURS, never a linked one."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from models.rules.clock import now
from models.tables.demands import Attachment
from schema.relay import from_global_id
from server.jobs import run_jobs_once
from server.settings import SettingsError, load_settings
from tests.conftest import TEST_SECRET, start_server, stop_server
from tests.test_api_uploads import payload
from tests.test_api_uploads import upload as graphql_upload
from tests.test_attachments import (
    PDF_BYTES,
    auth,
    make_demand,
    make_png,
    stored_files,
    token_for,
    upload,
)

KIB = 1024


@asynccontextmanager
async def serving(db: str, data_dir: Path, **env: str) -> AsyncIterator[httpx.AsyncClient]:
    """A server configured from the environment as `enterprise-desk serve` is."""
    settings = load_settings(
        {"DATABASE_URL": db, "SECRET_KEY": TEST_SECRET, "DATA_DIR": str(data_dir), **env}
    )
    server, task, url = await start_server(settings)
    try:
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            yield http
    finally:
        await stop_server(server, task)


def padded_pdf(size: int) -> bytes:
    """A PDF of exactly `size` bytes (a comment pads it)."""
    return PDF_BYTES + b"%" + b"x" * (size - len(PDF_BYTES) - 2) + b"\n"


def refused(resp: httpx.Response, status: int) -> tuple[str, str]:
    assert resp.status_code == status, resp.text
    [error] = resp.json()["errors"]
    return error["code"], error["message"]


async def test_an_account_keeps_only_so_many_unused_uploads(db, gql, world, storage):
    cadre = await token_for(gql, "cadre_a")
    admin = await token_for(gql, "county_admin")
    async with serving(db, storage.parent, UPLOAD_QUOTA_FILES="3") as http:
        ids = []
        for i in range(3):
            resp = await upload(http, cadre, f"现场{i}.png", make_png())
            assert resp.status_code == 201, resp.text
            ids.append(resp.json()["id"])
        # The fourth is refused before anything is written, over HTTP and over GraphQL.
        code, text = refused(await upload(http, cadre, "现场3.png", make_png()), 429)
        assert code == "TOO_MANY_UNLINKED_UPLOADS"
        assert text == "已上传但尚未使用的文件已达 3 个，请先提交使用这些文件，再上传新的文件"
        over_graphql = await graphql_upload(
            http, cadre, "现场3.png", make_png(), **{"Accept-Language": "en"}
        )
        assert over_graphql.status_code == 429, over_graphql.text
        assert over_graphql.json()["errors"] == [
            {
                "message": "You already have 3 uploaded files not yet used: "
                "submit them before uploading more",
                "extensions": {"code": "TOO_MANY_UNLINKED_UPLOADS"},
            }
        ]
        assert len(stored_files(storage)) == 3
        # Somebody else's account is not affected.
        assert (await upload(http, admin, "a.png", make_png())).status_code == 201
        # Using one of the files (linking it to a demand) frees its place.
        demand, event = await make_demand(world)
        await Attachment.filter(id=from_global_id(ids[0])[1]).update(
            demand_id=demand.id, event_id=event.id
        )
        assert (await upload(http, cadre, "现场4.png", make_png())).status_code == 201
        code, _ = refused(await upload(http, cadre, "现场5.png", make_png()), 429)
        assert code == "TOO_MANY_UNLINKED_UPLOADS"
    assert len(stored_files(storage)) == 5


async def test_an_account_keeps_only_so_many_unused_bytes(db, gql, world, storage):
    cadre = await token_for(gql, "cadre_a")
    async with serving(db, storage.parent, UPLOAD_QUOTA_MB="1") as http:
        first = await upload(http, cadre, "材料一.pdf", padded_pdf(600 * KIB))
        assert first.status_code == 201, first.text
        # 600 KiB more would pass 1 MiB: refused once the size is known, nothing kept.
        code, text = refused(
            await upload(
                http, cadre, "材料二.pdf", padded_pdf(600 * KIB), **{"Accept-Language": "en"}
            ),
            429,
        )
        assert code == "UNLINKED_UPLOADS_TOO_LARGE"
        assert text == (
            "Uploaded files not yet used may total at most 1 MB: submit them before uploading more"
        )
        over_graphql = payload(
            await graphql_upload(http, cadre, "材料二.pdf", padded_pdf(600 * KIB))
        )
        assert [(e["code"], e["field"]) for e in over_graphql["errors"]] == [
            ("UNLINKED_UPLOADS_TOO_LARGE", "file")
        ]
        assert len(stored_files(storage)) == 1
        # What still fits is taken, up to the last byte.
        assert (await upload(http, cadre, "材料三.pdf", padded_pdf(424 * KIB))).status_code == 201
        # Once the quota is full, the next upload is refused before its body is parsed.
        code, _ = refused(await upload(http, cadre, "材料四.pdf", PDF_BYTES), 429)
        assert code == "UNLINKED_UPLOADS_TOO_LARGE"
    assert len(stored_files(storage)) == 2


async def test_uploads_sent_at_once_cannot_pass_the_quota_together(db, gql, world, storage):
    cadre = await token_for(gql, "cadre_a")
    async with serving(db, storage.parent, UPLOAD_QUOTA_FILES="3") as http:
        answers = await asyncio.gather(
            *(upload(http, cadre, f"并发{i}.png", make_png()) for i in range(3)),
            *(graphql_upload(http, cadre, f"并发{i}.png", make_png()) for i in range(3, 8)),
        )
    stored = [a for a in answers[:3] if a.status_code == 201] + [
        a
        for a in answers[3:]
        if a.status_code == 200 and a.json()["data"]["uploadAttachment"]["attachment"]
    ]
    assert len(stored) == 3
    # The others were refused, each with the quota's code.
    for a in answers:
        if a not in stored:
            assert a.status_code in (200, 429), a.text
            assert "TOO_MANY_UNLINKED_UPLOADS" in a.text
    assert await Attachment.all().count() == 3
    assert len(stored_files(storage)) == 3


async def test_the_scheduler_deletes_uploads_left_unused(gql, http, world, storage):
    cadre = await token_for(gql, "cadre_a")
    sent = {}
    for name in ("old.png", "linked.png", "fresh.png"):
        resp = await upload(http, cadre, name, make_png())
        assert resp.status_code == 201, resp.text
        sent[name] = resp.json()
    pk = {name: from_global_id(body["id"])[1] for name, body in sent.items()}
    demand, event = await make_demand(world)
    await Attachment.filter(id=pk["linked.png"]).update(demand_id=demand.id, event_id=event.id)
    # Uploaded the day before yesterday; the grace period is 24 hours by default.
    await Attachment.filter(id__in=[pk["old.png"], pk["linked.png"]]).update(
        created_at=now() - timedelta(hours=25)
    )

    await run_jobs_once()  # one round of the scheduler

    gone = await http.get(sent["old.png"]["url"], headers=auth(cadre))
    assert gone.status_code == 404 and gone.json()["errors"][0]["code"] == "NOT_FOUND"
    for name in ("linked.png", "fresh.png"):
        kept = await http.get(sent[name]["url"], headers=auth(cadre))
        assert kept.status_code == 200 and kept.content == make_png()
    assert len(stored_files(storage)) == 2


def test_quota_and_grace_settings():
    base = {"SECRET_KEY": TEST_SECRET, "DATA_DIR": "/nonexistent"}
    defaults = load_settings(base)
    assert (defaults.upload_quota_files, defaults.upload_quota_bytes) == (100, 200 * 1024 * KIB)
    assert defaults.unlinked_upload_grace == timedelta(hours=24)
    mine = load_settings(
        {
            **base,
            "UPLOAD_QUOTA_FILES": "10",
            "UPLOAD_QUOTA_MB": "50",
            "UNLINKED_UPLOAD_HOURS": "2.5",
        }
    )
    assert (mine.upload_quota_files, mine.upload_quota_bytes) == (10, 50 * 1024 * KIB)
    assert mine.unlinked_upload_grace == timedelta(hours=2.5)
    for name, value in (
        ("UPLOAD_QUOTA_FILES", "0"),
        ("UPLOAD_QUOTA_FILES", "many"),
        ("UPLOAD_QUOTA_MB", "-1"),
        ("UNLINKED_UPLOAD_HOURS", "0"),
    ):
        with pytest.raises(SettingsError, match=name):
            load_settings({**base, name: value})
