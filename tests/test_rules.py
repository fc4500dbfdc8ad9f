"""Pure rules: identifiers, tokens, lockout, locale, settings. No database."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import pytest
from hypothesis import given
from hypothesis import strategies as st

from models.messages import message, resolve_locale
from models.rules.identifiers import (
    IdentifierError,
    make_credit_code,
    normalize_credit_code,
    normalize_industry_code,
    normalize_mobile,
    normalize_region_code,
)
from models.rules.passwords import hash_password, verify_password
from models.rules.sign_in import LoginLimits, delayed, pair_delay
from models.rules.tokens import (
    ACCESS_TTL,
    LEEWAY_SECONDS,
    issue_access_token,
    read_access_token,
)
from server.settings import SettingsError, load_settings

SECRET = "s" * 40


def test_real_credit_code_passes_and_a_changed_check_digit_fails():
    assert normalize_credit_code(" 91110000600037341l ") == "91110000600037341L"
    with pytest.raises(IdentifierError) as e:
        normalize_credit_code("91110000600037341M")
    assert e.value.code == "INVALID_CREDIT_CODE_CHECK_DIGIT"
    assert normalize_credit_code("91110000600037341M", allow_bad_check_digit=True).endswith("M")


def test_malformed_credit_code_is_refused_even_with_override():
    with pytest.raises(IdentifierError) as e:
        normalize_credit_code("12345", allow_bad_check_digit=True)
    assert e.value.code == "INVALID_CREDIT_CODE"


@given(st.text(alphabet="0123456789", min_size=15, max_size=15))
def test_every_generated_code_validates(body):
    code = make_credit_code("91" + body)
    assert normalize_credit_code(code) == code


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("13800138000", "13800138000"),
        ("+86 139 0013 9000", "13900139000"),
        ("8613700137000", "13700137000"),
    ],
)
def test_mainland_mobiles_are_normalised(raw, expected):
    assert normalize_mobile(raw) == expected


@pytest.mark.parametrize("raw", ["", "12345", "010-62345678", "+1 415 555 0100", "1380013800"])
def test_non_mobile_numbers_are_refused(raw):
    with pytest.raises(IdentifierError):
        normalize_mobile(raw)


def test_division_and_industry_codes():
    assert normalize_region_code("330599") == "330599"
    assert normalize_region_code("330599100") == "330599100"
    with pytest.raises(IdentifierError):
        normalize_region_code("33059")
    assert normalize_industry_code("c3311") == "C3311"
    assert normalize_industry_code("C") == "C"
    with pytest.raises(IdentifierError):
        normalize_industry_code("Z9")


def test_passwords_hash_with_argon2_and_verify():
    h = hash_password("demo12345")
    assert h.startswith("$argon2id$")
    assert verify_password(h, "demo12345")
    assert not verify_password(h, "demo12346")
    assert not verify_password(None, "anything")


def test_the_product_hashes_at_argon2s_default_cost():
    # The suite hashes cheaply (conftest); a fresh interpreter, like a server, must not.
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "from models.rules.passwords import hash_password as h; print(h('x'))",
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parent.parent,
    ).stdout
    assert out.startswith("$argon2id$v=19$m=65536,t=3,p=4$")


def test_access_tokens_are_pinned_to_hs256_and_expire():
    now = datetime.now(UTC)
    token = issue_access_token(7, SECRET, now)
    assert read_access_token(token, SECRET)[0] == 7
    # The session (refresh-token family) rides along; anything but a hex id is refused.
    session = issue_access_token(7, SECRET, now, 3, "0af3")
    assert read_access_token(session, SECRET) == (7, 3, "0af3")
    for odd in ("", "0AF3", "' OR 1=1", "a" * 65):
        forged = jwt.encode(
            {"sub": "7", "typ": "access", "sv": 0, "fam": odd, "iat": now,
             "exp": now + timedelta(minutes=5)},
            SECRET,
            algorithm="HS256",
        )  # fmt: skip
        assert read_access_token(forged, SECRET) is None, odd
    assert read_access_token(token, SECRET + "x") is None
    expired = issue_access_token(7, SECRET, now - timedelta(hours=1))
    assert read_access_token(expired, SECRET) is None
    unsigned = jwt.encode(
        {"sub": "7", "typ": "access", "iat": now, "exp": now + timedelta(minutes=5)},
        None,
        algorithm="none",
    )
    assert read_access_token(unsigned, SECRET) is None


def test_a_token_read_before_is_still_refused_once_it_expires():
    # Accepted for about one more second (its exp, plus the leeway for clock skew).
    issued = datetime.now(UTC) - ACCESS_TTL - timedelta(seconds=LEEWAY_SECONDS - 1)
    token = issue_access_token(8, SECRET, issued)
    assert read_access_token(token, SECRET) == (8, 0, None)
    assert read_access_token(token, SECRET) == (8, 0, None)  # remembered
    time.sleep(1.1)
    assert read_access_token(token, SECRET) is None


def test_sign_in_delays_grow_from_one_minute_and_are_capped():
    limits = LoginLimits()
    assert pair_delay(4, limits) is None
    assert pair_delay(5, limits) == timedelta(minutes=1)
    assert pair_delay(7, limits) == timedelta(minutes=4)
    assert pair_delay(40, limits) == pair_delay(10**9, limits) == timedelta(hours=1)
    last = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
    assert delayed(5, last, last + timedelta(seconds=59), limits)
    assert not delayed(5, last, last + timedelta(minutes=1), limits)
    # A streak whose last failure is a day old is forgotten.
    assert not delayed(40, last, last + timedelta(days=1), limits)


def test_locale_defaults_to_chinese():
    assert resolve_locale(None) == "zh"
    assert resolve_locale("en-US,en;q=0.9") == "en"
    assert resolve_locale("zh-CN,zh;q=0.9,en;q=0.8") == "zh"
    assert resolve_locale("fr") == "zh"
    assert message("REQUIRED", "zh", "name") == "名称不能为空"
    assert message("REQUIRED", "en", "name") == "Name is required"


def test_production_refuses_a_missing_or_short_secret(tmp_path):
    with pytest.raises(SettingsError):
        load_settings({"ENVIRONMENT": "production", "DATA_DIR": str(tmp_path)})
    with pytest.raises(SettingsError):
        load_settings({"ENVIRONMENT": "production", "SECRET_KEY": "changeme"})
    ok = load_settings({"ENVIRONMENT": "production", "SECRET_KEY": "k" * 40})
    assert ok.production


def test_cache_seconds_is_a_number_of_seconds_or_the_built_in_lifetimes(tmp_path):
    env = {"SECRET_KEY": "k" * 40, "DATA_DIR": str(tmp_path)}
    assert load_settings(env).cache_seconds is None
    assert load_settings({**env, "CACHE_SECONDS": "3600"}).cache_seconds == 3600.0
    for bad in ("0", "-5", "an hour", "nan"):
        with pytest.raises(SettingsError, match="CACHE_SECONDS"):
            load_settings({**env, "CACHE_SECONDS": bad})


def test_development_keeps_its_generated_secret_across_restarts(tmp_path):
    first = load_settings({"DATA_DIR": str(tmp_path)})
    second = load_settings({"DATA_DIR": str(tmp_path)})
    assert first.secret_key == second.secret_key and len(first.secret_key) >= 32
    assert first.database_url == f"sqlite://{tmp_path / 'enterprise-desk.sqlite3'}"


def test_sign_in_limits_come_from_the_environment():
    env = {"SECRET_KEY": "k" * 40}
    assert load_settings(env).login_limits == LoginLimits()
    tuned = load_settings(
        {**env, "LOGIN_FREE_FAILURES": "3", "LOGIN_MAX_DELAY_MINUTES": "15",
         "LOGIN_ADDRESS_MAX_FAILURES": "100", "LOGIN_ACCOUNT_MAX_FAILURES": "0"}
    ).login_limits  # fmt: skip
    assert (tuned.free_failures, tuned.max_delay) == (3, timedelta(minutes=15))
    assert (tuned.address_max_failures, tuned.account_max_failures) == (100, 0)
    for name, value in (("LOGIN_FREE_FAILURES", "0"), ("LOGIN_ACCOUNT_MAX_FAILURES", "-1")):
        with pytest.raises(SettingsError, match=name):
            load_settings({**env, name: value})


def test_period_bounds_of_each_kind():
    from datetime import date

    from models.rules.periods import period_bounds
    from models.rules.visit_states import PeriodKind

    day = date(2026, 11, 23)
    assert period_bounds(PeriodKind.MONTH, day) == (date(2026, 11, 1), date(2026, 11, 30))
    assert period_bounds(PeriodKind.QUARTER, day) == (date(2026, 10, 1), date(2026, 12, 31))
    assert period_bounds(PeriodKind.HALF_YEAR, day) == (date(2026, 7, 1), date(2026, 12, 31))
    assert period_bounds(PeriodKind.YEAR, day) == (date(2026, 1, 1), date(2026, 12, 31))
    assert period_bounds(PeriodKind.QUARTER, date(2026, 2, 28)) == (
        date(2026, 1, 1),
        date(2026, 3, 31),
    )
    assert period_bounds(PeriodKind.MONTH, date(2028, 2, 10)) == (
        date(2028, 2, 1),
        date(2028, 2, 29),
    )
