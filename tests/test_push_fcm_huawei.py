"""The FCM v1 and Huawei Push Kit adapters against loopback fakes that answer with each
gateway's documented bodies: outcomes per token, token caching and refresh, batching, and that
no secret reaches the logs."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from notifications.adapters.fcm import FcmGateway
from notifications.adapters.huawei import HuaweiGateway
from notifications.config import PushConfig
from notifications.gateway import Outcome, Platform, PushMessage, SendResult
from notifications.registry import build_gateways
from tests.gateways import fcm as fcm_bodies
from tests.gateways.fcm import FcmFake, fcm_fake
from tests.gateways.harness import Scripted, refused_url, serving
from tests.gateways.huawei import HuaweiFake, hms, huawei_fake

PROJECT = "enterprise-desk-test"
CLIENT_EMAIL = "push@enterprise-desk-test.iam.gserviceaccount.com"
TOKEN_URI = "https://oauth2.googleapis.com/token"
APP_ID = "104567891"
APP_SECRET = "hms-app-secret-9f8e7d6c5b4a39281706"


@dataclass(frozen=True)
class KeyPair:
    private_pem: str
    public_pem: str


def _key_pair() -> KeyPair:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return KeyPair(private.decode(), public.decode())


@pytest.fixture(scope="module")
def keys() -> KeyPair:
    return _key_pair()


def write_service_account(tmp_path: Path, keys: KeyPair) -> Path:
    path = tmp_path / "service-account.json"
    path.write_text(
        json.dumps(
            {
                "type": "service_account",
                "project_id": PROJECT,
                "private_key_id": "0123456789abcdef",
                "private_key": keys.private_pem,
                "client_email": CLIENT_EMAIL,
                "token_uri": TOKEN_URI,
            }
        )
    )
    return path


def message(i: int, token: str | None = None, **kw: object) -> PushMessage:
    fields: dict[str, object] = {
        "message_id": f"m{i}",
        "notification_id": 7000 + i,
        "token": token or f"device-token-{i:04d}-abcdefghijklmnopqrstuvwxyz",
        "platform": Platform.ANDROID,
        "title": "诉求已派单",
        "body": "您的诉求已派至县市场监管局",
        "collapse_key": f"demand-{i}",
        "data": {"notificationId": str(7000 + i), "kind": "DEMAND_DISPATCHED"},
    }
    fields.update(kw)
    return PushMessage(**fields)  # type: ignore[arg-type]


def broadcast(n: int, start: int = 0, **kw: object) -> list[PushMessage]:
    """`n` devices receiving the same content (same notification, e.g. one user's devices)."""
    same: dict[str, Any] = {
        "notification_id": 9000,
        "collapse_key": "demand-9000",
        "data": {"notificationId": "9000", "kind": "DEMAND_DISPATCHED"},
    }
    same.update(kw)
    return [message(start + i, **same) for i in range(n)]


def by_id(results: list[SendResult]) -> dict[str, SendResult]:
    return {r.message_id: r for r in results}


# --- FCM ------------------------------------------------------------------------------------


@asynccontextmanager
async def fcm(
    tmp_path: Path,
    keys: KeyPair,
    *,
    client_timeout: float = 5.0,
    signing_key: KeyPair | None = None,
) -> AsyncIterator[tuple[FcmGateway, FcmFake]]:
    fake, app = fcm_fake(
        project_id=PROJECT,
        client_email=CLIENT_EMAIL,
        public_key_pem=keys.public_pem,
        token_uri=TOKEN_URI,
    )
    account = write_service_account(tmp_path, signing_key or keys)
    async with serving(app) as base, httpx.AsyncClient(timeout=client_timeout) as client:
        config = PushConfig(
            providers=("fcm",), base_url=base, fcm_service_account_file=str(account)
        )
        yield FcmGateway.from_config(config, client), fake


async def test_fcm_delivers_with_the_message_name_and_caches_the_access_token(tmp_path, keys):
    async with fcm(tmp_path, keys) as (gw, fake):
        first = await gw.send([message(1, badge=3)])
        second = await gw.send([message(2)])

    assert first == [
        SendResult("m1", Outcome.DELIVERED, gateway_id=f"projects/{PROJECT}/messages/1")
    ]
    assert second[0].outcome is Outcome.DELIVERED
    assert second[0].gateway_id and second[0].gateway_id.startswith(f"projects/{PROJECT}/messages/")
    assert len(fake.state.token_requests) == 1 and gw.token_fetches == 1
    claims = fake.state.token_requests[0]
    assert claims["iss"] == CLIENT_EMAIL and claims["aud"] == TOKEN_URI
    assert claims["exp"] - claims["iat"] == 3600
    sent = fake.requests[0]
    assert sent.path == f"/v1/projects/{PROJECT}/messages:send"
    assert sent.headers["authorization"].startswith("Bearer ya29.fake-access-")
    assert sent.body == {
        "message": {
            "token": message(1).token,
            "notification": {"title": "诉求已派单", "body": "您的诉求已派至县市场监管局"},
            "data": {"notificationId": "7001", "kind": "DEMAND_DISPATCHED"},
            "android": {"collapse_key": "demand-1", "priority": "high"},
            "apns": {"headers": {"apns-collapse-id": "demand-1"}, "payload": {"aps": {"badge": 3}}},
        }
    }


async def test_fcm_sends_a_batch_concurrently_one_token_per_call(tmp_path, keys):
    async with fcm(tmp_path, keys) as (gw, fake):
        results = await gw.send([message(i) for i in range(20)])

    assert sorted(r.message_id for r in results) == sorted(f"m{i}" for i in range(20))
    assert {r.outcome for r in results} == {Outcome.DELIVERED}
    assert len({r.gateway_id for r in results}) == 20
    assert len(fake.requests) == 20
    assert all(isinstance(r.body["message"]["token"], str) for r in fake.requests)
    # Concurrent first sends share one token fetch.
    assert len(fake.state.token_requests) == 1


async def test_fcm_refreshes_the_token_once_on_401_and_keeps_the_new_one(tmp_path, keys):
    async with fcm(tmp_path, keys) as (gw, fake):
        await gw.send([message(1)])
        fake.state.expire_tokens()
        after_expiry = await gw.send([message(2)])
        later = await gw.send([message(3)])

    assert after_expiry[0].outcome is Outcome.DELIVERED
    assert later[0].outcome is Outcome.DELIVERED
    assert len(fake.state.token_requests) == 2  # the first, and one refresh
    assert len(fake.requests) == 4  # m1, m2 refused with 401, m2 again, m3


async def test_fcm_a_second_401_is_permanent_without_looping(tmp_path, keys):
    async with fcm(tmp_path, keys) as (gw, fake):
        fake.then(
            Scripted(401, fcm_bodies.UNAUTHENTICATED), Scripted(401, fcm_bodies.UNAUTHENTICATED)
        )
        [result] = await gw.send([message(1)])

    assert result.outcome is Outcome.PERMANENT and "UNAUTHENTICATED" in (result.error or "")
    assert len(fake.requests) == 2 and len(fake.state.token_requests) == 2


async def test_fcm_unregistered_and_invalid_tokens_are_dead(tmp_path, keys):
    async with fcm(tmp_path, keys) as (gw, fake):
        fake.state.dead_tokens.add(message(1).token)
        unregistered = await gw.send([message(1)])
        fake.then(Scripted(400, fcm_bodies.INVALID_TOKEN))
        invalid = await gw.send([message(2)])

    assert unregistered[0].outcome is Outcome.DEAD_TOKEN
    assert "UNREGISTERED" in (unregistered[0].error or "")
    assert invalid[0].outcome is Outcome.DEAD_TOKEN


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (400, fcm_bodies.INVALID_PAYLOAD),
        (403, fcm_bodies.SENDER_ID_MISMATCH),
        (
            401,
            fcm_bodies.fcm_error(
                401,
                "UNAUTHENTICATED",
                "Auth error from APNS or Web Push Service",
                fcm_code="THIRD_PARTY_AUTH_ERROR",
            ),
        ),
    ],
    ids=["invalid-argument", "sender-id-mismatch", "third-party-auth"],
)
async def test_fcm_refusals_that_keep_the_device_are_permanent(tmp_path, keys, status, body):
    async with fcm(tmp_path, keys) as (gw, fake):
        fake.then(Scripted(status, body))
        [result] = await gw.send([message(1)])

    assert result.outcome is Outcome.PERMANENT
    assert result.error and result.error.startswith(f"HTTP {status}")
    assert len(fake.state.token_requests) == 1  # a third-party auth error is not our token


