"""Roles, ranks and other enumerations shared by the models and the API."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    CADRE = "CADRE"
    DISPATCHER = "DISPATCHER"
    HANDLER = "HANDLER"
    SERVICE_AGENT = "SERVICE_AGENT"
    ENTERPRISE = "ENTERPRISE"
    SUPERVISOR = "SUPERVISOR"
    ADMIN = "ADMIN"


# Roles that work for the government; each grant names a region and covers its subtree.
STAFF_ROLES = frozenset(Role) - {Role.ENTERPRISE}

# Roles that oversee demands rather than act on them one by one: their lists may come from a
# read replica, as old as its lag (docs/design.md section 13.4). Whoever also holds another
# role reads the primary, so a handler's list right after claiming shows the claim.
OVERSEEING_ROLES = frozenset({Role.SUPERVISOR, Role.DISPATCHER})


class Rank(StrEnum):
    COUNTY_LEADER = "COUNTY_LEADER"
    TOWN_LEADER = "TOWN_LEADER"
    STAFF = "STAFF"


class RegionLevel(StrEnum):
    PROVINCE = "PROVINCE"
    CITY = "CITY"
    COUNTY = "COUNTY"
    TOWN = "TOWN"
    STREET = "STREET"
    PARK = "PARK"


class EnterpriseScale(StrEnum):
    LARGE = "LARGE"
    MEDIUM = "MEDIUM"
    SMALL = "SMALL"
    MICRO = "MICRO"


class CoordinateSystem(StrEnum):
    WGS84 = "WGS84"
    GCJ02 = "GCJ02"
    BD09 = "BD09"
