"""API v1: REST + the events WebSocket, on FastAPI."""

from engine.api.app import create_app

__all__ = ["create_app"]
