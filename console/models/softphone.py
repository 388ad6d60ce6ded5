"""The softphone as the dock sees it: who is signed in and their presence, the transfer being
offered to them, and the call they are on. Every action is an API call or a ``Phone`` method;
the dock only shows this state."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from PySide6.QtCore import QObject, QSettings, QTimer, Signal, SignalInstance, Slot

from console import formatting as fmt
from console.bridge import ApiBridge
from console.events import typed
from console.models.live_call import LiveCallModel
from engine.client import ApiError, Record
from engine.events import Event, TransferOffered, TransferOfferEnded, UserDeleted, UserUpdated

log = logging.getLogger(__name__)

PRESENCES = ("available", "busy", "away")  # what a signed-in user may choose (the API also has offline)
SIGNED_OUT = "offline"
SIGN_OUT_WAIT_S = 2.0  # how long a closing window waits for the engine to sign its user out
DECLINE_REASONS = ("Busy with another caller", "Not my area", "Call back later")
DEFAULT_RINGING_TIMEOUT_S = 30  # when an offer does not say; the engine's warm-transfer default
SETTINGS_USER_KEY = "softphone/user_id"
TICK_MS = 250  # countdown and call timer refresh; the shown figures change once a second


class PhoneLike(Protocol):
    """What the dock needs of the console's ``Phone`` (console/phone)."""

    state_changed: SignalInstance
    error: SignalInstance
    levels: SignalInstance

    @property
    def state(self) -> str: ...
    @property
    def call_id(self) -> str | None: ...

    def answer_transfer(self, call_id: str, transfer_id: str, user_id: str) -> None: ...
    def web_call(self, agent_id: str) -> None: ...
    def hang_up(self) -> None: ...
    def set_muted(self, muted: bool) -> None: ...
    def send_dtmf(self, digits: str) -> None: ...


def _message(exc: Exception) -> str:
    return exc.message if isinstance(exc, ApiError) else (str(exc) or type(exc).__name__)


def user_label(user: Record) -> str:
    name = str(user.get("display_name") or user.get("email") or user.get("id"))
    role = fmt.label(user.get("role"))
    return f"{name} ({role})" if role else name


