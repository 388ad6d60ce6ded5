"""Usage by day and kind, the usage log, and the installed TTS voices."""

from __future__ import annotations

from typing import Any

import pytest

from engine.client import ApiError, Client
from tests.harness.tenants import SEED_CALLS, Tenant


async def test_usage_summary(tapi: Client, tenant: Tenant) -> None:
    usage = await tapi.usage()
    stt_cost = sum(1000 * i for i in range(SEED_CALLS))
    assert usage["totals"]["stt"] == {"quantity": 12.5 * SEED_CALLS, "unit": "seconds",
                                      "cost_micro_usd": stt_cost, "rate_unit": "per minute"}
    assert usage["currency"] == "USD"
    assert usage["totals"]["telephony"]["cost_micro_usd"] == 2000 * SEED_CALLS
    assert usage["totals"]["cost_micro_usd"] == stt_cost + 2000 * SEED_CALLS
    days = {(d["day"], d["kind"]) for d in usage["days"]}
    assert ("2026-03-02", "stt") in days and ("2026-03-03", "telephony") in days
    assert sum(d["cost_micro_usd"] for d in usage["days"]) == usage["totals"]["cost_micro_usd"]
    one_day = await tapi.usage(since="2026-03-02", until="2026-03-02")
    assert {d["day"] for d in one_day["days"]} == {"2026-03-02"}
    calls_that_day = sum(1 for c in tenant.calls if c["initiated_at"].day == 2)
    assert one_day["totals"]["telephony"]["quantity"] == calls_that_day
    empty = await tapi.usage(since="2030-01-01")
    assert empty == {"days": [], "totals": {"cost_micro_usd": 0}, "currency": "USD"}
    with pytest.raises(ApiError) as err:
        await tapi.usage(since="last week")
    assert err.value.status == 422 and err.value.field == "since"


async def test_usage_logs(tapi: Client, tenant: Tenant) -> None:
    page = await tapi.usage_logs(limit=10)
    assert page.total == 2 * SEED_CALLS and len(page.items) == 10 and page.total_pages == 9
    stamps = [item["occurred_at"] for item in page.items]
    assert stamps == sorted(stamps, reverse=True)
    stt = await tapi.usage_logs(kind="stt", limit=100)
    assert stt.total == SEED_CALLS and {i["kind"] for i in stt.items} == {"stt"}
    assert {(i["currency"], i["rate_unit"]) for i in stt.items} == {("USD", "per minute")}
    one = await tapi.usage_logs(call_id=tenant.calls[3]["id"])
    assert one.total == 2
    with pytest.raises(ApiError) as err:
        await tapi.usage_logs(kind="gpu")
    assert err.value.status == 422 and err.value.field == "kind"


async def test_usage_of_other_organizations_is_invisible(api: Client, tenant: Tenant) -> None:
    logs = await api.usage_logs(limit=100)
    assert not {i["call_id"] for i in logs.items} & {c["id"] for c in tenant.calls}


async def test_voices(tapi: Client) -> None:
    voices = await tapi.voices()
    assert len(voices) > 20
    english = [v for v in voices if (v["language"] or "").startswith("en")]
    assert english
    for voice in voices:
        assert set(voice) >= {"id", "name", "language", "gender"}
    assert voices == await tapi.voices()


def test_listing_voices_leaves_live_speech_working(monkeypatch: Any) -> None:
    """The catalogue is read without touching this process's libespeak-ng, which speaks calls:
    pyttsx3's espeak driver, initialised in here, would silence it."""
    from engine.api.routes import voices
    from engine.speech.espeak import Espeak, VoiceSettings

    espeak = Espeak.shared()
    settings = VoiceSettings("en-us", 175, 50)

    def speak() -> int:
        chunks: list[bytes] = []
        espeak.synth("Thanks for calling, how can I help?", settings,
                     lambda pcm: chunks.append(pcm) or True).result(timeout=20)
        return sum(len(c) for c in chunks)

    before = speak()
    assert before > 22050  # over half a second of speech
    monkeypatch.setattr(voices, "_catalogue", None)  # read afresh, now that speech has started
    assert len(voices.catalogue()) > 20
    assert speak() > before * 0.9  # the same sentence, still spoken
