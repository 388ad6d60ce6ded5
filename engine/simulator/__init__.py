"""Simulated callers: personas (YAML in ``resources/personas``) played over real SIP and RTP by
a user agent of ours, hearing the agent through the engine's own recogniser."""

from __future__ import annotations

from engine.simulator.caller import CallResult, SimulatedCaller, Turn, simulate
from engine.simulator.personas import Persona, PersonaError, load_persona, persona_names

__all__ = ["CallResult", "Persona", "PersonaError", "SimulatedCaller", "Turn", "load_persona",
           "persona_names", "simulate"]
