"""The Switchboard console: a PySide6 window over the engine's API (see ``console.main``)."""
