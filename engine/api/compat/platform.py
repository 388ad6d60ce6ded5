"""A platform whose API Switchboard speaks: where its clients send the API key, what it calls
Switchboard's fields, and the shape of its errors.

Each platform's routes use :func:`route_class`, so that every refusal on them (a missing key, a
bad body, a field the core refuses) answers in the platform's shape and names the field as the
platform calls it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, ValidationError

from engine.api.auth import Principal, bearer, principal_of_key
from engine.api.errors import ApiError, error_body, invalid, readable

# Where the fields a platform sends, and Switchboard's core has no meaning for yet, are kept:
# ``metadata["compat"] = {"platform": name, <field>: <value>, ...}``.
COMPAT_KEY = "compat"

M = TypeVar("M", bound=BaseModel)
ErrorShape = Callable[[int, str, str, "str | None"], dict[str, Any]]


class Refusal(ApiError):
    """A refusal already in the platform's words (its field names), not the core's."""


def refuse(field: str, message: str) -> Refusal:
    """A 422 naming one of the platform's own fields."""
    return Refusal(422, f"{field}: {message}", "VALIDATION_ERROR", field)


def switchboard_error(status: int, message: str, code: str, field: str | None) -> dict[str, Any]:
    """Switchboard's own error body (for platforms whose documents show none)."""
    return error_body(message, code, field)


@dataclass(frozen=True)
class Platform:
    """One platform: its name (the path segment under ``/compat``), where its clients send the
    API key, its names for Switchboard's fields and its error body."""

    name: str
    key_header: str  # "authorization" (a bearer token) or a header carrying the bare key
    aliases: Mapping[str, str] = field(default_factory=dict)  # Switchboard's name -> the platform's
    error_shape: ErrorShape = switchboard_error

    @property
    def auth_hint(self) -> str:
        if self.key_header == "authorization":
            return "Authorization: Bearer <key>"
        return f"{self.key_header}: <key>"

    def key_of(self, request: Request) -> str | None:
        raw = request.headers.get(self.key_header)
        if self.key_header == "authorization":
            return bearer(raw)
        return raw.strip() if raw is not None and raw.strip() else None

    def name_of(self, core_field: str) -> str:
        """The platform's name for a Switchboard field (``to_number`` -> ``call_to``)."""
        head, dot, rest = core_field.partition(".")
        return self.aliases.get(head, head) + dot + rest

    def words(self, message: str, field: str | None = None) -> str:
        """A core message in the platform's words: the field it starts with, and the core's
        field names it mentions (those that look like identifiers, ``from_number``; a plain
        word such as ``status`` is left alone in the text)."""
        if field is not None and message.startswith(f"{field}: "):
            message = f"{self.name_of(field)}: {message[len(field) + 2:]}"
        for core, theirs in self.aliases.items():
            if "_" in core:
                message = re.sub(rf"\b{re.escape(core)}\b", theirs, message)
        return message

    def error(self, status: int, message: str, code: str, field: str | None = None) -> JSONResponse:
        """A refusal by Switchboard's core, its field put in the platform's words."""
        name = self.name_of(field) if field is not None else None
        return self.refusal(status, self.words(message, field), code, name)

    def refusal(self, status: int, message: str, code: str, field: str | None = None) -> JSONResponse:
        """A refusal already in the platform's words, in its error shape."""
        return JSONResponse(self.error_shape(status, message, code, field), status_code=status)

    def principal(self, request: Request) -> Principal:
        """FastAPI dependency: the caller's principal from the platform's own key header."""
        key = self.key_of(request)
        if key is None:
            raise ApiError(401, f"missing API key ({self.auth_hint})", "UNAUTHORIZED")
        principal = principal_of_key(request, key)
        if principal is None:
            raise ApiError(401, "invalid or revoked API key", "UNAUTHORIZED")
        return principal

    def stash(self, metadata: Mapping[str, Any], fields: Mapping[str, Any]) -> dict[str, Any]:
        """The call's metadata with the fields the core has no meaning for kept under
        ``compat``; a client's own ``compat`` key is refused (it is reserved)."""
        if COMPAT_KEY in metadata:
            raise refuse("metadata.compat", "is reserved for the fields Switchboard keeps for "
                                             "the platform; use another key")
        out = dict(metadata)
        kept = {name: value for name, value in fields.items() if value is not None}
        if kept:
            out[COMPAT_KEY] = {"platform": self.name, **kept}
        return out


def first_error(errors: Sequence[Any], request: Request | None = None) -> tuple[str, str]:
    """(field, message) of the first of pydantic's errors, in our words (engine.api.errors)."""
    if not errors:
        return "body", "invalid request"
    return readable(errors[0], request)


def core_model(model: type[M], values: Mapping[str, Any]) -> M:
    """Switchboard's own request model from mapped values, or a 422 naming the field."""
    try:
        return model(**values)
    except ValidationError as exc:
        name, message = first_error(exc.errors())
        raise invalid(name, message) from None


def route_class(platform: Platform) -> type[APIRoute]:
    """An APIRoute whose refusals answer in the platform's shape, naming its fields."""

    class PlatformRoute(APIRoute):
        def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
            handler = super().get_route_handler()

            async def guarded(request: Request) -> Response:
                try:
                    return await handler(request)
                except Refusal as exc:
                    return platform.refusal(exc.status, exc.message, exc.code, exc.field)
                except ApiError as exc:
                    return platform.error(exc.status, exc.message, exc.code, exc.field)
                except RequestValidationError as exc:
                    # the platform's own names: its body model is the route's
                    name, message = first_error(exc.errors(), request)
                    return platform.refusal(422, f"{name}: {message}", "VALIDATION_ERROR", name)

            return guarded

    PlatformRoute.__name__ = f"{platform.name.capitalize()}Route"
    return PlatformRoute


__all__ = ["COMPAT_KEY", "Platform", "Refusal", "core_model", "refuse", "route_class",
           "switchboard_error"]
