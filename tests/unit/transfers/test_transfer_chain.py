"""Transfers chain on a call: a warm transfer that reached nobody names the one requested after
it (``next_transfer_id``), and a running warm transfer names the destination it tries next;
against the fakes, in virtual time."""

from __future__ import annotations

from engine.calls.transfers.attempts import next_transfer, transfer_view
from tests.unit.transfers.fakes import Harness, rings, run

FIRST = "sip:first@10.0.0.11:5060"
SECOND = "sip:second@10.0.0.12:5060"
THIRD = "sip:third@10.0.0.13:5060"


def test_a_transfer_after_one_that_reached_nobody_is_its_next() -> None:
    async def scenario(h: Harness) -> None:
        h.dialer.script(FIRST, rings())
        first = await h.warm([{"to": FIRST, "label": "Desk"}], ringing_timeout=5,
                             fallback={"strategy": "return_to_agent"})
        await h.finished()
        h.dialer.script(SECOND, rings())
        h.dialer.script(THIRD, rings())
        second = await h.warm([{"to": SECOND}, {"to": THIRD, "label": "Backup"}],
                              ringing_timeout=5)
        rows = {row.id: row for row in h.store.transfers()}
        failed, running = rows[first["id"]], rows[second["id"]]
        assert failed.status == "failed" and failed.next_transfer_id == second["id"]
        view = transfer_view(h.store.session, failed)
        assert view["next_transfer"]["id"] == second["id"]
        # consulting the first destination: the backup is queued next
        assert next_transfer(running, None) == {"id": None, "kind": "warm", "status": "queued",
                                                "to": THIRD, "label": "Backup", "attempt": 1}
        await h.finished()
        assert running.status == "failed" and running.next_transfer_id is None
        assert next_transfer(running, None) is None

    run(scenario)
