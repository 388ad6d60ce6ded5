"""Settings → Provider keys: an OpenAI-compatible key added and checked with a real
OpenAI-compatible server on loopback, a wrong base URL shown failing, a check run again, a
key deleted; the key never shown after saving nor logged."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QLineEdit, QMessageBox
from pytestqt.qtbot import QtBot

from console.models.provider_keys import check_state
from console.shot import grab
from console.views.provider_keys import ProviderKeyDialog, ProviderKeysBox
from engine.client import Client, Record
from tests.harness.engine_host import RunningEngine
from tests.harness.live_console import Console
from tests.harness.receivers import ChatStub

KEY = "sk-byok-test-6f1c0d9e2b7a4c58"
WAIT_MS = 20_000  # a save waits for the engine's check of the key (5 s at most) on a loaded box
SHOT_DIR = "SWITCHBOARD_SHOT_DIR"  # where the test leaves a picture of Settings, when set


@pytest.fixture
def stub() -> Iterator[ChatStub]:
    server = ChatStub()
    server.models_key = KEY  # GET /v1/models answers this key only
    server.start()
    yield server
    server.close()


def credentials(engine: RunningEngine) -> list[Record]:
    async def go() -> list[Record]:
        async with Client(engine.url, engine.api_key) as api:
            return await api.provider_credentials.all()

    return asyncio.run(go())


def open_dialog(box: ProviderKeysBox, qtbot: QtBot) -> ProviderKeyDialog:
    box.add()
    qtbot.waitUntil(lambda: box.dialog is not None and box.dialog.isVisible(), timeout=WAIT_MS)
    assert box.dialog is not None
    box.dialog.choose("openai-compatible")
    return box.dialog


def last_check(box: ProviderKeysBox, name: str) -> str:
    row = next((i for i, r in enumerate(box.model.records) if r.get("name") == name), -1)
    return box.model.data(box.model.index(row, 3)) if row >= 0 else ""


def shown_texts(box: ProviderKeysBox) -> str:
    model = box.model
    return " ".join(str(model.data(model.index(row, column)))
                    for row in range(model.rowCount()) for column in range(model.columnCount()))


def test_the_last_check_in_words() -> None:
    assert check_state({"check_ok": True, "checked_at": None}) == "Works"
    assert check_state({"check_ok": True, "checked_at": "2026-12-07T13:03:00Z"}).startswith(
        "Works · checked 7 Dec 2026, ")
    assert check_state({"check_ok": False, "check_message": "GET x answered 401"}) == \
        "Failed: GET x answered 401"
    assert check_state({"check_ok": None, "check_message":
                        "not checked: the credential has no base_url"}) == \
        "Not checked: the credential has no base_url"


@pytest.mark.timeout(180)
def test_add_check_again_and_delete_provider_keys(console: Console, qtbot: QtBot, stub: ChatStub,
                                                  engine_server: RunningEngine,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    settings = console.view("settings")
    box: ProviderKeysBox = settings.provider_keys
    qtbot.waitUntil(lambda: bool(box.catalogue), timeout=WAIT_MS)

    # a working key: the field's own message first for a base URL that is not one
    dialog = open_dialog(box, qtbot)
    key_field = dialog.fields["api_key"]
    assert key_field.echoMode() == QLineEdit.EchoMode.Password
    assert dialog.fields["base_url"].echoMode() == QLineEdit.EchoMode.Normal
    dialog.fields["name"].setText("Loopback LLM")
    dialog.fields["base_url"].setText("not a url")
    key_field.setText(KEY)
    dialog.save()
    qtbot.waitUntil(lambda: bool(dialog.errors.message("base_url")), timeout=WAIT_MS)
    assert "not an http(s) URL" in dialog.errors.message("base_url")
    assert dialog.saved is None and not stub.model_listings
    dialog.fields["base_url"].setText(stub.url)
    dialog.save()
    qtbot.waitUntil(lambda: dialog.saved is not None, timeout=WAIT_MS)
    assert "works" in dialog.answer.text(), dialog.answer.text()
    assert dialog.errors.message("base_url") == ""
    assert key_field.text() == ""  # the key is gone from the dialog once saved
    assert stub.model_listings == [f"Bearer {KEY}"]  # checked with the provider, with the key
    qtbot.waitUntil(lambda: last_check(box, "Loopback LLM").startswith("Works · checked "),
                    timeout=WAIT_MS)
    dialog.close()

    # a wrong base URL: saved, and the check's failure said plainly
    dialog = open_dialog(box, qtbot)
    dialog.fields["name"].setText("Wrong path")
    dialog.fields["base_url"].setText(stub.url.removesuffix("/v1"))  # its /models is a 404
    dialog.fields["api_key"].setText(KEY)
    dialog.save()
    qtbot.waitUntil(lambda: dialog.saved is not None, timeout=WAIT_MS)
    assert "does not work" in dialog.answer.text() and "404" in dialog.answer.text()
    if os.environ.get(SHOT_DIR):
        grab(dialog, Path(os.environ[SHOT_DIR]) / "provider_key_dialog.png")
    qtbot.waitUntil(lambda: last_check(box, "Wrong path").startswith("Failed: GET "),
                    timeout=WAIT_MS)
    assert "404" in last_check(box, "Wrong path")
    dialog.close()
    listed = box.model.records
    assert {r["name"]: r["base_url"] for r in listed} == {
        "Loopback LLM": stub.url, "Wrong path": stub.url.removesuffix("/v1")}
    assert "OpenAI-compatible API (any)" in shown_texts(box)  # the provider's display name
    assert KEY not in shown_texts(box) and KEY not in str(listed)

    if os.environ.get(SHOT_DIR):
        grab(console.window, Path(os.environ[SHOT_DIR]) / "provider_keys.png")

    # check the working one again: the provider is asked once more
    box.table.selectRow(box.model.row_of(next(str(r["id"]) for r in listed
                                              if r["name"] == "Loopback LLM")))
    assert box.check_button.isEnabled()
    box.check_again()
    qtbot.waitUntil(lambda: len(stub.model_listings) == 2, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: "“Loopback LLM” works" in box.state.text(), timeout=WAIT_MS)
    assert stub.model_listings[1] == f"Bearer {KEY}"

    # delete both, each after asking
    for name in ("Wrong path", "Loopback LLM"):
        ident = next(str(r["id"]) for r in box.model.records if r["name"] == name)
        box.table.selectRow(box.model.row_of(ident))
        box.ask_delete()
        question = box.confirmation
        assert isinstance(question, QMessageBox) and name in question.text()
        next(b for b in question.buttons() if b.text() == "Delete").click()
        qtbot.waitUntil(lambda ident=ident: box.model.row_of(ident) < 0, timeout=WAIT_MS)
    assert credentials(engine_server) == []
    assert not box.delete_button.isEnabled()  # nothing chosen any more
    assert KEY not in caplog.text
