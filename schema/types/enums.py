"""The domain's enumerations, registered as GraphQL enums (strawberry.enum marks the class
itself, so the API and the models share one definition)."""

from __future__ import annotations

import strawberry

from models.rules.device_clock import TimeFlag
from models.rules.geo import LocationTrust, TrustReason
from models.rules.roles import CoordinateSystem, EnterpriseScale, Rank, RegionLevel, Role
from models.rules.visit_states import PeriodKind, VisitMode, VisitStatus

strawberry.enum(Role, description="A role a user holds in a region.")
strawberry.enum(Rank, description="A cadre's rank.")
strawberry.enum(RegionLevel)
strawberry.enum(EnterpriseScale)
strawberry.enum(
    CoordinateSystem, description="GPS WGS-84, Chinese map SDKs' GCJ-02, or Baidu BD-09."
)
strawberry.enum(VisitStatus, description="PLANNED → COMPLETED | CANCELLED.")
strawberry.enum(VisitMode, description="On site (needs a check-in to count), video or phone.")
strawberry.enum(PeriodKind, description="A calendar period containing a given day.")
strawberry.enum(
    LocationTrust,
    description="How far a visit's check-in can be believed; only TRUSTED counts toward coverage.",
)
strawberry.enum(TrustReason, description="Why a check-in got its LocationTrust.")
strawberry.enum(
    TimeFlag,
    description="What the server did to a logged visit's times, read from the phone's clock: "
    "CLOCK_CORRECTED shifted them by the clock offset sentAt measured; CLOCK_AHEAD found one "
    "more than 10 minutes after the receipt that no offset explains, and kept the receipt time.",
)

__all__ = [
    "CoordinateSystem",
    "EnterpriseScale",
    "LocationTrust",
    "PeriodKind",
    "Rank",
    "RegionLevel",
    "Role",
    "TimeFlag",
    "TrustReason",
    "VisitMode",
    "VisitStatus",
]
