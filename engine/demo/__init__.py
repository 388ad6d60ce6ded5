"""Demo data: agents, numbers, a trunk, campaigns with leads and thousands of past calls."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy import Engine


def seed_if_empty(db: Engine, organization_id: str) -> bool:
    """Seed the demo data when the organization has no agents yet; True when it seeded."""
    from engine.demo.seed import seed

    return seed(db, organization_id, only_if_empty=True)


__all__ = ["seed_if_empty"]
