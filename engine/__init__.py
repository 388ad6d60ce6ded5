"""Switchboard engine: the headless core (store, API, calls, media, SIP, speech, agents)."""

__version__ = "0.1.0"