@pytest.mark.parametrize(("header", "expected"), [("10", 60.0), ("120", 120.0), (None, 60.0)])
async def test_fcm_quota_exceeded_waits_at_least_a_minute(tmp_path, keys, header, expected):
    async with fcm(tmp_path, keys) as (gw, fake):
        fake.then(
            Scripted(
                429, fcm_bodies.QUOTA_EXCEEDED, headers={"Retry-After": header} if header else {}
            )
        )
        [result] = await gw.send([message(1)])

    assert result.outcome is Outcome.RETRY
    assert result.retry_after == expected
    assert "QUOTA_EXCEEDED" in (result.error or "")


async def test_fcm_unavailable_and_internal_are_retried_honouring_retry_after(tmp_path, keys):
    async with fcm(tmp_path, keys) as (gw, fake):
        fake.then(
            Scripted(503, fcm_bodies.UNAVAILABLE, headers={"Retry-After": "7"}),
            Scripted(500, fcm_bodies.INTERNAL),
            Scripted(502, "<html>Bad Gateway</html>"),
        )
        results = [(await gw.send([message(i)]))[0] for i in range(3)]

    assert [r.outcome for r in results] == [Outcome.RETRY] * 3
    assert [r.retry_after for r in results] == [7.0, None, None]


async def test_fcm_timeout_and_refused_connection_are_retried(tmp_path, keys):
    async with fcm(tmp_path, keys, client_timeout=0.2) as (gw, fake):
        await gw.send([message(0)])  # the token is fetched before the slow answer
        fake.then(Scripted(delay=0.5))
        [slow] = await gw.send([message(1)])
    assert slow == SendResult("m1", Outcome.RETRY, error="timeout")

    account = write_service_account(tmp_path, keys)
    async with httpx.AsyncClient(timeout=2.0) as client:
        gw = FcmGateway.from_config(
            PushConfig(base_url=refused_url(), fcm_service_account_file=str(account)), client
        )
        [refused] = await gw.send([message(2)])
    assert refused == SendResult("m2", Outcome.RETRY, error="fcm token: connect")


