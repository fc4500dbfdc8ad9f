"""The development default: no gateway at all, each push written to the log and counted as
delivered, so the outbox drains and the whole flow can be watched without credentials."""

from __future__ import annotations

import logging

import httpx

from notifications.config import PushConfig
from notifications.gateway import Outcome, PushMessage, SendResult, mask_token

log = logging.getLogger(__name__)


class LogGateway:
    name: str = "log"
    max_batch: int = 1000

    @classmethod
    def from_config(cls, config: PushConfig, client: httpx.AsyncClient) -> LogGateway:
        return cls()

    async def send(self, batch: list[PushMessage]) -> list[SendResult]:
        results = []
        for msg in batch:
            # The title only: bodies may carry personal details, tokens are secrets.
            log.info("push to %s: %s", mask_token(msg.token), msg.title)
            results.append(SendResult(msg.message_id, Outcome.DELIVERED, f"log-{msg.message_id}"))
        return results

    async def aclose(self) -> None:
        return None
