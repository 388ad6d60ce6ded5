"""The live-control engine (sipp caller, order-status agent) serves the transfer tests too."""

from tests.integration.control.conftest import control_engine  # noqa: F401 - a fixture
