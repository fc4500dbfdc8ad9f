"""The catalog of support policies (惠企政策) cadres hand over on visits: administrators keep it.

A policy without a region is nationwide (only a system administrator keeps those); one with a
region is offered in that region and every region below it. Policies are never deleted, since
logged visits refer to them by id: an outdated one is deactivated (`is_active=False`), which
takes it off the catalog and out of new visits while old visits still show it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from tortoise.expressions import Q

from models.access import require_admin_over
from models.errors import DomainError, Problems
from models.ops.validate import text
from models.rules.actor import Actor
from models.tables.visits import SupportPolicy

SUPPORT_POLICY_COLUMNS = (
    "id",
    "title",
    "issuer",
    "document_number",
    "url",
    "summary",
    "region_id",
    "is_active",
    "created_at",
)

MAX_TITLE = 200
MAX_ISSUER = 100
MAX_DOCUMENT_NUMBER = 100
MAX_URL = 500
MAX_SUMMARY = 5000


@dataclass
class SupportPolicyData:
    """A new catalog entry; `region_id` None is nationwide."""

    title: str
    issuer: str | None = None
    document_number: str | None = None
    url: str | None = None
    summary: str | None = None
    region_id: int | None = None


@dataclass
class SupportPolicyChanges:
    """Fields to change; None leaves a field as it is ("" clears an optional one)."""

    title: str | None = None
    issuer: str | None = None
    document_number: str | None = None
    url: str | None = None
    summary: str | None = None
    is_active: bool | None = None


def _url(problems: Problems, value: str | None) -> str:
    cleaned = text(problems, value, "url", max_len=MAX_URL, required=False)
    if cleaned and len(cleaned) <= MAX_URL and not _is_web_address(cleaned):
        problems.add("INVALID_URL", "url")
    return cleaned


def _is_web_address(value: str) -> bool:
    try:
        parts = urlsplit(value)
        host = parts.hostname
    except ValueError:  # e.g. an unclosed [IPv6 bracket
        return False
    return (
        parts.scheme.lower() in ("http", "https")
        and bool(host)
        and not any(c.isspace() for c in value)
    )


def _clean(
    problems: Problems, f: SupportPolicyData | SupportPolicyChanges, *, creating: bool
) -> dict[str, Any]:
    """Validate and normalise; returns the column values that were given."""
    out: dict[str, Any] = {}
    if creating or f.title is not None:
        out["title"] = text(problems, f.title, "title", max_len=MAX_TITLE, required=True)
    if f.issuer is not None:
        out["issuer"] = text(problems, f.issuer, "issuer", max_len=MAX_ISSUER, required=False)
    if f.document_number is not None:
        out["document_number"] = text(
            problems,
            f.document_number,
            "documentNumber",
            max_len=MAX_DOCUMENT_NUMBER,
            required=False,
        )
    if f.url is not None:
        out["url"] = _url(problems, f.url)
    if f.summary is not None:
        out["summary"] = text(problems, f.summary, "summary", max_len=MAX_SUMMARY, required=False)
    return out


async def create_support_policy(actor: Actor, data: SupportPolicyData) -> SupportPolicy:
    """Add a policy to the catalog (administrators of its region; nationwide: system admins)."""
    await require_admin_over(actor, data.region_id)
    problems = Problems()
    values = _clean(problems, data, creating=True)
    problems.raise_if_any()
    return await SupportPolicy.create(region_id=data.region_id, **values)


async def update_support_policy(
    actor: Actor, policy_id: int, changes: SupportPolicyChanges
) -> SupportPolicy:
    """Correct a policy or (de)activate it; its region stays. Never deleted: visits cite it."""
    policy = await SupportPolicy.get_or_none(id=policy_id)
    if policy is None:
        raise DomainError("NOT_FOUND", "id")
    await require_admin_over(actor, policy.region_id)  # type: ignore[attr-defined]
    problems = Problems()
    values = _clean(problems, changes, creating=False)
    problems.raise_if_any()
    for key, value in values.items():
        setattr(policy, key, value)
    if changes.is_active is not None:
        policy.is_active = changes.is_active
    await policy.save()
    return policy


def offered_in_q(chain: list[int]) -> Q:
    """Policies offered in a region, given its chain (itself and its ancestors)."""
    return Q(region_id=None) | Q(region_id__in=chain)


# Brackets people type for the 〔〕 of a document number (国办发〔2022〕30号).
_BRACKETS = str.maketrans("[［【(（]］】)）", "〔〔〔〔〔〕〕〕〕〕")


def search_q(term: str) -> Q:
    """Part of the title, issuer or document number; [2022] finds 〔2022〕 too."""
    q = Q(id=-1)
    for t in dict.fromkeys((term, term.translate(_BRACKETS))):
        q |= Q(title__icontains=t) | Q(issuer__icontains=t) | Q(document_number__icontains=t)
    return q
