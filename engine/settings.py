"""Engine settings: where data lives, where it listens. CLI flags and the environment fill them."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8040
DEFAULT_SIP_PORT = 5060
API_KEY_ENV = "SWITCHBOARD_API_KEY"


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("switchboard", appauthor=False))


@dataclass
class Settings:
    data_dir: Path
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    database_url: str | None = None
    api_key: str | None = None
    sip_host: str = DEFAULT_HOST
    sip_port: int = DEFAULT_SIP_PORT
    sip_enabled: bool = False  # listen for SIP (serve --sip-port/--sip-host turn it on)
    sip_port_fallback: bool = False  # sip_port taken: listen on a free port instead (--sip-port auto)
    # the media thread and RTP pacer ask for real-time scheduling where allowed (--no-realtime)
    media_realtime: bool = True
    demo_callers: int = 0  # simulated calls kept in progress on our own SIP port (0: off)

    @classmethod
    def from_env(cls, data_dir: Path | None = None, **overrides: object) -> Settings:
        settings = cls(data_dir=Path(data_dir) if data_dir else default_data_dir())
        settings.api_key = os.environ.get(API_KEY_ENV) or None
        settings.database_url = os.environ.get("SWITCHBOARD_DATABASE_URL") or None
        for key, value in overrides.items():
            if value is not None:
                setattr(settings, key, value)
        return settings

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'switchboard.db'}"

    @property
    def recordings_dir(self) -> Path:
        return self.data_dir / "recordings"

    @property
    def models_dir(self) -> Path:
        return self.data_dir / "models"
