"""Calls: post-call analysis and the call's API views (the live session arrives with media)."""

from engine.calls.analysis import Analysis, Utterance, analyse

__all__ = ["Analysis", "Utterance", "analyse"]
