"""The Agents view: the agents beside an editor with every field of an agent."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QGroupBox, QWidget

from console.bridge import ApiBridge
from console.context import ConsoleContext
from console.models.records import Column
from console.views.base import View
from console.views.editor import RecordEditor
from console.views.forms import FormInvalid, new_form
from console.views.reflow import ReflowGrid
from console.views.rehearsal import RehearsalDialog
from console.views.widgets import button, heading
from engine.client import Client, Collection, Record

LANGUAGES = ("en-US", "en-GB", "es-ES", "fr-FR", "de-DE", "it-IT", "pt-BR", "nl-NL", "ko-KR", "ja-JP")
AGENT_FIELDS = ("name", "description", "language", "first_message", "system_prompt", "brain", "stt",
                "tts", "idle_timeout_seconds", "idle_max_prompts", "max_duration_seconds", "interruptible",
                "voicemail_message", "end_call_message", "script")
# what a new scripted agent starts from: it greets, answers hours questions, says goodbye
# (the script's shape: engine/demo/scripts.py)
STARTER_SCRIPT = {
    "greeting": "Hello, thanks for calling. How can I help you today?",
    "intents": [{"name": "opening_hours", "keywords": ["hours", "open", "close"],
                 "actions": [{"say": "We are open Monday to Friday, nine to five."},
                             {"goto": "anything_else"}]}],
    "anything_else": "Is there anything else I can help with?",
    "goodbye": {"keywords": ["bye", "that's all"], "say": "Thanks for calling. Goodbye!"},
    "fallback": {"say": ["Sorry, I didn't catch that."], "max_consecutive": 2, "then": "end_call"},
}
LLM_ONLY = ("brain.base_url", "brain.model")  # fields that mean nothing to a scripted brain


class AgentEditor(RecordEditor):
    noun = "agent"
    resource = "agent"
    duplicable = True

    def __init__(self, bridge: ApiBridge, title: str) -> None:
        super().__init__(bridge, title)
        self.test_call_button = button("Test call", self.test_call)
        self.test_call_button.setToolTip("Call this agent from your microphone over WebRTC")
        self.actions_row.insertWidget(1, self.test_call_button)
        self.test_call_button.setEnabled(self.current is not None)
        self.rehearse_button = button("Rehearse", self.rehearse)
        self.rehearse_button.setToolTip("Let simulated callers (personas) call this agent as test "
                                        "calls, and score each call")
        self.actions_row.insertWidget(2, self.rehearse_button)
        self.rehearse_button.setEnabled(self.current is not None)
        self.rehearsal_dialog: RehearsalDialog | None = None
        self._brain_kind_changed()

    def edit(self, record: Record) -> None:
        super().edit(record)
        self.test_call_button.setEnabled(True)
        self.rehearse_button.setEnabled(True)

    def new_record(self) -> None:
        super().new_record()
        if hasattr(self, "rehearse_button"):
            self.test_call_button.setEnabled(False)
            self.rehearse_button.setEnabled(False)

    def test_call(self) -> None:
        """Call the saved agent from the softphone dock, which opens to show the call; with
        unsaved edits, the user first saves them (the call uses the saved agent) or discards them."""
        self.unless_unsaved(self._test_call)

    def _test_call(self) -> None:
        record = self.current
        softphone = getattr(self.window(), "softphone", None)
        if record is None or softphone is None:
            return
        if not softphone.test_call(str(record["id"]), str(record.get("name") or "")):
            self.state.setText("The test call could not start: see the softphone.")

    def rehearse(self) -> RehearsalDialog | None:
        """The saved agent's rehearsal dialog: its personas, its rehearsals and their reports."""
        record = self.current
        if record is None:
            return None
        dialog = self.rehearsal_dialog
        if dialog is not None and dialog.agent_id != record["id"]:
            dialog.close()
            dialog = None
        if dialog is None:
            dialog = RehearsalDialog(self.bridge, record, self)
            dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            dialog.open_call_requested.connect(self.open_call)
            dialog.destroyed.connect(lambda _=None, d=dialog: self._dialog_gone(d))
            self.rehearsal_dialog = dialog
        dialog.show()
        dialog.raise_()
        return dialog

    def _dialog_gone(self, dialog: RehearsalDialog) -> None:
        if self.rehearsal_dialog is dialog:
            self.rehearsal_dialog = None

    def open_call(self, call_id: str) -> None:
        """A rehearsal's test call in the Calls view."""
        show_view = getattr(self.window(), "show_view", None)
        if show_view is not None:
            show_view("calls").open_call_when_loaded(call_id)

    def collection(self, api: Client) -> Collection:
        return api.agents

    def columns(self) -> list[Column]:
        return [Column.key("Name", "name"), Column.key("Language", "language"),
                Column("Brain", lambda r: (r.get("brain") or {}).get("kind", ""))]

    def blank(self) -> Record:
        return {"language": "en-US", "brain": {"kind": "scripted", "temperature": 0.7},
                "stt": {"engine": "whisper"}, "tts": {"engine": "espeak-ng", "rate": 175, "pitch": 50},
                "idle_timeout_seconds": 10, "idle_max_prompts": 1, "max_duration_seconds": 1800,
                "interruptible": True, "script": STARTER_SCRIPT}

    def check(self, values: Record) -> None:
        if not str(values.get("name") or "").strip():
            raise FormInvalid("name", "An agent needs a name.")
        if (values.get("brain") or {}).get("kind") == "scripted" and not values.get("script"):
            raise FormInvalid("script", "A scripted agent needs a script: at least a greeting, "
                                        "e.g. {\"greeting\": \"Hello!\"}.")

    def _brain_kind_changed(self) -> None:
        llm = self.form.bindings["brain.kind"].get() == "llm"
        for path in LLM_ONLY:
            self.form.widget(path).setEnabled(llm)

    def build_form(self) -> QWidget:
        f = self.form
        page = grid = ReflowGrid()

        identity = new_form()
        f.line(identity, "Name", "name", "Front desk")
        f.line(identity, "Description", "description")
        language = f.combo(identity, "Language", "language", [(code, code) for code in LANGUAGES])
        language.setEditable(True)
        f.text(identity, "First message", "first_message", height=64,
               placeholder="What the agent says when the call starts")
        f.text(identity, "System prompt", "system_prompt", height=96)
        f.text(identity, "Voicemail message", "voicemail_message", height=52)
        f.text(identity, "End-of-call message", "end_call_message", height=52)
        grid.add(_group("Conversation", identity), 0, 0, 2, 1)

        brain = new_form()
        kind = f.combo(brain, "Kind", "brain.kind", [("Scripted (offline)", "scripted"),
                                                      ("LLM (OpenAI-compatible)", "llm")])
        # placeholders say what to type, so that they do not pass for values already set
        base_url = f.line(brain, "Base URL", "brain.base_url",
                          "Required for an LLM, e.g. http://localhost:11434/v1", empty_is_none=True)
        base_url.setToolTip("The address of an OpenAI-compatible API (Ollama, vLLM, OpenAI...)")
        f.line(brain, "Model", "brain.model", "e.g. llama3.1", empty_is_none=True)
        kind.currentIndexChanged.connect(lambda _: self._brain_kind_changed())
        f.decimal(brain, "Temperature", "brain.temperature", 0.0, 2.0, default=0.7)
        grid.add(_group("Brain", brain), 0, 1)

        speech = new_form()
        f.combo(speech, "STT engine", "stt.engine", [("Whisper", "whisper"), ("Vosk", "vosk")])
        f.line(speech, "STT model", "stt.model", "tiny.en", empty_is_none=True)
        f.line(speech, "STT language", "stt.language", "en", empty_is_none=True)
        self.voice = f.combo(speech, "Voice", "tts.voice", [("Default voice", None)])
        f.spin(speech, "Rate", "tts.rate", 80, 450, " wpm")
        f.spin(speech, "Pitch", "tts.pitch", 0, 99)
        grid.add(_group("Speech", speech), 1, 1)

        limits = new_form()
        f.spin(limits, "Idle timeout", "idle_timeout_seconds", 1, 3600, " s")
        f.spin(limits, "Idle prompts", "idle_max_prompts", 0, 20)
        f.spin(limits, "Max duration", "max_duration_seconds", 10, 86400, " s")
        barge_in = f.check(limits, "Interruptible", "interruptible", "Barge-in")
        barge_in.setToolTip("Caller speech stops the agent (barge-in)")
        grid.add(_group("Limits", limits), 2, 0)

        script = new_form()
        f.json(script, "Script", "script", height=150)
        grid.add(_group("Scripted brain (JSON)", script), 2, 1)
        return page

    def body(self, values: Record, original: Record | None) -> Record:
        body = super().body(values, original)
        return {key: body[key] for key in AGENT_FIELDS if key in body}

    def duplicate_body(self, body: Record) -> Record:
        body = super().duplicate_body(body)
        return {key: body[key] for key in (*AGENT_FIELDS, "tool_ids", "analysis_template_id", "metadata")
                if key in body}

    def set_voices(self, voices: list[Record]) -> None:
        combo: QComboBox = self.voice
        current = combo.currentData()
        combo.blockSignals(True)
        combo.clear()
        combo.addItem("Default voice", None)
        for voice in voices:
            ident = voice.get("id") or voice.get("name")
            languages = voice.get("languages") or voice.get("language") or ""
            if isinstance(languages, list):
                languages = ", ".join(str(x) for x in languages[:2])
            name = str(voice.get("name", ident))
            text = f"{name}  ({languages})" if languages else name
            combo.addItem(text, ident)
        index = combo.findData(current)
        if index < 0 and current is not None:
            combo.addItem(str(current), current)
            index = combo.count() - 1
        combo.setCurrentIndex(max(0, index))
        combo.blockSignals(False)


