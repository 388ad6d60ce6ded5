"""Light and dark themes: the style sheets in resources/themes plus a matching palette.

Widgets that paint themselves (transcript bubbles, charts) read their colours from
``colors()`` so they follow the theme too.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtGui import QColor, QIcon, QPalette
from PySide6.QtWidgets import QApplication

from engine.settings import resource_dir

THEMES = ("light", "dark")


@dataclass(frozen=True)
class ThemeColors:
    window: str
    surface: str
    text: str
    muted: str
    border: str
    accent: str
    danger: str
    success: str
    selection: str  # a selected table row (the style sheets' ``::item:selected``)
    # transcript speakers: bubble background per source
    speakers: dict[str, str]
    # usage chart: one colour per kind
    kinds: dict[str, str]


LIGHT = ThemeColors(
    window="#f5f6f8", surface="#ffffff", text="#1f2328", muted="#6b7280", border="#e2e5ea",
    accent="#4f46e5", danger="#dc2626", success="#16a34a", selection="#e0e4ff",
    speakers={"agent": "#eef0ff", "user": "#ecfdf3", "human_agent": "#fff7e6",
              "supervisor": "#fdf0f7", "system": "#f3f4f6"},
    kinds={"stt": "#6366f1", "llm": "#f59e0b", "tts": "#10b981", "telephony": "#ef4444"},
)
DARK = ThemeColors(
    window="#121418", surface="#1b1e24", text="#e6e8eb", muted="#9aa1ab", border="#2b3039",
    accent="#818cf8", danger="#f87171", success="#4ade80", selection="#33386a",
    speakers={"agent": "#2a2d4a", "user": "#17372a", "human_agent": "#3b2f17",
              "supervisor": "#3a1f32", "system": "#262a32"},
    kinds={"stt": "#818cf8", "llm": "#fbbf24", "tts": "#34d399", "telephony": "#f87171"},
)

_current = "light"


def colors() -> ThemeColors:
    return DARK if _current == "dark" else LIGHT


def current() -> str:
    return _current


def style_sheet(name: str) -> str:
    return (resource_dir("themes") / f"{name}.qss").read_text("utf-8")


def app_icon() -> QIcon:
    path = resource_dir("icons") / "switchboard.svg"
    return QIcon(str(path))


def apply(app: QApplication, name: str) -> None:
    """Switch the whole application to the named theme."""
    global _current
    if name not in THEMES:
        raise ValueError(f"unknown theme {name!r}; choose one of {', '.join(THEMES)}")
    _current = name
    app.setStyle("Fusion")
    c = colors()
    palette = QPalette()
    for role, value in (
        (QPalette.ColorRole.Window, c.window), (QPalette.ColorRole.Base, c.surface),
        (QPalette.ColorRole.AlternateBase, c.window), (QPalette.ColorRole.Text, c.text),
        (QPalette.ColorRole.WindowText, c.text), (QPalette.ColorRole.Button, c.surface),
        (QPalette.ColorRole.ButtonText, c.text), (QPalette.ColorRole.Highlight, c.accent),
        (QPalette.ColorRole.HighlightedText, "#ffffff"), (QPalette.ColorRole.ToolTipBase, c.surface),
        (QPalette.ColorRole.ToolTipText, c.text), (QPalette.ColorRole.PlaceholderText, c.muted),
        (QPalette.ColorRole.Link, c.accent),
    ):
        palette.setColor(role, QColor(value))
    app.setPalette(palette)
    app.setStyleSheet(style_sheet(name))
