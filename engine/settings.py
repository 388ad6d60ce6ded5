"""Engine settings: where data lives, where it listens. CLI flags and the environment fill them."""

from __future__ import annotations

import contextlib
import os
import sysconfig
from dataclasses import dataclass
from pathlib import Path

import platformdirs

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8040
DEFAULT_SIP_PORT = 5060
API_KEY_ENV = "SWITCHBOARD_API_KEY"


# The project's shipped data (personas, themes, icons) is the top-level resources/ folder of a
# checkout or an editable install; a wheel puts each of its folders under the install scheme's
# data path (pyproject's [tool.setuptools.data-files]), the environment's or the user's.
SOURCE_RESOURCES = Path(__file__).resolve().parents[1] / "resources"
INSTALLED_RESOURCES = Path("share") / "switchboard"


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("switchboard", appauthor=False))


def installed_resource_dirs(name: str) -> list[Path]:
    """Where an install may have put the shipped folder ``name``: under the data path of the
    environment's install scheme, then of the user's (``pip install --user``)."""
    bases = [sysconfig.get_path("data")]
    with contextlib.suppress(KeyError, ValueError):
        bases.append(sysconfig.get_path("data", sysconfig.get_preferred_scheme("user")))
    return [Path(base) / INSTALLED_RESOURCES / name for base in dict.fromkeys(bases)]


def resource_dir(name: str, source: Path | None = None, installed: list[Path] | None = None) -> Path:
    """The shipped folder ``name`` (personas, themes, icons): the source tree's
    ``resources/<name>`` when there is one, else the first installed copy; the source tree's
    path when there is none (an error then names it)."""
    own = source if source is not None else SOURCE_RESOURCES / name
    candidates = [own, *(installed_resource_dirs(name) if installed is None else installed)]
    return next((folder for folder in candidates if folder.is_dir()), own)


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
