"""The console's pages, one per navigation entry."""

from console.views.agents import AgentsView
from console.views.base import View
from console.views.calls import CallsView
from console.views.campaigns import CampaignsView
from console.views.live import LiveView
from console.views.numbers import NumbersView
from console.views.settings import SettingsView
from console.views.usage import UsageView

VIEW_CLASSES: dict[str, type[View]] = {
    "live": LiveView, "calls": CallsView, "agents": AgentsView, "campaigns": CampaignsView,
    "numbers": NumbersView, "usage": UsageView, "settings": SettingsView,
}

__all__ = ["VIEW_CLASSES", "AgentsView", "CallsView", "CampaignsView", "LiveView", "NumbersView",
           "SettingsView", "UsageView", "View"]
