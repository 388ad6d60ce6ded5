"""The engine's startup heap is kept out of the garbage collector's full collections."""

from __future__ import annotations

import gc
import weakref
from types import SimpleNamespace
from typing import Any, cast

from engine.app import Engine, freeze_startup_heap


class Node:
    link: Any = None


async def test_the_heap_is_frozen_at_start_and_again_once_the_models_are_loaded() -> None:
    frozen_at_start: list[int] = []
    refs: list[weakref.ref[Node]] = []

    def wait_warm(_timeout: float | None = None) -> None:  # the speech models load meanwhile
        frozen_at_start.append(gc.get_freeze_count())
        node = Node()
        node.link = node  # a cycle: only a collection can free it
        refs.append(weakref.ref(node))

    models = SimpleNamespace(wait_warm=wait_warm)
    engine = cast(Engine, SimpleNamespace(telephony=SimpleNamespace(
        agents=SimpleNamespace(models=models))))
    gc.unfreeze()
    try:
        await freeze_startup_heap(engine)
        [at_start] = frozen_at_start
        assert at_start > 10_000  # the modules and classes loaded so far
        gc.collect()
        assert refs[0]() is not None  # frozen after the models loaded: no collection scans it
    finally:
        gc.unfreeze()
    gc.collect()
    assert refs[0]() is None  # unfrozen, the same collection frees it
