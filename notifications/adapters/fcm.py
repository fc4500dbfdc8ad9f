"""Firebase Cloud Messaging, HTTP v1 API: one device token per `messages:send` call.

Auth is an OAuth2 access token obtained with the service account's key (the JWT bearer grant,
RFC 7523): an RS256 assertion signed with `private_key`, posted to `token_uri`. The token is
cached until shortly before it expires and refreshed once when FCM answers 401.

Error mapping follows the FCM v1 reference
(https://firebase.google.com/docs/reference/fcm/rest/v1/ErrorCode) and the token guide
(https://firebase.google.com/docs/cloud-messaging/manage-tokens, "Detect invalid token
responses"): only `UNREGISTERED` (404) and `INVALID_ARGUMENT` (400) whose message says "The
registration token is not a valid FCM registration token" mean the token is dead. The error
code is `error.details[].errorCode` of type `google.firebase.fcm.v1.FcmError`, else
`error.status`."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import jwt
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from notifications.adapters.http import (
    TransportFailure,
    gateway_url,
    json_body,
    outcome_for_status,
    request,
    require_setting,
    retry_after_of,
    scrub,
)
from notifications.adapters.oauth import AccessToken, TokenCache, TokenError, request_token
from notifications.config import PushConfig
from notifications.gateway import Outcome, PushMessage, SendResult, mask_token

log = logging.getLogger(__name__)

FCM_URL = "https://fcm.googleapis.com"
SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
# ErrorCode reference, QUOTA_EXCEEDED: retry with a minimum initial delay of 1 minute.
QUOTA_MIN_WAIT_SECONDS = 60.0
INVALID_TOKEN_TEXT = "not a valid fcm registration token"  # noqa: S105 - an error text
FCM_ERROR_TYPE = "type.googleapis.com/google.firebase.fcm.v1.FcmError"
DEFAULT_CONCURRENCY = 50  # in-flight calls per gateway: FCM takes one token per call
APNS_COLLAPSE_ID_MAX_BYTES = 64  # APNs rejects a longer apns-collapse-id


@dataclass(frozen=True)
class ServiceAccount:
    """The parts of a Google service-account key file the token request needs."""

    client_email: str
    private_key: str = field(repr=False)
    token_uri: str = "https://oauth2.googleapis.com/token"  # noqa: S105 - an address
    project_id: str = ""
    private_key_id: str = ""

    @classmethod
    def from_file(cls, path: str | Path) -> ServiceAccount:
        info = json.loads(Path(path).read_text(encoding="utf-8"))
        return cls.from_info(info)

    @classmethod
    def from_info(cls, info: dict[str, Any]) -> ServiceAccount:
        missing = [k for k in ("client_email", "private_key") if not info.get(k)]
        if missing:
            raise ValueError(f"service account key lacks {', '.join(missing)}")
        # Fail at startup, not at the first push an hour later: the key must be RSA for RS256.
        try:
            key = load_pem_private_key(str(info["private_key"]).encode(), password=None)
        except (ValueError, TypeError, UnsupportedAlgorithm):
            raise ValueError("service account private_key is not a PEM private key") from None
        if not isinstance(key, RSAPrivateKey):
            raise ValueError("service account private_key is not an RSA key")
        return cls(
            client_email=str(info["client_email"]),
            private_key=str(info["private_key"]),
            token_uri=str(info.get("token_uri") or cls.token_uri),
            project_id=str(info.get("project_id") or ""),
            private_key_id=str(info.get("private_key_id") or ""),
        )


class FcmGateway:
    name: str = "fcm"
    max_batch: int = 1  # the v1 API takes one token per call; `send` still accepts more

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        project_id: str,
        service_account: ServiceAccount,
        base_url: str | None = None,
        concurrency: int = DEFAULT_CONCURRENCY,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._client = client
        self._account = service_account
        self._clock = clock
        base = (base_url or FCM_URL).rstrip("/")
        self._send_url = f"{base}/v1/projects/{project_id}/messages:send"
        # Behind a relay or in tests the token endpoint moves too; its path is kept.
        self._token_url = (
            base + (urlsplit(service_account.token_uri).path or "/token")
            if base_url
            else service_account.token_uri
        )
        self._tokens = TokenCache(self._fetch_token, label="fcm")
        # One semaphore for the gateway, not per call: the dispatcher runs many sends at once.
        self._slots = asyncio.Semaphore(concurrency)

    @classmethod
    def from_config(cls, config: PushConfig, client: httpx.AsyncClient) -> FcmGateway:
        path = require_setting("fcm", "FCM_SERVICE_ACCOUNT_FILE", config.fcm_service_account_file)
        try:
            account = ServiceAccount.from_file(path)
        except (OSError, ValueError, AttributeError) as exc:
            # Names the variable and the kind of trouble, never the key's contents.
            raise ValueError(
                f"push provider 'fcm': FCM_SERVICE_ACCOUNT_FILE is not a readable service-account "
                f"key file ({type(exc).__name__})"
            ) from None
        # Like Google's client libraries, the key file's project is the default.
        project = require_setting(
            "fcm", "FCM_PROJECT_ID", config.fcm_project_id or account.project_id
        )
        base = (
            gateway_url("fcm", "PUSH_BASE_URL", config.base_url, FCM_URL)
            if config.base_url
            else None
        )
        return cls(client, project_id=project, service_account=account, base_url=base)

    @property
    def token_fetches(self) -> int:
        return self._tokens.fetches

    async def send(self, batch: list[PushMessage]) -> list[SendResult]:
        return list(await asyncio.gather(*(self._send_limited(m) for m in batch)))

    async def aclose(self) -> None:
        """The shared client belongs to the server's lifespan; nothing of ours to close."""

    async def _send_limited(self, msg: PushMessage) -> SendResult:
        async with self._slots:
            result = await self._send_one(msg)
        log.debug("fcm %s → %s %s", mask_token(msg.token), result.outcome, result.error or "")
        return result

    async def _send_one(self, msg: PushMessage) -> SendResult:
        body = {"message": _message(msg)}
        try:
            access = await self._tokens.get()
            resp = await self._post(body, access)
            if (
                not isinstance(resp, TransportFailure)
                and resp.status_code == 401
                and _error_code(resp) != "THIRD_PARTY_AUTH_ERROR"
            ):
                # The cached token expired or was revoked: one new token, one resend.
                access = await self._tokens.refresh(access)
                resp = await self._post(body, access)
        except TokenError as exc:
            return SendResult(
                msg.message_id, exc.outcome, error=exc.error, retry_after=exc.retry_after
            )
        if isinstance(resp, TransportFailure):
            # A timeout after the request went out may have delivered it; the app drops
            # repeats by notification id, so a resend is safe.
            return SendResult(msg.message_id, Outcome.RETRY, error=resp.error)
        return _result(msg, resp)

    async def _post(self, body: dict[str, Any], access: str) -> httpx.Response | TransportFailure:
        headers = {"Authorization": f"Bearer {access}"}
        return await request(self._client, "POST", self._send_url, json=body, headers=headers)

    async def _fetch_token(self) -> AccessToken:
        now = int(self._clock())
        claims = {
            "iss": self._account.client_email,
            "scope": SCOPE,
            "aud": self._account.token_uri,
            "iat": now,
            "exp": now + 3600,  # the longest lifetime Google accepts
        }
        headers = {"kid": self._account.private_key_id} if self._account.private_key_id else None
        try:
            assertion = jwt.encode(claims, self._account.private_key, "RS256", headers=headers)
        except (ValueError, TypeError, jwt.PyJWTError):
            # A broken key will not heal: every message fails until the key file is fixed.
            raise TokenError(Outcome.PERMANENT, "fcm token: the private key cannot sign") from None
        form = {"grant_type": JWT_BEARER_GRANT, "assertion": assertion}
        return await request_token(self._client, self._token_url, form, label="fcm")


