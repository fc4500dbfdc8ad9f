"""The Starlette application and the lifespan that owns every long-lived resource."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.routing import Route
from tortoise.contrib.starlette import RegisterTortoise

from models.db import tortoise_config
from models.ops.attachments import configure_storage
from models.ops.policy import ensure_default_categories
from models.org import User
from schema import Limits, build_schema
from server.files import FileEndpoints
from server.graphql_http import GraphQLEndpoint
from server.health import healthz, readyz
from server.jobs import periodic_jobs
from server.settings import Settings, SettingsError, load_settings

log = logging.getLogger("enterprise_desk")


async def refuse_demo_accounts_in_production(settings: Settings) -> None:
    if settings.production and await User.filter(is_demo=True, is_active=True).exists():
        raise SettingsError(
            "demo accounts exist in this database; production refuses to start with them "
            "(disable or delete the demo users first)"
        )


def create_app(settings: Settings | None = None, *, init_db: bool = True) -> Starlette:
    """Build the app. `init_db=False` lets a test process that already opened the database
    share it, the HTTP stack and everything above it being the same."""
    settings = settings or load_settings()
    schema = build_schema(
        production=settings.production,
        limits=Limits(settings.max_query_depth, settings.max_query_tokens, settings.max_aliases),
    )
    endpoint = GraphQLEndpoint(schema, settings)
    files = FileEndpoints(settings)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        configure_storage(settings.data_dir / "files")
        if init_db:
            async with RegisterTortoise(app, config=tortoise_config(settings.database_url)):
                await refuse_demo_accounts_in_production(settings)
                await ensure_default_categories()
                async with periodic_jobs():
                    log.info("enterprise-desk ready (%s)", settings.environment)
                    yield
        else:
            yield

    middleware = []
    if settings.cors_origins:
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=list(settings.cors_origins),
                allow_methods=["GET", "POST"],
                allow_headers=["Authorization", "Content-Type", "Accept-Language"],
            )
        )
    return Starlette(
        routes=[
            Route("/graphql", endpoint.handle, methods=["GET", "POST"]),
            Route("/uploads", files.upload, methods=["POST"]),
            Route("/files/{id}", files.download, methods=["GET"]),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
        ],
        middleware=middleware,
        lifespan=lifespan,
    )