async def test_fcm_token_endpoint_down_is_retried_and_not_hammered(tmp_path, keys):
    async with fcm(tmp_path, keys) as (gw, fake):
        fake.state.token_unavailable = True
        results = await gw.send([message(i) for i in range(10)])
        fake.state.token_unavailable = False
        again = await gw.send([message(11)])  # within the hold: the failure is remembered

    assert {(r.outcome, r.retry_after, r.error) for r in results + again} == {
        (Outcome.RETRY, 3.0, "fcm token: HTTP 503 temporarily_unavailable")
    }
    assert fake.state.token_attempts == 1
    assert fake.requests == []


async def test_fcm_a_key_the_token_endpoint_rejects_is_permanent(tmp_path, keys):
    async with fcm(tmp_path, keys, signing_key=_key_pair()) as (gw, fake):
        [result] = await gw.send([message(1)])

    assert result.outcome is Outcome.PERMANENT
    assert result.error == "fcm token: HTTP 400 invalid_grant"
    assert fake.requests == []  # nothing was sent without a token


async def test_fcm_and_huawei_configuration_names_the_missing_variable(tmp_path, keys):
    async with httpx.AsyncClient() as client:
        with pytest.raises(ValueError, match="FCM_SERVICE_ACCOUNT_FILE"):
            FcmGateway.from_config(PushConfig(), client)
        with pytest.raises(ValueError, match="FCM_SERVICE_ACCOUNT_FILE"):
            FcmGateway.from_config(
                PushConfig(fcm_service_account_file=str(tmp_path / "missing.json")), client
            )
        account = tmp_path / "no-project.json"
        info = json.loads(write_service_account(tmp_path, keys).read_text())
        del info["project_id"]
        account.write_text(json.dumps(info))
        with pytest.raises(ValueError, match="FCM_PROJECT_ID"):
            FcmGateway.from_config(PushConfig(fcm_service_account_file=str(account)), client)
        with pytest.raises(ValueError, match="HUAWEI_APP_ID"):
            HuaweiGateway.from_config(PushConfig(huawei_client_secret="s"), client)
        with pytest.raises(ValueError, match="HUAWEI_CLIENT_SECRET"):
            HuaweiGateway.from_config(PushConfig(huawei_app_id="1"), client)


