"""The README's screenshot of a campaign that dialled, from a real campaign.

An engine listens for SIP on loopback with the demo's trunk to its simulated people; a campaign
dials five of them (a person answers, a voicemail box answers, a line is busy, a number does not
exist, and one is on the do-not-call list); then ``switchboard shot campaign:ID`` paints the
campaign view.

    .venv/bin/python docs/screenshots/make_campaign_shot.py [--out docs/screenshots]

Needs espeak-ng and whisper tiny.en; about a minute.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from engine.app import Engine  # noqa: E402 - after the path
from engine.client import Client  # noqa: E402
from engine.demo.catalog import CALLEES_NUMBER  # noqa: E402
from engine.demo.seed import seed  # noqa: E402
from engine.settings import Settings  # noqa: E402
from tests.harness.engine_host import TEST_KEY, run_api, start_engine  # noqa: E402

LEADS = [  # engine.simulator.number_plan.demo_plan
    {"phone_number": "+12025550101", "name": "Ann Lee", "variables": {"plan": "gold"}},
    {"phone_number": "+12025550110", "name": "Bob Ray", "variables": {"plan": "silver"}},
    {"phone_number": "+12025550120", "name": "Cy Moe", "variables": {"plan": "gold"}},
    {"phone_number": "+12025550250", "name": "Ed Poe", "variables": {"plan": "bronze"}},
    {"phone_number": "+12025550102", "name": "Fay Kim", "variables": {"plan": "silver"}},
]
DO_NOT_CALL = "+12025550102"
WAIT_S = 120.0


async def dial(api: Client) -> str:
    number = next(n for n in await api.phone_numbers.all() if n["number"] == CALLEES_NUMBER)
    agent = await api.agents.create(
        name="Renewals caller", first_message="Hello {{first_name}}, this is Northwind calling "
        "about your {{plan}} plan.", max_duration_seconds=8,
        stt={"engine": "whisper", "model": "tiny.en"},
        tts={"engine": "espeak-ng", "voice": "en-us+f3", "rate": 190})
    campaign = await api.campaigns.create(
        name="Spring renewals", agent_id=agent["id"], phone_number_id=number["id"],
        calling_hours_start="00:00", calling_hours_end="24:00", calling_days=list(range(7)),
        max_concurrent=2, calls_per_minute=60, max_attempts=3, retry_busy_minutes=60,
        retry_no_answer_minutes=90, retry_delay_minutes=30, amd="detect")
    await api.import_leads(campaign["id"], LEADS)
    await api.add_do_not_call(DO_NOT_CALL, "Asked not to be called")
    await api.start_campaign(campaign["id"])
    async with asyncio.timeout(WAIT_S):
        while True:  # the API is polled: this script has no events socket
            leads = await api.leads(campaign["id"]).all()
            if all(lead["status"] not in ("pending", "calling") for lead in leads):
                break
            await asyncio.sleep(1)
    await asyncio.sleep(2)  # the last call's row settles
    return str(campaign["id"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temp:
        data_dir = Path(temp) / "data"
        engine = Engine(Settings(data_dir=data_dir, api_key=TEST_KEY))
        engine.setup()
        seed(engine.db, engine.organization_id, calls=0, leads=0)
        engine.close()
        running = start_engine(data_dir, extra_args=("--sip-host", "127.0.0.1", "--sip-port", "0"),
                               timeout=120)
        try:
            campaign_id = run_api(running, dial)
            out: Any = args.out / "campaign_dialling.png"
            env = {**os.environ, "PYTHONPATH": str(ROOT)}
            subprocess.run([sys.executable, "-m", "switchboard", "--engine", running.url,
                            "--api-key", running.api_key, "shot", f"campaign:{campaign_id}",
                            str(out)], check=True, env=env, cwd=ROOT)
            print(out)
        finally:
            running.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