def _group(title: str, layout: Any) -> QGroupBox:
    box = QGroupBox(title)
    box.setLayout(layout)
    return box


class AgentsView(View):
    title = "Agents"

    def __init__(self, ctx: ConsoleContext) -> None:
        super().__init__(ctx)
        top, self.subtitle = heading("Agents", "Who answers and places your calls, and how they sound")
        self.page.addWidget(top)
        self.editor = AgentEditor(self.bridge, "All agents")
        self.editor.splitter.setSizes([330, 1000])
        self.page.addWidget(self.editor, 1)
        self.editor.loaded.connect(self._editor_loaded)
        self.editor.saved.connect(lambda _: ctx.records_changed.emit("agent"))
        self.editor.removed.connect(lambda _: ctx.records_changed.emit("agent"))
        self.editor.count_changed.connect(self._show_count)
        self.bridge.event_received.connect(self.editor.follow)
        self._pending = 0

    def refresh(self) -> None:
        self.is_loaded = False
        self._pending = 2
        self.editor.refresh()
        self.bridge.call(lambda api: api.voices(), self._got_voices, lambda exc: self._settle())

    def _got_voices(self, voices: list[Record]) -> None:
        edited = self.editor.is_dirty()
        self.editor.set_voices(voices)
        if self.editor.current is not None and not edited:
            self.editor.form.bindings["tts.voice"].set((self.editor.current.get("tts") or {}).get("voice"))
        if not edited:
            self.editor.mark_clean()
        self._settle()

    def _show_count(self, count: int) -> None:
        self.subtitle.setText(f"{count} agent{'s' if count != 1 else ''}")

    def _editor_loaded(self) -> None:
        self._show_count(self.editor.model.rowCount())
        self._settle()

    def _settle(self) -> None:
        self._pending -= 1
        if self._pending <= 0:
            self.loaded.emit()

    def select(self, agent_id: str) -> None:
        self.editor.select(agent_id)
