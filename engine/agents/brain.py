"""The brain interface, which speech owns: see :mod:`engine.speech.brain`.

Kept so ``from engine.agents.brain import Brain`` goes on working; the agents' brains implement
:class:`engine.speech.brain.Brain`.
"""

from __future__ import annotations

from engine.speech.brain import Brain, BrainOutput, BrainStream, collect, spoken_text

__all__ = ["Brain", "BrainOutput", "BrainStream", "collect", "spoken_text"]