# --- Huawei ---------------------------------------------------------------------------------


@asynccontextmanager
async def huawei(
    *, client_timeout: float = 5.0, secret: str = APP_SECRET
) -> AsyncIterator[tuple[HuaweiGateway, HuaweiFake]]:
    fake, app = huawei_fake(app_id=APP_ID, client_secret=APP_SECRET)
    async with serving(app) as base, httpx.AsyncClient(timeout=client_timeout) as client:
        config = PushConfig(
            providers=("huawei",), base_url=base, huawei_app_id=APP_ID, huawei_client_secret=secret
        )
        yield HuaweiGateway.from_config(config, client), fake


async def test_huawei_delivers_with_the_request_id_and_caches_the_access_token():
    async with huawei() as (gw, fake):
        first = await gw.send(broadcast(3))
        second = await gw.send([message(10)])

    assert {r.outcome for r in first + second} == {Outcome.DELIVERED}
    assert len({r.gateway_id for r in first}) == 1 and first[0].gateway_id
    assert second[0].gateway_id != first[0].gateway_id
    assert fake.state.token_requests == 1 and gw.token_fetches == 1
    sent = fake.requests[0]
    assert sent.path == f"/v1/{APP_ID}/messages:send"
    assert sent.headers["authorization"].startswith("Bearer DQEBAL-fake-access-")
    assert sent.body["validate_only"] is False
    android = sent.body["message"]["android"]
    assert sent.body["message"]["token"] == [m.token for m in broadcast(3)]
    assert android["collapse_key"] == -1
    assert android["notification"] == {
        "title": "诉求已派单",
        "body": "您的诉求已派至县市场监管局",
        "tag": "demand-9000",
        "click_action": {"type": 3},
    }
    assert json.loads(android["data"]) == {"notificationId": "9000", "kind": "DEMAND_DISPATCHED"}


async def test_huawei_groups_identical_content_at_most_1000_tokens_per_call():
    batch = [*broadcast(2300), message(5000), message(5001)]
    async with huawei() as (gw, fake):
        results = await gw.send(batch)

    assert sorted(r.message_id for r in results) == sorted(m.message_id for m in batch)
    assert {r.outcome for r in results} == {Outcome.DELIVERED}
    sizes = sorted(len(r.body["message"]["token"]) for r in fake.requests)
    assert sizes == [1, 1, 300, 1000, 1000]
    assert fake.state.token_requests == 1


async def test_huawei_refreshes_the_token_once_when_it_expired():
    async with huawei() as (gw, fake):
        await gw.send([message(1)])
        fake.state.expire_tokens()
        after_expiry = await gw.send([message(2)])
        later = await gw.send([message(3)])

    assert after_expiry[0].outcome is Outcome.DELIVERED
    assert later[0].outcome is Outcome.DELIVERED
    assert fake.state.token_requests == 2
    assert len(fake.requests) == 4


