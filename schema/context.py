"""Per-request context: who is asking, in which language, and the request's DataLoaders."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from models.errors import DomainError
from models.ops.attachments import DEFAULT_UPLOAD_QUOTA, UploadQuota
from models.rules.actor import Actor
from schema.live import Broker
from schema.loaders import Loaders


@dataclass
class Context:
    actor: Actor | None
    locale: str
    client: str
    secret_key: str
    loaders: Loaders = field(default_factory=Loaders)
    request: Any = None
    # Per-request loaders that depend on who asks (scoped demand lookups), made on first use.
    extras: dict[str, Any] = field(default_factory=dict)
    # The process's live-inbox broker (subscriptions), and a websocket's connection_init payload.
    broker: Broker = field(default_factory=Broker)
    connection_params: dict[str, Any] | None = None
    # What an account may keep uploaded and unlinked (the server's settings).
    upload_quota: UploadQuota = DEFAULT_UPLOAD_QUOTA

    def require_actor(self) -> Actor:
        if self.actor is None:
            raise DomainError("UNAUTHENTICATED")
        return self.actor
