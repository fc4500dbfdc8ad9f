"""Password hashing with argon2id and the minimal password policy."""

from __future__ import annotations

from argon2 import Parameters, PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from argon2.profiles import RFC_9106_LOW_MEMORY

_hasher = PasswordHasher()
# Verifying against this keeps the time of a login for an unknown user like a known one.
_DUMMY_HASH = _hasher.hash("not-a-real-password")

MIN_LENGTH = 8


class _Checks:
    """Passwords this process verified (GET /metrics): every sign-in that gets past the
    address cap runs exactly one, whatever its outcome."""

    value = 0


PASSWORD_CHECKS = _Checks()


def use_test_cost() -> None:
    """Cheapest argon2id for the test suite only (tests/conftest.py calls it).

    The default cost is ~0.2 s per hash and per verify on a 2-core machine; test worlds create
    and sign in hundreds of users, which made password hashing most of the suite's time. Nothing
    in the product calls this, so a server never runs with it."""
    global _hasher, _DUMMY_HASH
    cheap = Parameters(
        type=RFC_9106_LOW_MEMORY.type,
        version=RFC_9106_LOW_MEMORY.version,
        salt_len=16,
        hash_len=32,
        time_cost=1,
        memory_cost=64,
        parallelism=1,
    )
    _hasher = PasswordHasher.from_parameters(cheap)
    _DUMMY_HASH = _hasher.hash("not-a-real-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Without a hash (no such user, or an attempt held back) the dummy one is verified, so
    the work and its time are the same."""
    PASSWORD_CHECKS.value += 1
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def password_too_weak(password: str) -> bool:
    return len(password) < MIN_LENGTH or (password.isdigit() and len(set(password)) <= 2)
