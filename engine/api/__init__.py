"""API v1: REST + the events WebSocket, on FastAPI, served for an :class:`ApiHost`."""

from engine.api.app import create_app
from engine.api.host import ApiHost

__all__ = ["ApiHost", "create_app"]
