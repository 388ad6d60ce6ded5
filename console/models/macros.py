"""Macros: an agent's saved say / whisper snippets, kept in the agent's ``metadata.macros`` as
``[{"label", "kind": "say" | "whisper", "text"}]``. The n-th macro (1-9) has the panel's
Ctrl+n shortcut."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, Signal

from console.bridge import ApiBridge
from engine.client import ApiError, Client, Record

MAX_MACROS = 9
KINDS = ("say", "whisper")


@dataclass
class Macro:
    label: str
    kind: str  # say | whisper
    text: str

    def as_json(self) -> Record:
        return {"label": self.label, "kind": self.kind, "text": self.text}

    @classmethod
    def from_json(cls, value: Any) -> Macro | None:
        if not isinstance(value, dict) or not str(value.get("text") or "").strip():
            return None
        kind = str(value.get("kind") or "say")
        return cls(str(value.get("label") or "").strip() or str(value["text"])[:24],
                   kind if kind in KINDS else "say", str(value["text"]))


def parse_macros(metadata: Any) -> list[Macro]:
    items = metadata.get("macros") if isinstance(metadata, dict) else None
    if not isinstance(items, list):
        return []
    return [m for m in (Macro.from_json(v) for v in items) if m is not None][:MAX_MACROS]


def macro_errors(macros: list[Macro]) -> dict[int, str]:
    """Row → message for macros that cannot be saved."""
    out: dict[int, str] = {}
    for row, macro in enumerate(macros):
        if not macro.text.strip():
            out[row] = "the text is empty"
        elif macro.kind not in KINDS:
            out[row] = "say or whisper"
    if len(macros) > MAX_MACROS:
        out[MAX_MACROS] = f"at most {MAX_MACROS} macros (Ctrl+1 to Ctrl+{MAX_MACROS})"
    return out


class MacrosModel(QObject):
    """The macros of one agent, loaded from and saved to its metadata through the API."""

    changed = Signal()
    saved = Signal()
    error = Signal(str)

    def __init__(self, bridge: ApiBridge, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.agent_id = ""
        self.macros: list[Macro] = []
        self.saving = False

    def load(self, agent_id: str) -> None:
        if not agent_id or agent_id == self.agent_id:
            return
        self.agent_id = agent_id
        self.bridge.call(lambda api: api.agents.get(agent_id), self._loaded,
                         lambda exc: self.error.emit(_message(exc)), context=self)

    def agent_changed(self, agent: Record) -> None:
        """An ``agent.updated`` event (another console saved macros)."""
        if agent.get("id") == self.agent_id and "metadata" in agent and not self.saving:
            self._loaded(agent)

    def _loaded(self, agent: Record) -> None:
        self.macros = parse_macros(agent.get("metadata"))
        self.changed.emit()

    def macro(self, number: int) -> Macro | None:
        """The macro of Ctrl+``number`` (1-9)."""
        return self.macros[number - 1] if 1 <= number <= len(self.macros) else None

    def save(self, macros: list[Macro]) -> bool:
        """Writes the list into the agent's metadata, keeping its other keys (read, then PATCH)."""
        if not self.agent_id or macro_errors(macros):
            return False
        agent_id = self.agent_id
        items = [m.as_json() for m in macros]

        async def write(api: Client) -> Record:
            agent = await api.agents.get(agent_id)
            metadata = dict(agent.get("metadata") or {})
            metadata["macros"] = items
            return await api.agents.update(agent_id, metadata=metadata)

        self.saving = True
        self.bridge.call(write, self._saved, self._failed, context=self)
        return True

    def _saved(self, agent: Record) -> None:
        self.saving = False
        self._loaded(agent)
        self.saved.emit()

    def _failed(self, exc: Exception) -> None:
        self.saving = False
        self.error.emit(f"Saving macros: {_message(exc)}")


def _message(exc: Exception) -> str:
    return exc.message if isinstance(exc, ApiError) else (str(exc) or type(exc).__name__)