async def test_huawei_an_auth_error_after_one_refresh_is_permanent():
    async with huawei() as (gw, fake):
        fake.then(
            Scripted(401, hms("80200001", "Oauth authentication error")),
            Scripted(401, hms("80200001", "Oauth authentication error")),
        )
        [result] = await gw.send([message(1)])

    assert result.outcome is Outcome.PERMANENT and "80200001" in (result.error or "")
    assert fake.state.token_requests == 2 and len(fake.requests) == 2


async def test_huawei_wrong_client_secret_is_permanent():
    async with huawei(secret="not-the-secret") as (gw, fake):
        [result] = await gw.send([message(1)])

    assert result.outcome is Outcome.PERMANENT
    assert result.error == "huawei token: HTTP 400 1101/20186"
    assert fake.requests == []


async def test_huawei_partial_success_marks_only_the_illegal_tokens_dead():
    batch = broadcast(5)
    async with huawei() as (gw, fake):
        fake.state.dead_tokens |= {batch[1].token, batch[3].token}
        results = by_id(await gw.send(batch))

    assert {k for k, r in results.items() if r.outcome is Outcome.DEAD_TOKEN} == {"m1", "m3"}
    delivered = [r for r in results.values() if r.outcome is Outcome.DELIVERED]
    assert len(delivered) == 3 and all(r.gateway_id for r in delivered)
    assert results["m1"].error == "HTTP 200 80100000 illegal token"


async def test_huawei_all_tokens_invalid_marks_every_token_dead():
    batch = broadcast(3)
    async with huawei() as (gw, fake):
        fake.state.dead_tokens |= {m.token for m in batch}
        results = await gw.send(batch)

    assert {r.outcome for r in results} == {Outcome.DEAD_TOKEN}
    assert all("80300007" in (r.error or "") for r in results)


async def test_huawei_unreadable_partial_answer_is_retried_not_called_delivered():
    async with huawei() as (gw, fake):
        fake.then(Scripted(200, hms("80100000", "partial")))
        results = await gw.send(broadcast(2))

    assert {r.outcome for r in results} == {Outcome.RETRY}


@pytest.mark.parametrize(
    ("status", "code"),
    [(400, "80100003"), (400, "80100001"), (400, "80300008"), (400, "80300010"), (403, "80300002")],
)
async def test_huawei_parameter_and_size_errors_are_permanent(status, code):
    async with huawei() as (gw, fake):
        fake.then(Scripted(status, hms(code, "Incorrect message structure")))
        results = await gw.send(broadcast(2))

    assert {r.outcome for r in results} == {Outcome.PERMANENT}
    assert all(code in (r.error or "") for r in results)


async def test_huawei_flow_control_and_server_errors_are_retried():
    async with huawei() as (gw, fake):
        fake.then(
            Scripted(429, "", headers={"Retry-After": "30"}),
            Scripted(503, "", headers={"Retry-After": "12"}),
            Scripted(500, hms("81000001", "System internal error")),
        )
        results = [(await gw.send(broadcast(2)))[0] for _ in range(3)]

    assert [r.outcome for r in results] == [Outcome.RETRY] * 3
    assert [r.retry_after for r in results] == [30.0, 12.0, None]


async def test_huawei_timeout_and_refused_connection_are_retried():
    async with huawei(client_timeout=0.2) as (gw, fake):
        await gw.send([message(0)])
        fake.then(Scripted(delay=0.5))
        slow = await gw.send(broadcast(2))
    assert {r.outcome for r in slow} == {Outcome.RETRY}

    async with httpx.AsyncClient(timeout=2.0) as client:
        gw = HuaweiGateway(client, app_id=APP_ID, client_secret=APP_SECRET, base_url=refused_url())
        refused = await gw.send(broadcast(2))
    assert {r.outcome for r in refused} == {Outcome.RETRY}
    assert {r.error for r in refused} == {"huawei token: connect"}


