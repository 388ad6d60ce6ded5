"""API errors: every error body is ``{"error": message, "code": CODE, "field": name?}``."""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
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


def field_of(loc: Sequence[Any]) -> str:
    """The dotted field name of a pydantic error location, without its ``body``/``query`` part."""
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def did_you_mean(name: str, known: Iterable[str], cutoff: float = 0.6) -> str:
    """``"; did you mean <the closest known name>?"``, or nothing when none is close."""
    close = difflib.get_close_matches(name.lower(), sorted(known), n=1, cutoff=cutoff)
    return f"; did you mean {close[0]}?" if close else ""


def not_a_field(name: str, what: str, known: Iterable[str] | None = None) -> str:
    """Our refusal of a field a request does not take (never pydantic's "Extra inputs are not
    permitted"): ``not a field of <what>; did you mean <close>? (the fields: ...)``."""
    if known is None:
        return f"not a field of {what}"
    names = sorted(known)
    return f"not a field of {what}{did_you_mean(name, names)} (the fields: {', '.join(names)})"


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The model an annotation holds (``M``, ``M | None``, ``list[M]``, ``Annotated[M, ...]``)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if isinstance(annotation, (types.UnionType, types.GenericAlias)) or typing.get_origin(annotation):
        for arg in typing.get_args(annotation):
            found = _model_in(arg)
            if found is not None:
                return found
    return None


def _field_names(model: type[BaseModel]) -> list[str]:
    return [info.alias or name for name, info in model.model_fields.items()]


def _fields_around(request: Request | None, loc: Sequence[Any]) -> tuple[str, list[str] | None]:
    """(what, its field names) for the object an extra field of the request body was sent in:
    the route's body model, or the model of the field it is nested in."""
    route = request.scope.get("route") if request is not None else None
    body_field = getattr(route, "body_field", None)
    model = _model_in(getattr(getattr(body_field, "field_info", None), "annotation", None))
    inner = list(loc[1:-1]) if loc and loc[0] == "body" else None
    if request is None or inner is None or model is None:
        return "this request", None
    path: list[str] = []
    for part in inner:
        if isinstance(part, int):
            path.append(str(part))
            continue
        infos: Mapping[str, Any] = {info.alias or name: info for name, info in
                                    model.model_fields.items()}
        info = infos.get(str(part))
        model = _model_in(info.annotation) if info is not None else None
        if model is None:
            return ".".join([*path, str(part)]), None
        path.append(str(part))
    if path:
        return ".".join(path), _field_names(model)
    return f"the body of {request.method} {getattr(route, 'path', request.url.path)}", \
        _field_names(model)


def readable(error: Mapping[str, Any], request: Request | None = None) -> tuple[str, str]:
    """(field, message) of one of pydantic's errors, in our words where pydantic's are not
    ours to show (a field the request does not take)."""
    loc = tuple(error.get("loc", ()))
    field = field_of(loc)
    if error.get("type") == "extra_forbidden" and loc:
        what, known = _fields_around(request, loc)
        return field, not_a_field(str(loc[-1]), what, known)
    return field, str(error.get("msg", "invalid"))


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(error_body(exc.message, exc.code, exc.field), status_code=exc.status)

    @app.exception_handler(CallError)
    async def _call_error(_: Request, exc: CallError) -> JSONResponse:
        return JSONResponse(error_body(exc.message, exc.code, exc.field),
                            status_code=call_error_status(exc))

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [readable(e, request) for e in exc.errors()] or [("body", "invalid request")]
        field, message = errors[0]
        body = error_body(f"{field}: {message}", "VALIDATION_ERROR", field)
        body["details"] = [{"field": name, "message": text} for name, text in errors]
        return JSONResponse(body, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _CODES.get(exc.status_code, "ERROR")
        return JSONResponse(error_body(str(exc.detail), code), status_code=exc.status_code,
                            headers=getattr(exc, "headers", None))
