"""API errors: every error body is ``{"error": message, "code": CODE, "field": name?}``."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from engine.calls.errors import CallError

_CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    409: "CONFLICT",
    416: "RANGE_NOT_SATISFIABLE",
    422: "VALIDATION_ERROR",
    500: "INTERNAL_ERROR",
}


# The HTTP status of each live-call refusal (engine.calls.errors.CallError) by its code; any
# other code is a conflict with the call's state (409).
CALL_ERROR_STATUS = {
    "CALL_NOT_LIVE": 400,
    "CONTROL_TIMEOUT": 504,
    "UNAVAILABLE": 503,
}


def call_error_status(error: CallError) -> int:
    """The HTTP status a live call's refusal answers with."""
    return CALL_ERROR_STATUS.get(error.code, 409)


class ApiError(Exception):
    """Raise from a handler to answer with a clear, typed error."""

    def __init__(self, status: int, message: str, code: str | None = None,
                 field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code or _CODES.get(status, "ERROR")
        self.field = field


def not_found(what: str, ident: str) -> ApiError:
    return ApiError(404, f"{what} {ident} not found", "NOT_FOUND")


def invalid(field: str, message: str) -> ApiError:
    return ApiError(422, f"{field}: {message}", "VALIDATION_ERROR", field)


@contextmanager
def offer_errors() -> Iterator[None]:
    """A WebRTC offer the engine cannot answer (``engine.webrtc.OfferError``, or aiortc's own
    ValueError) answers 422 on ``sdp``."""
    try:
        yield
    except ValueError as exc:
        raise invalid("sdp", str(exc)) from None


def error_body(message: str, code: str, field: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"error": message, "code": code}
    if field is not None:
        body["field"] = field
    return body


def _field_of(loc: Sequence[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(error_body(exc.message, exc.code, exc.field), status_code=exc.status)

    @app.exception_handler(CallError)
    async def _call_error(_: Request, exc: CallError) -> JSONResponse:
        return JSONResponse(error_body(exc.message, exc.code, exc.field),
                            status_code=call_error_status(exc))

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        first = errors[0] if errors else {"loc": ("body",), "msg": "invalid request"}
        field = _field_of(first.get("loc", ()))
        message = f"{field}: {first.get('msg', 'invalid')}"
        body = error_body(message, "VALIDATION_ERROR", field)
        body["details"] = [
            {"field": _field_of(e.get("loc", ())), "message": e.get("msg", "")} for e in errors
        ]
        return JSONResponse(body, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _CODES.get(exc.status_code, "ERROR")
        return JSONResponse(error_body(str(exc.detail), code), status_code=exc.status_code,
                            headers=getattr(exc, "headers", None))
