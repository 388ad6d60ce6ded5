"""Simulated parties: personas (YAML in ``resources/personas``) played over real SIP and RTP by
user agents of ours, hearing the agent through the engine's own recogniser: callers that dial
the engine, and callees that answer its outbound calls by a number plan."""

from __future__ import annotations

from engine.simulator.callee import SimulatedCallees
from engine.simulator.caller import CallResult, SimulatedCaller, Turn, simulate
from engine.simulator.number_plan import NumberPlan, demo_plan
from engine.simulator.personas import Persona, PersonaError, load_persona, persona_names

__all__ = ["CallResult", "NumberPlan", "Persona", "PersonaError", "SimulatedCallees",
           "SimulatedCaller", "Turn", "demo_plan", "load_persona", "persona_names", "simulate"]
