"""Speech unit-test fixtures: no model is ever fetched from a hub."""

from __future__ import annotations

import os

os.environ["HF_HUB_OFFLINE"] = "1"
