"""Who is acting: a signed-in person's role grants, and the pure questions asked of them (which
roles, which regions, departments and service points). Loaded by models.access, kept by
models.session_cache."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from models.rules.roles import OVERSEEING_ROLES, Role


@dataclass(frozen=True, slots=True)
class Grant:
    id: int
    role: Role
    region_id: int | None
    region_path: str | None
    department_id: int | None
    lead: bool
    service_point_id: int | None = None


@dataclass(frozen=True, slots=True)
class Actor:
    user_id: int
    grants: tuple[Grant, ...]
    # The username when signed in by token (the audit log records it); "" when not loaded.
    username: str = ""

    def has_role(self, *roles: Role) -> bool:
        return any(g.role in roles for g in self.grants)

    def lists_may_lag(self) -> bool:
        """Whether this user's lists may be read from a replica: every grant oversees."""
        return bool(self.grants) and all(g.role in OVERSEEING_ROLES for g in self.grants)

    def is_global(self, *roles: Role) -> bool:
        """A grant without a region (only ADMIN may have one) covers every region."""
        return any(g.role in roles and g.region_id is None for g in self.grants)

    def region_paths(self, roles: Iterable[Role]) -> list[str]:
        wanted = set(roles)
        return [g.region_path for g in self.grants if g.role in wanted and g.region_path]

    def department_ids(self, *, lead_only: bool = False) -> list[int]:
        """Departments the actor handles for (or leads, with `lead_only`)."""
        return [
            g.department_id
            for g in self.grants
            if g.role is Role.HANDLER and g.department_id and (g.lead or not lead_only)
        ]

    def service_point_ids(self) -> list[int]:
        """Service points the actor works at as an agent (帮办员)."""
        return [
            g.service_point_id
            for g in self.grants
            if g.role is Role.SERVICE_AGENT and g.service_point_id
        ]

    def covers(self, region_path: str | None, roles: Iterable[Role]) -> bool:
        roles = tuple(roles)
        if self.is_global(*roles):
            return True
        if not region_path:
            return False
        return any(region_path.startswith(p) for p in self.region_paths(roles))
