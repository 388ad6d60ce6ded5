"""The ``switchboard`` command: the engine server, the console, screenshots and tools."""
