"""First start: the organization and the admin API key."""

from __future__ import annotations

from sqlalchemy import Engine, select
from sqlmodel import Session, col

from engine.api.auth import display_prefix, hash_key, new_key
from engine.store import ApiKey, Organization


def ensure_root(db: Engine, env_key: str | None) -> tuple[str, str | None]:
    """Create the root organization and an admin key when missing.

    Returns the root organization id and a newly generated key (to print once), or None when the
    key came from the environment or keys already exist.
    """
    with Session(db, expire_on_commit=False) as session:
        root = session.execute(
            select(Organization).where(col(Organization.parent_id).is_(None))
            .order_by(col(Organization.created_at))
        ).scalars().first()
        if root is None:
            root = Organization(name="My organization")
            session.add(root)
            session.commit()
        generated: str | None = None
        if env_key:
            digest = hash_key(env_key)
            known = session.execute(select(ApiKey).where(col(ApiKey.key_hash) == digest)).scalars().first()
            if known is None:
                session.add(ApiKey(organization_id=root.id, name="environment",
                                   prefix=display_prefix(env_key), key_hash=digest, scopes=["admin"]))
        else:
            has_keys = session.execute(
                select(col(ApiKey.id)).where(col(ApiKey.organization_id) == root.id).limit(1)
            ).first()
            if has_keys is None:
                generated = new_key()
                session.add(ApiKey(organization_id=root.id, name="admin", prefix=display_prefix(generated),
                                   key_hash=hash_key(generated), scopes=["admin"]))
        session.commit()
        return root.id, generated
