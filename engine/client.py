"""A typed async client for API v1, on httpx. The console, the CLI and the tests all use it.

    async with Client("http://127.0.0.1:8040", api_key) as api:
        page = await api.list_calls(status="completed", limit=50)
        agent = await api.agents.create(name="Ava", first_message="Hello!")

Live events come typed (``engine.events``), parsed from what the socket sends::

    async for event in api.event_stream():
        match event:
            case TranscriptFinal(): ...

It imports nothing else of the engine but the event types, so the console can use it without
pulling in the server.
"""

from __future__ import annotations

import builtins
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, cast

import httpx

from engine.events import Event, Record, parse_event


class ApiError(Exception):
    """An error answer of the API: HTTP status, machine code, message, and the field at fault."""

    def __init__(self, status: int, message: str, code: str = "ERROR", field: str | None = None,
                 details: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.field = field
        self.details = details or []

    def __str__(self) -> str:
        return f"{self.status} {self.code}: {self.message}"


@dataclass
class Page:
    """One page of a list: the items, the page numbers and, where offered, the keyset cursor."""

    items: list[Record]
    page: int
    limit: int
    total: int
    total_pages: int
    next_cursor: str | None = None

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> Page:
        p = body.get("pagination", {})
        return cls(items=body.get("items", []), page=p.get("page", 1), limit=p.get("limit", 0),
                   total=p.get("total", 0), total_pages=p.get("total_pages", 0),
                   next_cursor=body.get("next_cursor"))


def _clean(params: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in params.items() if v is not None}


@dataclass
class Collection:
    """CRUD on one collection path (``/v1/agents``, ``/v1/campaigns/{id}/leads``...)."""

    client: Client
    path: str
    _: Any = field(default=None, repr=False)

    async def list(self, **params: Any) -> Page:
        return Page.from_json(await self.client.request("GET", self.path, params=_clean(params)))

    async def all(self, **params: Any) -> builtins.list[Record]:
        """Every item, page by page (for small collections: agents, numbers, trunks...)."""
        items: builtins.list[Record] = []
        page = 1
        while True:
            result = await self.list(page=page, limit=100, **params)
            items.extend(result.items)
            if page >= result.total_pages:
                return items
            page += 1

    async def get(self, ident: str) -> Record:
        return await self.client.record("GET", f"{self.path}/{ident}")

    async def create(self, **fields: Any) -> Record:
        return await self.client.record("POST", self.path, json=fields)

    async def update(self, ident: str, **fields: Any) -> Record:
        return await self.client.record("PATCH", f"{self.path}/{ident}", json=fields)

    async def delete(self, ident: str) -> Record:
        return await self.client.record("DELETE", f"{self.path}/{ident}")


class Client:
    """API v1 over HTTP. Pass ``transport`` to test against an in-process app."""

    def __init__(self, base_url: str, api_key: str, *, timeout: float = 15.0,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self._api_key = api_key
        self._http = httpx.AsyncClient(
            base_url=self.base_url, timeout=timeout, transport=transport,
            headers={"Authorization": f"Bearer {api_key}", "User-Agent": "switchboard-client"},
        )
        self.agents = Collection(self, "/v1/agents")
        self.tool_templates = Collection(self, "/v1/tool-templates")
        self.analysis_templates = Collection(self, "/v1/analysis-templates")
        self.phone_numbers = Collection(self, "/v1/phone-numbers")
        self.sip_trunks = Collection(self, "/v1/sip-trunks")
        self.campaigns = Collection(self, "/v1/campaigns")
        self.webhooks = Collection(self, "/v1/webhooks")
        self.users = Collection(self, "/v1/users")
        self.provider_credentials = Collection(self, "/v1/provider-credentials")

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # -- plumbing -------------------------------------------------------------------------------

    async def request(self, method: str, path: str, **kwargs: Any) -> Any:
        response = await self._http.request(method, path, **kwargs)
        return self._decode(response)

    async def record(self, method: str, path: str, **kwargs: Any) -> Record:
        """A request whose answer is one JSON object."""
        return cast(Record, await self.request(method, path, **kwargs))

    async def _items(self, path: str, key: str = "items") -> list[Record]:
        """The list under ``key`` of a GET's answer."""
        return cast(list[Record], (await self.request("GET", path))[key])

    @staticmethod
    def _decode(response: httpx.Response) -> Any:
        if response.status_code >= 400:
            try:
                body = response.json()
            except ValueError:
                body = {"error": response.text or response.reason_phrase}
            raise ApiError(response.status_code, str(body.get("error", "")),
                           str(body.get("code", "ERROR")), body.get("field"), body.get("details"))
        if response.status_code == 204 or not response.content:
            return {}
        return response.json()

    # -- engine ---------------------------------------------------------------------------------

    async def health(self) -> Record:
        return await self.record("GET", "/health")

    async def engine_info(self) -> Record:
        """What the engine offers: ``{"version", "sip": {"enabled", "host", "port"},
        "webrtc": {"enabled"}}``."""
        return await self.record("GET", "/v1/engine")

    async def demo_callers(self) -> Record:
        """The demo's simulated callers: ``{"enabled", "target", "in_progress"}`` (409: SIP off)."""
        return await self.record("GET", "/v1/engine/demo-callers")

    async def set_demo_callers(self, enabled: bool, target: int | None = None) -> Record:
        """Start (``enabled``) or stop new simulated calls; those in progress finish."""
        return await self.record("PUT", "/v1/engine/demo-callers",
                                 json=_clean({"enabled": enabled, "target": target}))

    # -- organization and keys ------------------------------------------------------------------

    async def organization(self) -> Record:
        return await self.record("GET", "/v1/organization")

    async def update_organization(self, **fields: Any) -> Record:
        return await self.record("PATCH", "/v1/organization", json=fields)

    async def create_organization(self, name: str) -> Record:
        """A child organization; the answer carries its first API key, shown this once."""
        return await self.record("POST", "/v1/organizations", json={"name": name})

    async def list_api_keys(self) -> list[Record]:
        return await self._items("/v1/api-keys")

    async def create_api_key(self, name: str, scopes: list[str] | None = None) -> Record:
        """A new key; the answer's ``key`` is shown this once."""
        return await self.record("POST", "/v1/api-keys", json=_clean({"name": name, "scopes": scopes}))

    async def revoke_api_key(self, key_id: str) -> Record:
        return await self.record("DELETE", f"/v1/api-keys/{key_id}")

    # -- provider credentials (bring your own key) ------------------------------------------------

    async def provider_catalogue(self) -> list[Record]:
        """The providers a credential may be for: ``{"provider", "label", "kind", "agents_use",
        "default_base_url", "checked_on_save", "fields": [{"name", "description", "required",
        "secret"}], "note"}``. The credentials themselves: :attr:`provider_credentials`."""
        return await self._items("/v1/provider-credentials/providers")

    async def check_provider_credential(self, credential_id: str) -> Record:
        """Check the credential's key with its provider again; the credential with the check's
        ``checked_at``, ``check_ok`` and ``check_message`` (the key itself is never returned)."""
        return await self.record("POST", f"/v1/provider-credentials/{credential_id}/check")

    # -- campaigns ------------------------------------------------------------------------------

    def leads(self, campaign_id: str) -> Collection:
        return Collection(self, f"/v1/campaigns/{campaign_id}/leads")

    async def import_leads(self, campaign_id: str, leads: list[Record]) -> Record:
        """Add many leads at once: ``{"imported": n, "errors": [{"index", "field", "error"}]}``."""
        return await self.record("POST", f"/v1/campaigns/{campaign_id}/leads/bulk",
                                 json={"leads": leads})

    async def start_campaign(self, campaign_id: str) -> Record:
        return await self.record("POST", f"/v1/campaigns/{campaign_id}/start")

    async def pause_campaign(self, campaign_id: str) -> Record:
        return await self.record("POST", f"/v1/campaigns/{campaign_id}/pause")

    async def resume_campaign(self, campaign_id: str) -> Record:
        return await self.record("POST", f"/v1/campaigns/{campaign_id}/resume")

    async def cancel_campaign(self, campaign_id: str) -> Record:
        return await self.record("POST", f"/v1/campaigns/{campaign_id}/cancel")

    async def campaign_stats(self, campaign_id: str) -> Record:
        """Leads by status, attempts, answer rate, human vs machine, durations, outcomes, cost,
        progress."""
        return await self.record("GET", f"/v1/campaigns/{campaign_id}/stats")

    async def delete_lead(self, campaign_id: str, lead_id: str) -> Record:
        return await self.record("DELETE", f"/v1/campaigns/{campaign_id}/leads/{lead_id}")

    # -- do not call ----------------------------------------------------------------------------

    async def do_not_call(self, *, page: int | None = None, limit: int | None = None,
                          number: str | None = None) -> Page:
        params = _clean({"page": page, "limit": limit, "number": number})
        return Page.from_json(await self.request("GET", "/v1/do-not-call", params=params))

    async def add_do_not_call(self, number: str, reason: str = "") -> Record:
        return await self.record("POST", "/v1/do-not-call", json={"number": number, "reason": reason})

    async def delete_do_not_call(self, entry: str) -> Record:
        """Remove an entry, by its id or its number."""
        return await self.record("DELETE", f"/v1/do-not-call/{entry}")

    async def import_do_not_call(self, csv_text: str) -> Record:
        """A CSV with a header row (number, reason): ``{"imported", "already_listed",
        "leads_blocked", "errors": [{"row", "field", "error"}]}``."""
        return await self.record("POST", "/v1/do-not-call/bulk", content=csv_text.encode(),
                                 headers={"Content-Type": "text/csv"})

    # -- scheduled callbacks --------------------------------------------------------------------

    async def schedule_callback(self, call_id: str, scheduled_at: str, *, reason: str = "",
                                instructions: str = "", to_number: str | None = None) -> Record:
        """A callback to the call's other party (or ``to_number``) at ``scheduled_at`` (ISO 8601,
        or words such as "tomorrow at 3 pm"), with instructions for the agent."""
        body = _clean({"scheduled_at": scheduled_at, "reason": reason,
                       "instructions": instructions, "to_number": to_number})
        return await self.record("POST", f"/v1/calls/{call_id}/callback", json=body)

    async def callbacks(self, *, page: int | None = None, limit: int | None = None,
                        campaign_id: str | None = None, status: str | None = None,
                        call_id: str | None = None) -> Page:
        """Scheduled callbacks, soonest first."""
        params = _clean({"page": page, "limit": limit, "campaign_id": campaign_id,
                         "status": status, "call_id": call_id})
        return Page.from_json(await self.request("GET", "/v1/callbacks", params=params))

    async def campaign_callbacks(self, campaign_id: str, *, page: int | None = None,
                                 limit: int | None = None, status: str | None = None) -> Page:
        params = _clean({"page": page, "limit": limit, "status": status})
        return Page.from_json(await self.request("GET", f"/v1/campaigns/{campaign_id}/callbacks",
                                                 params=params))

    async def get_callback(self, callback_id: str) -> Record:
        return await self.record("GET", f"/v1/callbacks/{callback_id}")

    async def cancel_callback(self, callback_id: str) -> Record:
        return await self.record("DELETE", f"/v1/callbacks/{callback_id}")

    # -- calls ----------------------------------------------------------------------------------

    async def list_calls(
        self, *, page: int | None = None, limit: int | None = None, sort_by: str | None = None,
        sort_order: str | None = None, status: str | None = None, direction: str | None = None,
        agent_id: str | None = None, campaign_id: str | None = None,
        phone_number_id: str | None = None, number: str | None = None, since: str | None = None,
        until: str | None = None, q: str | None = None, cursor: str | None = None,
        include_tests: bool | None = None, is_test: bool | None = None,
        transport: str | None = None, call_type: str | None = None, outcome: str | None = None,
        sentiment: str | None = None, tag: str | None = None,
        disconnect_reason: str | None = None, has_recording: bool | None = None,
    ) -> Page:
        params = _clean(locals() | {"self": None, "call_type": None, "type": call_type})
        return Page.from_json(await self.request("GET", "/v1/calls", params=params))

    async def get_call(self, call_id: str) -> Record:
        """A call with its transcript entries, transfers, analysis, costs and latency."""
        return await self.record("GET", f"/v1/calls/{call_id}")

    async def update_call(self, call_id: str, **fields: Any) -> Record:
        """Notes, rating, feedback, metadata."""
        return await self.record("PATCH", f"/v1/calls/{call_id}", json=fields)

    async def create_call(self, **fields: Any) -> Record:
        """An outbound or test call: agent_id, from_number or phone_number_id, to_number, ..."""
        return await self.record("POST", "/v1/calls", json=fields)

    async def control(self, call_id: str, type: str, **fields: Any) -> Record:
        """A live control command (say, inject_context, end_call, hold, resume, mute_agent,
        unmute_agent, dtmf) with its fields; answers ``{"result": ..., "status": ...}``."""
        return await self.record("POST", f"/v1/calls/{call_id}/control",
                                 json={"type": type, **fields})

    async def blind_transfer(self, call_id: str, to: str, **fields: Any) -> Record:
        """Blind-transfer a live call to ``to`` (E.164 or sip: URI); ``ringing_timeout``,
        ``play_dialtone``. The transfer row as started."""
        return await self.record("POST", f"/v1/calls/{call_id}/transfers/blind",
                                 json={"to": to, **fields})

    async def warm_transfer(self, call_id: str, destinations: list[Record],
                            **fields: Any) -> Record:
        """Warm-transfer a live call: the caller waits on hold with music while each destination
        (``{"to", "label", "screening_prompt", "summary"}``; ``to`` an E.164 number, a sip: URI
        or ``user:<id>``) is called in turn, hears a briefing and accepts (DTMF 1 or "yes") or
        declines. ``summary``, ``ringing_timeout``, ``fallback`` (``{"strategy":
        "return_to_agent" | "take_message" | "end_call", "message"}``). The transfer row as
        started."""
        return await self.record("POST", f"/v1/calls/{call_id}/transfers/warm",
                                 json={"destinations": destinations, **fields})

    async def complete_transfer(self, call_id: str, transfer_id: str) -> Record:
        """Bridge the caller to the destination being consulted now (a human drives the
        transfer); the transfer row."""
        return await self.record("POST",
                                 f"/v1/calls/{call_id}/transfers/{transfer_id}/complete")

    async def cancel_transfer(self, call_id: str, transfer_id: str) -> Record:
        """Stop a running transfer: the consultation leg hangs up and the caller goes back to
        the AI agent; the transfer row."""
        return await self.record("POST", f"/v1/calls/{call_id}/transfers/{transfer_id}/cancel")

    async def answer_transfer(self, call_id: str, transfer_id: str, user_id: str,
                              sdp: str) -> Record:
        """A console user takes a transfer offered to ``user:<id>`` with a WebRTC offer; answers
        ``{"sdp", "type": "answer", "participant_id"}`` and the caller is bridged to the user."""
        return await self.record("POST", f"/v1/calls/{call_id}/transfers/{transfer_id}/answer",
                                 json={"user_id": user_id, "sdp": sdp, "type": "offer"})

    async def decline_transfer(self, call_id: str, transfer_id: str, user_id: str,
                               reason: str | None = None) -> Record:
        """A console user declines a transfer offered to them (the next destination is tried);
        the transfer row."""
        return await self.record("POST", f"/v1/calls/{call_id}/transfers/{transfer_id}/decline",
                                 json=_clean({"user_id": user_id, "reason": reason}))

    async def call_transfers(self, call_id: str) -> list[Record]:
        return await self._items(f"/v1/calls/{call_id}/transfers")

    # -- personas and rehearsals -------------------------------------------------------------------

    async def personas(self) -> list[Record]:
        return await self._items("/v1/personas")

    async def rehearse(self, agent_id: str, personas: list[str] | None = None) -> Record:
        """Start a rehearsal of the agent (every persona, or those named); answered at once."""
        body = {"personas": personas} if personas is not None else {}
        return await self.record("POST", f"/v1/agents/{agent_id}/rehearsals", json=body)

    async def rehearsals(self, agent_id: str, **params: Any) -> Page:
        return Page.from_json(await self.request("GET", f"/v1/agents/{agent_id}/rehearsals",
                                                 params=params))

    async def rehearsal(self, rehearsal_id: str) -> Record:
        return await self.record("GET", f"/v1/rehearsals/{rehearsal_id}")

    async def call_events(self, call_id: str) -> list[Record]:
        return await self._items(f"/v1/calls/{call_id}/events", "events")

    async def call_report(self, call_id: str) -> Record:
        return await self.record("GET", f"/v1/calls/{call_id}/report")

    async def finalize_report(self, call_id: str) -> Record:
        return await self.record("POST", f"/v1/calls/{call_id}/report/finalize")

    async def recording(self, call_id: str, byte_range: tuple[int, int] | None = None) -> bytes:
        headers = {"Range": f"bytes={byte_range[0]}-{byte_range[1]}"} if byte_range else None
        response = await self._http.get(f"/v1/calls/{call_id}/recording", headers=headers)
        if response.status_code >= 400:
            self._decode(response)
        return response.content

    # -- joining calls over WebRTC -------------------------------------------------------------

    async def join_call(self, call_id: str, sdp: str, role: str) -> Record:
        """Join a live call with a WebRTC offer as listen, whisper, barge, takeover or agent;
        answers ``{"sdp", "type": "answer", "participant_id"}``."""
        return await self.record("POST", f"/v1/calls/{call_id}/join",
                                 json={"sdp": sdp, "type": "offer", "role": role})

    async def leave_call(self, call_id: str, participant_id: str) -> Record:
        """Leave a call joined with :meth:`join_call` (a takeover hands the call back)."""
        return await self.record("DELETE", f"/v1/calls/{call_id}/participants/{participant_id}")

    async def call_participants(self, call_id: str) -> list[Record]:
        return await self._items(f"/v1/calls/{call_id}/participants")

    async def web_call(self, agent_id: str, sdp: str, **fields: Any) -> Record:
        """A web call to an agent from a WebRTC offer (``dynamic_variables`` optional);
        answers ``{"call_id", "sdp", "type": "answer"}``."""
        return await self.record("POST", "/v1/web-calls",
                                 json={"agent_id": agent_id, "sdp": sdp, **fields})

    # -- webhooks -------------------------------------------------------------------------------

    async def webhook_deliveries(self, webhook_id: str, **params: Any) -> Page:
        """A webhook's deliveries, newest first (``page``, ``limit``, ``status``, ``event``, ``call_id``)."""
        return Page.from_json(await self.request("GET", f"/v1/webhooks/{webhook_id}/deliveries",
                                                 params=_clean(params)))

    async def test_webhook(self, webhook_id: str) -> Record:
        """Send a ``ping`` to the webhook now; answers the delivery (status, response_code, ...)."""
        return await self.record("POST", f"/v1/webhooks/{webhook_id}/test")

    # -- usage, voices --------------------------------------------------------------------------

    async def usage(self, *, since: str | None = None, until: str | None = None) -> Record:
        """``{"days": [{"day", "kind", "quantity", "unit", "cost_micro_usd"}], "totals": {...}}``."""
        return await self.record("GET", "/v1/usage", params=_clean({"since": since, "until": until}))

    async def usage_logs(self, **params: Any) -> Page:
        return Page.from_json(await self.request("GET", "/v1/usage/logs", params=_clean(params)))

    async def voices(self) -> list[Record]:
        return await self._items("/v1/voices")

    async def models(self) -> list[Record]:
        """The installed speech recognition models: ``{"engine", "name", "path", "language", "source"}``."""
        return await self._items("/v1/models")

    # -- events ---------------------------------------------------------------------------------

    async def events(self, call_id: str | None = None) -> AsyncIterator[Record]:
        """The events WebSocket as it sends them (wire dicts): first a ``snapshot`` event, then
        changes as they happen; only that call's with ``call_id``."""
        import websockets

        url = self.base_url.replace("http://", "ws://").replace("https://", "wss://") + "/v1/events"
        if call_id:
            url += f"?call_id={call_id}"
        headers = {"Authorization": f"Bearer {self._api_key}"}
        async with websockets.connect(url, additional_headers=headers, max_size=None) as ws:
            async for message in ws:
                yield json.loads(message)

    async def event_stream(self, call_id: str | None = None) -> AsyncIterator[Event]:
        """:meth:`events` as typed events (``engine.events``): a ``Snapshot`` first, then the
        changes; a type this client does not know arrives as ``UnknownEvent``."""
        async for message in self.events(call_id):
            yield parse_event(message)


__all__ = ["ApiError", "Client", "Collection", "Page", "Record"]