async def test_huawei_flow_control_holds_back_the_rest_of_the_batch():
    batch = [message(1), message(2), message(3)]  # three contents: three calls
    fake, app = huawei_fake(app_id=APP_ID, client_secret=APP_SECRET)
    async with serving(app) as base, httpx.AsyncClient(timeout=5.0) as client:
        gw = HuaweiGateway(
            client, app_id=APP_ID, client_secret=APP_SECRET, base_url=base, concurrency=1
        )
        fake.then(Scripted(503, "", headers={"Retry-After": "20"}))
        results = await gw.send(batch)

    assert [(r.outcome, r.retry_after) for r in results] == [(Outcome.RETRY, 20.0)] * 3
    assert len(fake.requests) == 1


# --- configuration --------------------------------------------------------------------------


async def test_the_registry_builds_both_adapters_and_names_missing_settings(tmp_path, keys):
    account = write_service_account(tmp_path, keys)
    async with httpx.AsyncClient() as client:
        config = PushConfig(
            providers=("fcm", "huawei"),
            fcm_service_account_file=str(account),
            huawei_app_id=APP_ID,
            huawei_client_secret=APP_SECRET,
        )
        gateways = build_gateways(config, client)
        assert isinstance(gateways["fcm"], FcmGateway) and gateways["fcm"].max_batch == 1
        assert isinstance(gateways["huawei"], HuaweiGateway)
        assert gateways["huawei"].max_batch == 1000
        assert APP_SECRET not in repr(gateways["huawei"])

        with pytest.raises(ValueError, match="FCM_SERVICE_ACCOUNT_FILE"):
            build_gateways(PushConfig(providers=("fcm",)), client)
        with pytest.raises(ValueError, match="HUAWEI_CLIENT_SECRET"):
            build_gateways(PushConfig(providers=("huawei",), huawei_app_id=APP_ID), client)

        broken = tmp_path / "broken.json"
        not_a_key = "-----BEGIN PRIVATE KEY-----\nc2VjcmV0LW1hdGVyaWFs\n-----END PRIVATE KEY-----\n"
        broken.write_text(json.dumps({**json.loads(account.read_text()), "private_key": not_a_key}))
        with pytest.raises(ValueError, match="FCM_SERVICE_ACCOUNT_FILE") as refused:
            FcmGateway.from_config(PushConfig(fcm_service_account_file=str(broken)), client)
        assert "c2VjcmV0LW1hdGVyaWFs" not in str(refused.value)  # the key is never echoed


# --- secrets stay out of the logs -----------------------------------------------------------


async def test_tokens_and_secrets_never_reach_the_logs(tmp_path, keys, caplog):
    caplog.set_level(logging.DEBUG)
    async with fcm(tmp_path, keys) as (fgw, ffake):
        ffake.state.dead_tokens.add(message(2).token)
        fcm_results = await fgw.send([message(1), message(2)])
        ffake.state.expire_tokens()
        fcm_results += await fgw.send([message(3)])
        fcm_access = [
            r.headers["authorization"][7:] for r in ffake.requests if "authorization" in r.headers
        ]
    async with huawei() as (hgw, hfake):
        batch = broadcast(3)
        hfake.state.dead_tokens.add(batch[0].token)
        hw_results = await hgw.send(batch)
        hfake.state.expire_tokens()
        hw_results += await hgw.send([message(4)])
        hw_access = [r.headers["authorization"][7:] for r in hfake.requests]

    assert {r.outcome for r in fcm_results + hw_results} == {Outcome.DELIVERED, Outcome.DEAD_TOKEN}
    logged = caplog.text + "".join(str(r.args) for r in caplog.records)
    assert "fcm" in logged and "huawei" in logged  # the adapters did log
    secrets = [
        *(message(i).token for i in range(1, 5)),
        *(m.token for m in batch),
        *fcm_access,
        *hw_access,
        APP_SECRET,
        keys.private_pem.splitlines()[1],
    ]
    for secret in secrets:
        assert secret not in logged
    for result in fcm_results + hw_results:
        assert not any(secret in (result.error or "") for secret in secrets)
