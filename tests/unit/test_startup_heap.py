"""The engine's startup heap is kept out of the garbage collector's full collections."""

from __future__ import annotations

import gc
from types import SimpleNamespace
from typing import cast

from engine.app import Engine, freeze_startup_heap


async def test_the_heap_is_frozen_at_start_and_again_once_the_models_are_loaded() -> None:
    kept: list[list[int]] = []
    frozen_at_start: list[int] = []

    def wait_warm(_timeout: float | None = None) -> None:  # the speech models load meanwhile
        frozen_at_start.append(gc.get_freeze_count())
        kept.extend([i] for i in range(2000))

    models = SimpleNamespace(wait_warm=wait_warm)
    engine = cast(Engine, SimpleNamespace(telephony=SimpleNamespace(
        agents=SimpleNamespace(models=models))))
    gc.unfreeze()
    try:
        await freeze_startup_heap(engine)
        [at_start] = frozen_at_start
        assert at_start > 10_000  # the modules and classes loaded so far
        frozen = gc.get_freeze_count()
        assert frozen >= at_start + len(kept)  # and what loading the models made
        gc.collect()
        assert gc.get_freeze_count() == frozen  # full collections leave them be
    finally:
        gc.unfreeze()
