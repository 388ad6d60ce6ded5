"""Routers beyond the generic CRUD: calls, organizations, keys, usage, voices, events."""

from __future__ import annotations

from fastapi import APIRouter

ROUTERS: list[APIRouter] = []
