"""Campaigns that dial: the dialer (pacing, calling hours in each lead's time zone, retries,
do-not-call), the campaign lifecycle, and a campaign's figures.

The decisions are pure and take the time as an argument (:mod:`.hours`, :mod:`.pacing`,
:mod:`.outcomes`, :mod:`.lifecycle`); :class:`Dialer` drives them with an injected clock over
the store, and places calls through the telephony service.
"""

from engine.campaigns.dialer import Dialer, Placer, TelephonyPlacer
from engine.campaigns.hours import CallingWindow, WindowError, zone
from engine.campaigns.lifecycle import (
    SETTABLE_LEAD_STATUSES,
    LifecycleError,
    check_lead_status,
    check_leads_editable,
    transition,
)
from engine.campaigns.outcomes import RETRYABLE, Attempt, RetryPolicy, attempt_outcome, next_attempt
from engine.campaigns.pacing import Pacer
from engine.campaigns.stats import campaign_stats
from engine.campaigns.zones import lead_zone, number_zone

__all__ = [
    "RETRYABLE",
    "SETTABLE_LEAD_STATUSES",
    "Attempt",
    "CallingWindow",
    "Dialer",
    "LifecycleError",
    "Pacer",
    "Placer",
    "RetryPolicy",
    "TelephonyPlacer",
    "WindowError",
    "attempt_outcome",
    "campaign_stats",
    "check_lead_status",
    "check_leads_editable",
    "lead_zone",
    "next_attempt",
    "number_zone",
    "transition",
    "zone",
]
