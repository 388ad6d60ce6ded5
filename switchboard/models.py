"""``switchboard models``: install and list speech recognition models."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from engine.settings import Settings
from engine.speech.models import import_vosk_model, list_models

BAR_WIDTH = 30


def _bar(done: int, total: int) -> None:
    share = done / total if total else 1.0
    filled = int(share * BAR_WIDTH)
    sys.stderr.write(f"\r[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {share:6.1%} "
                     f"{done / 1e6:7.1f} / {total / 1e6:.1f} MB")
    sys.stderr.flush()


def run_models(args: argparse.Namespace) -> int:
    data_dir = Settings.from_env(args.models_data_dir or args.data_dir).data_dir
    if args.models_command == "list":
        for model in list_models(data_dir):
            print(f"{model.engine:8} {model.name:40} {model.language or '-':4} {model.path}")
        return 0
    source = Path(args.path)
    if not source.exists():
        print(f"switchboard: {source} does not exist", file=sys.stderr)
        return 2
    try:
        target = import_vosk_model(source, data_dir, name=args.name, progress=_bar,
                                   replace=args.replace)
    except (ValueError, FileExistsError, OSError) as exc:
        print(f"\nswitchboard: {exc}", file=sys.stderr)
        return 1
    sys.stderr.write("\n")
    print(f"installed vosk model {target.name} at {target}")
    return 0
