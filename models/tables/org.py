"""Organisation: the region tree, departments, people and their sessions (grants: models.tables.grants)."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from models.rules.roles import Rank, RegionLevel


class Region(Model):
    """County → town/street → park. `path` ("/1/4/9/") makes a subtree one indexed LIKE."""

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=100)
    code = fields.CharField(max_length=12, null=True, unique=True)
    level = fields.CharEnumField(RegionLevel, max_length=16)
    parent: fields.ForeignKeyNullableRelation[Region] = fields.ForeignKeyField(
        "models.Region", related_name="children", null=True, on_delete=fields.RESTRICT
    )
    path = fields.CharField(max_length=255, db_index=True, default="")
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "region"
        unique_together = (("parent", "name"),)


class Department(Model):
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=100)
    code = fields.CharField(max_length=32, null=True)
    region: fields.ForeignKeyRelation[Region] = fields.ForeignKeyField(
        "models.Region", related_name="departments", on_delete=fields.RESTRICT
    )
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "department"
        unique_together = (("region", "name"),)


class User(Model):
    id = fields.IntField(primary_key=True)
    username = fields.CharField(max_length=64, unique=True)
    display_name = fields.CharField(max_length=64)
    mobile = fields.CharField(max_length=11, null=True)
    rank = fields.CharEnumField(Rank, max_length=16, null=True)
    password_hash = fields.CharField(max_length=255)
    is_active = fields.BooleanField(default=True)
    is_demo = fields.BooleanField(default=False)
    password_changed_at = fields.DatetimeField(auto_now_add=True)
    # Raised to end every session at once (a new password, a disabled account, "log out
    # everywhere"): access and refresh tokens carry the value they were issued under.
    session_version = fields.IntField(default=0, db_default=0)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "app_user"


class RefreshToken(Model):
    """A refresh token, stored only as its SHA-256. `family` ties a chain of rotations."""

    id = fields.IntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="refresh_tokens", on_delete=fields.CASCADE
    )
    token_hash = fields.CharField(max_length=64, unique=True)
    family = fields.CharField(max_length=32, db_index=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    expires_at = fields.DatetimeField()
    used_at = fields.DatetimeField(null=True)
    revoked_at = fields.DatetimeField(null=True)
    # The user's session_version when issued: a later one refuses it even if the revocation
    # that came with it missed this row (issued by a refresh at that same moment).
    session_version = fields.IntField(default=0, db_default=0)

    class Meta:
        table = "refresh_token"


class LoginThrottle(Model):
    """Failed sign-ins per client address in a sliding window, shared by all processes."""

    id = fields.IntField(primary_key=True)
    client = fields.CharField(max_length=64, unique=True)
    failures = fields.IntField(default=0)
    window_start = fields.DatetimeField()

    class Meta:
        table = "login_throttle"


class LoginPairThrottle(Model):
    """Sign-in failures of one username tried (as typed: unknown names too) from one client
    address since the last success, and when that address last signed in to it
    (models.rules.sign_in): the per-account delays and the known addresses."""

    id = fields.IntField(primary_key=True)
    username = fields.CharField(max_length=64)
    client = fields.CharField(max_length=64)
    failures = fields.IntField(default=0)
    last_failure_at = fields.DatetimeField(null=True)
    last_success_at = fields.DatetimeField(null=True)

    class Meta:
        table = "login_pair_throttle"
        # Also the index of the per-username sum over addresses.
        unique_together = (("username", "client"),)