def _message(msg: PushMessage) -> dict[str, Any]:
    # Every push carries its notification id so the app drops a repeat after a resend.
    data = {**msg.data, "notificationId": msg.data.get("notificationId", str(msg.notification_id))}
    collapse_id = msg.collapse_key.encode()[:APNS_COLLAPSE_ID_MAX_BYTES].decode("utf-8", "ignore")
    apns: dict[str, Any] = {"headers": {"apns-collapse-id": collapse_id}}
    if msg.badge is not None:
        apns["payload"] = {"aps": {"badge": msg.badge}}
    return {
        "token": msg.token,
        "notification": {"title": msg.title, "body": msg.body},
        "data": data,
        "android": {"collapse_key": msg.collapse_key, "priority": "high"},
        "apns": apns,
    }


def _error_body(resp: httpx.Response) -> dict[str, Any]:
    body = json_body(resp)
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, dict) else {}


def _error_code(resp: httpx.Response) -> str:
    error = _error_body(resp)
    for detail in error.get("details") or []:
        if (
            isinstance(detail, dict)
            and detail.get("@type") == FCM_ERROR_TYPE
            and detail.get("errorCode")
        ):
            return str(detail["errorCode"])
    return str(error.get("status") or "")


def _result(msg: PushMessage, resp: httpx.Response) -> SendResult:
    status = resp.status_code
    if 200 <= status < 300:
        body = json_body(resp)
        name = body.get("name") if isinstance(body, dict) else None
        return SendResult(msg.message_id, Outcome.DELIVERED, gateway_id=str(name) if name else None)
    code = _error_code(resp)
    text = str(_error_body(resp).get("message") or "")
    # Kept on the outbox row: never the device token, even if FCM echoed it.
    error = scrub(
        " ".join(p for p in (f"HTTP {status}", code, text and f"- {text}") if p), [msg.token]
    )
    if code == "UNREGISTERED":
        return SendResult(msg.message_id, Outcome.DEAD_TOKEN, error=error)
    if code == "INVALID_ARGUMENT" and INVALID_TOKEN_TEXT in text.lower():
        return SendResult(msg.message_id, Outcome.DEAD_TOKEN, error=error)
    if code == "QUOTA_EXCEEDED" or status == 429:
        wait = max(retry_after_of(resp) or 0.0, QUOTA_MIN_WAIT_SECONDS)
        return SendResult(msg.message_id, Outcome.RETRY, error=error, retry_after=wait)
    if code in ("UNAVAILABLE", "INTERNAL") or outcome_for_status(status) is Outcome.RETRY:
        return SendResult(
            msg.message_id, Outcome.RETRY, error=error, retry_after=retry_after_of(resp)
        )
    # SENDER_ID_MISMATCH (403) means a wrong project on our side, not a documented dead-token
    # signal: the device is kept. THIRD_PARTY_AUTH_ERROR (401, APNs or web-push credentials)
    # and every other 4xx will not change by retrying.
    return SendResult(msg.message_id, Outcome.PERMANENT, error=error)
