"""The FastAPI application: routes, error handlers, shared state."""

from __future__ import annotations

from fastapi import FastAPI

from engine import __version__
from engine.api import errors
from engine.api.auth import KeyVerifier
from engine.api.compat import router as compat_router
from engine.api.crud import router_for
from engine.api.host import ApiHost
from engine.api.resources import RESOURCES
from engine.api.routes import ROUTERS, engine_info, provider_credentials


def create_app(engine: ApiHost) -> FastAPI:
    app = FastAPI(
        title="Switchboard API",
        version=__version__,
        description="Calls, agents, campaigns and live control of the Switchboard engine.",
        docs_url="/docs",
        openapi_url="/openapi.json",
    )
    app.state.engine = engine
    app.state.db = engine.db
    app.state.bus = engine.bus
    app.state.verifier = KeyVerifier(engine.db)
    errors.install(app)

    @app.get("/health", tags=["engine"])
    def health() -> dict[str, object]:
        return {"status": "ok", "version": __version__, "ready": engine.ready}

    app.include_router(provider_credentials.router)  # before the generic /{item_id} routes
    for resource in RESOURCES:
        app.include_router(router_for(resource))
    for router in ROUTERS:
        app.include_router(router)
    app.include_router(engine_info.router)
    app.include_router(compat_router)  # other platforms' endpoints, under /compat/<platform>
    return app