class SoftphoneModel(QObject):
    """Sign-in, presence, the offered transfer and the call in progress.

    ``changed`` fires on any change of what the dock shows; ``offer_arrived`` once per new offer
    (ring, notify); ``offer_cleared(reason)`` when it goes (answered, declined, no_answer,
    canceled); ``error`` carries a message for the dock ("" clears it).
    """

    changed = Signal()
    users_loaded = Signal()
    offer_arrived = Signal(dict)
    offer_cleared = Signal(str)
    call_started = Signal()
    error = Signal(str)
    levels = Signal(float, float)
    ticked = Signal()  # the countdown or the call timer moved on
    whispered = Signal(dict)  # a supervisor's whisper for this call: shown, never heard

    def __init__(self, bridge: ApiBridge, phone: Callable[[], PhoneLike | None],
                 settings: QSettings | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self._find_phone = phone
        self._phone: PhoneLike | None = None
        self.settings = settings or QSettings("switchboard", "console")
        self.users: list[Record] = []
        self.user: Record | None = None
        self.presence = SIGNED_OUT
        self.chosen_presence = "available"  # what the user picked; restored after a call
        self.pending = ""  # an API action waiting for its answer ("sign_in", "presence"...)
        self._presence_request = 0  # the latest presence change; older answers are ignored
        self.offer: Record | None = None
        self._offer_deadline = 0.0
        # the call: kind is "transfer" or "web_call"; phase follows the Phone's state
        self.call_kind = ""
        self.call_id: str | None = None
        self.agent_id: str | None = None
        self.call_title = ""
        self.call_subtitle = ""
        self.phase = ""  # "" | connecting | connected | ended | failed
        self.connected_at: float | None = None
        self.ended_after: float | None = None
        self.muted = False
        self.mic_level = 0.0
        self.speaker_level = 0.0
        self.live: LiveCallModel | None = None
        self.whispers: list[Record] = []  # supervisors' whispers on this call, oldest first
        self._tick = QTimer(self)
        self._tick.setInterval(TICK_MS)
        self._tick.timeout.connect(self._on_tick)

    # -- the phone ----------------------------------------------------------------------------------

    @property
    def phone(self) -> PhoneLike | None:
        """The window's Phone, connected the first time it is found."""
        if self._phone is None:
            phone = self._find_phone()
            if phone is not None:
                self._phone = phone
                phone.state_changed.connect(self._phone_state)
                phone.error.connect(self._phone_error)
                phone.levels.connect(self._phone_levels)
                answered = getattr(phone, "answered", None)
                if answered is not None:
                    answered.connect(self._phone_answered)
        return self._phone

    @property
    def in_call(self) -> bool:
        return self.phase in ("connecting", "connected")

    @property
    def remembered_user_id(self) -> str | None:
        value = self.settings.value(SETTINGS_USER_KEY)
        return str(value) if value else None

    # -- users and presence ------------------------------------------------------------------------

    def load_users(self) -> None:
        self.bridge.call(lambda api: api.users.all(sort_by="display_name"), self._got_users,
                         lambda exc: self.error.emit(f"Users: {_message(exc)}"), context=self)

    def _got_users(self, users: list[Record]) -> None:
        self.users = users
        if self.user is not None:
            fresh = next((u for u in users if u.get("id") == self.user.get("id")), None)
            if fresh is None:
                self.user, self.presence = None, SIGNED_OUT
            else:
                self.user = fresh
        self.users_loaded.emit()
        self.changed.emit()

    def sign_in(self, user_id: str) -> None:
        """Presence ``available`` in the engine: transfers to ``user:<id>`` now ring here."""
        if not user_id or self.pending:
            return
        self.chosen_presence = "available"
        self._update_presence(user_id, "available", "sign_in")

    def sign_out(self) -> None:
        if self.user is None or self.pending:
            return
        self._update_presence(str(self.user["id"]), SIGNED_OUT, "sign_out")

    def set_presence(self, presence: str) -> None:
        if self.user is None or presence not in PRESENCES or presence == self.presence:
            return
        self.chosen_presence = presence
        self._update_presence(str(self.user["id"]), presence, "presence")

    def _update_presence(self, user_id: str, presence: str, action: str) -> None:
        self._presence_request += 1
        request = self._presence_request
        self.pending = action
        self.error.emit("")
        self.changed.emit()
        self.bridge.call(lambda api: api.users.update(user_id, presence=presence),
                         lambda user: self._presence_set(request, action, user),
                         lambda exc: self._presence_failed(request, action, exc), context=self)

    def _presence_set(self, request: int, action: str, user: Record) -> None:
        self._remember_user(user)
        if request != self._presence_request:
            return  # a later presence change is on its way: its answer decides
        self.pending = ""
        if action == "sign_out":
            self.user, self.presence = None, SIGNED_OUT
            self._clear_offer("signed_out")
        else:
            self.user = user
            self.presence = str(user.get("presence") or SIGNED_OUT)
            if action == "sign_in":
                self.settings.setValue(SETTINGS_USER_KEY, str(user["id"]))
        self.changed.emit()

    def _presence_failed(self, request: int, action: str, exc: Exception) -> None:
        if request != self._presence_request:
            return
        self.pending = ""
        verb = {"sign_in": "Sign in", "sign_out": "Sign out"}.get(action, "Presence")
        self.error.emit(f"{verb}: {_message(exc)}")
        self.changed.emit()

    def _remember_user(self, user: Record) -> None:
        for row, existing in enumerate(self.users):
            if existing.get("id") == user.get("id"):
                self.users[row] = user

    def _call_presence(self, presence: str) -> None:
        """Busy while on a call, back to the chosen presence after (only when signed in)."""
        if self.user is None or self.presence == presence:
            return
        self._update_presence(str(self.user["id"]), presence, "call_presence")

    # -- events ---------------------------------------------------------------------------------------

    @Slot(object)
    def apply_event(self, event: Event | Mapping[str, Any]) -> None:
        """An event of the console's stream (typed, or its wire dict): offers to the signed-in
        user, and changes to that user."""
        user = self.user
        match typed(event):
            case TransferOffered() as offered:
                self._offered(offered)
            case TransferOfferEnded(transfer_id=transfer_id, user_id=user_id, reason=reason):
                offer = self.offer
                if offer is not None and transfer_id == offer.get("transfer_id") \
                        and user_id == offer.get("user_id"):
                    self._clear_offer(reason or "canceled")
            case UserUpdated(record=record) if user is not None and record.get("id") == user.get("id"):
                self.user = {**user, **record}
                self.presence = str(self.user.get("presence") or self.presence)
                self.changed.emit()
            case UserDeleted(record=record) if user is not None and record.get("id") == user.get("id"):
                self.user, self.presence = None, SIGNED_OUT
                self.changed.emit()

    def _offered(self, offered: TransferOffered) -> None:
        if self.user is None or offered.user_id != self.user.get("id"):
            return
        if self.in_call:
            # already on a call: say so rather than ring over it
            call_id, transfer_id = str(offered.call_id), offered.transfer_id
            user_id = str(self.user["id"])
            self.bridge.call(lambda api: api.decline_transfer(call_id, transfer_id, user_id,
                                                              "busy on another call"), context=self)
            return
        timeout = offered.ringing_timeout
        seconds = float(timeout) if isinstance(timeout, int | float) and timeout > 0 \
            else DEFAULT_RINGING_TIMEOUT_S
        self.offer = offered.payload()  # what the dock shows, as the engine sent it
        self._offer_deadline = time.monotonic() + seconds
        self._tick.start()
        self.error.emit("")
        self.offer_arrived.emit(self.offer)
        self.changed.emit()

    def _clear_offer(self, reason: str) -> None:
        if self.offer is None:
            return
        self.offer = None
        self.offer_cleared.emit(reason)
        self._update_tick()
        self.changed.emit()

    def seconds_left(self) -> int:
        """Whole seconds until the offer stops ringing."""
        if self.offer is None:
            return 0
        return max(0, int(self._offer_deadline - time.monotonic() + 0.999))

    # -- answering and declining ----------------------------------------------------------------------

    def answer(self) -> None:
        offer, phone = self.offer, self.phone
        if offer is None or self.user is None:
            return
        if phone is None:
            self.error.emit("No phone: the console cannot open an audio leg here")
            return
        call_id, transfer_id = str(offer["call_id"]), str(offer["transfer_id"])
        self._start_call("transfer", call_id, offer)
        self._clear_offer("answered")
        phone.answer_transfer(call_id, transfer_id, str(self.user["id"]))

    def decline(self, reason: str = "") -> None:
        offer = self.offer
        if offer is None or self.user is None:
            return
        call_id, transfer_id, user_id = str(offer["call_id"]), str(offer["transfer_id"]), str(self.user["id"])
        text = reason.strip() or None
        self._clear_offer("declined")
        self.bridge.call(lambda api: api.decline_transfer(call_id, transfer_id, user_id, text),
                         None, lambda exc: self.error.emit(f"Decline: {_message(exc)}"), context=self)

    # -- test calls -----------------------------------------------------------------------------------

    def test_call(self, agent_id: str, agent_name: str = "") -> bool:
        """Call the agent over WebRTC from this console's microphone; False when that cannot start."""
        phone = self.phone
        if phone is None:
            self.error.emit("No phone: the console cannot open an audio leg here")
            return False
        if self.in_call:
            self.error.emit("Already on a call: hang up first")
            return False
        self._start_call("web_call", None, {"agent_id": agent_id, "agent_name": agent_name})
        phone.web_call(agent_id)
        return True

    # -- the call ----------------------------------------------------------------------------------------

    def _start_call(self, kind: str, call_id: str | None, info: Record) -> None:
        self._drop_live()
        self.call_kind = kind
        self.call_id = call_id
        self.agent_id = str(info.get("agent_id") or "") or None
        agent = str(info.get("agent_name") or "")
        if kind == "web_call":
            self.call_title = f"Test call · {agent}" if agent else "Test call"
            self.call_subtitle = "WebRTC from this console"
        else:
            self.call_title = str(info.get("caller") or "Unknown caller")
            self.call_subtitle = f"Transferred by {agent}" if agent else "Transferred call"
        self.phase = "connecting"
        self.connected_at = None
        self.ended_after = None
        self.muted = False
        self.mic_level = self.speaker_level = 0.0
        self.whispers = []
        if call_id:
            self._watch(call_id)
        self.call_started.emit()
        self._update_tick()
        self.changed.emit()

    def _watch(self, call_id: str) -> None:
        self.live = LiveCallModel(self.bridge, call_id, self)
        self.live.changed.connect(self._live_changed)
        self.live.whispered.connect(self._whispered)
        self.live.error.connect(self._live_error)
        self.live.start()

    def _live_error(self, message: str) -> None:
        if self.in_call or not message:
            self.error.emit(message)

    def _drop_live(self) -> None:
        if self.live is not None:
            self.live.stop()
            self.live.changed.disconnect(self._live_changed)
            self.live.whispered.disconnect(self._whispered)
            self.live.deleteLater()
            self.live = None

    def _whispered(self, whisper: Record) -> None:
        self.whispers.append(whisper)
        self.whispered.emit(whisper)
        self.changed.emit()

    def _live_changed(self) -> None:
        live = self.live
        if live is None:
            return
        call = live.call
        if self.call_kind == "transfer" and self.call_title in ("", "Unknown caller"):
            caller = call.get("from_number") if call.get("direction") != "outbound" else call.get("to_number")
            if caller:
                self.call_title = str(caller)
        self.changed.emit()

    @property
    def on_hold(self) -> bool:
        return self.live is not None and self.live.on_hold

    def call_seconds(self) -> float:
        if self.ended_after is not None:
            return self.ended_after
        if self.connected_at is None:
            return 0.0
        return time.monotonic() - self.connected_at

    def hang_up(self) -> None:
        phone = self.phone
        if phone is not None and self.in_call:
            phone.hang_up()

    def set_muted(self, muted: bool) -> None:
        phone = self.phone
        if phone is None or not self.in_call:
            return
        self.muted = muted
        phone.set_muted(muted)
        self.changed.emit()

    def toggle_hold(self) -> None:
        if self.live is not None and self.phase == "connected":
            self.live.toggle_hold()

    def dtmf(self, digits: str) -> None:
        phone = self.phone
        if phone is not None and self.phase == "connected" and digits:
            phone.send_dtmf(digits)

    def dismiss(self) -> None:
        """Forget an ended call (the dock goes back to waiting)."""
        if self.in_call:
            return
        self._drop_live()
        self.call_kind, self.call_id, self.phase = "", None, ""
        self.whispers = []
        self.changed.emit()

    # -- what the Phone says -------------------------------------------------------------------------

    def _follow_phone_call(self) -> None:
        """A web call's id is known once the engine answered: watch its events from then."""
        phone = self._phone
        call_id = phone.call_id if phone is not None else None
        if call_id and call_id != self.call_id and self.in_call:
            self.call_id = call_id
            self._watch(call_id)
            self.changed.emit()

    @Slot()
    def _phone_answered(self) -> None:
        self._follow_phone_call()

    @Slot(str)
    def _phone_state(self, state: str) -> None:
        if not self.in_call:
            return
        phone = self._phone
        moved_on = getattr(phone, "kind", self.call_kind) != self.call_kind  # joined another call
        if state == "connected" and self.phase != "connected" and not moved_on:
            self.phase = "connected"
            self.connected_at = time.monotonic()
            self._follow_phone_call()
            self._call_presence("busy")
        elif state in ("ended", "failed") or moved_on:
            self.ended_after = self.call_seconds() if self.connected_at is not None else 0.0
            self.phase = "failed" if state == "failed" else "ended"
            self.mic_level = self.speaker_level = 0.0
            if self.live is not None:
                self.live.stop()
            self._call_presence(self.chosen_presence)
        else:
            return
        self._update_tick()
        self.changed.emit()

    @Slot(str)
    def _phone_error(self, message: str) -> None:
        if message:
            self.error.emit(f"Phone: {message}")

    @Slot(float, float)
    def _phone_levels(self, mic: float, speaker: float) -> None:
        self.mic_level, self.speaker_level = mic, speaker
        self.levels.emit(mic, speaker)

    # -- the clock ------------------------------------------------------------------------------------

    def _update_tick(self) -> None:
        if self.offer is not None or self.phase == "connected":
            self._tick.start()
        else:
            self._tick.stop()

    def _on_tick(self) -> None:
        if self.offer is not None and time.monotonic() >= self._offer_deadline:
            self._clear_offer("no_answer")
        self.ticked.emit()

    def shutdown(self) -> None:
        """The window is closing: hang up, stop listening, and sign the user out (so that no
        transfer is offered to someone who has left)."""
        self._tick.stop()
        if self.in_call and self._phone is not None:
            self._phone.hang_up()
        self._drop_live()
        if self.user is not None and self.presence != SIGNED_OUT:
            user_id = str(self.user["id"])
            try:
                self.bridge.call_and_wait(
                    lambda api: api.users.update(user_id, presence=SIGNED_OUT), SIGN_OUT_WAIT_S)
            except Exception as exc:  # the engine may be gone already
                log.info("could not sign %s out while closing: %r", user_id, exc)
