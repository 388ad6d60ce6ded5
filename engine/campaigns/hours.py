"""Calling hours, as the dialer asks them: in the lead's own time zone.

The rules live in the store layer (:mod:`engine.store.calling_hours`), where the demo's history
uses them too; this module is the campaigns package's name for them.
"""

from engine.store.calling_hours import CallingWindow, WindowError, parse_clock, zone

__all__ = ["CallingWindow", "WindowError", "parse_clock", "zone"]
