"""Leads from a CSV file: ``phone_number,name`` plus any other columns as the lead's variables.

Numbers are checked and normalised to E.164 with ``phonenumbers``; a number without ``+`` is read
in the default region. Rows that fail, and a number already on an earlier line, are reported with
their line number in the file.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Any

import phonenumbers

DEFAULT_REGION = "US"
PHONE_COLUMNS = ("phone_number", "phone", "number")


@dataclass
class BadRow:
    line: int
    reason: str


@dataclass
class LeadsFile:
    leads: list[dict[str, Any]] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)  # the file line of each lead
    bad: list[BadRow] = field(default_factory=list)


def normalise(number: str, region: str = DEFAULT_REGION) -> str:
    """The number in E.164, or ValueError saying what is wrong with it."""
    text = number.strip()
    if not text:
        raise ValueError("no phone number")
    try:
        parsed = phonenumbers.parse(text, None if text.startswith("+") else region)
    except phonenumbers.NumberParseException:  # its text is the library's, not the user's words
        raise ValueError(f"“{text}” is not a phone number") from None
    if not phonenumbers.is_valid_number(parsed):
        raise ValueError(f"“{text}” is not a valid phone number")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def parse_leads(text: str, region: str = DEFAULT_REGION) -> LeadsFile:
    """Read a leads CSV; the header row names the columns."""
    result = LeadsFile()
    first_line: dict[str, int] = {}  # each number's first line: a number is called once
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    header: list[str] | None = None
    for row in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if header is None:
            header = [cell.strip().lower() for cell in row]
            if not any(name in header for name in PHONE_COLUMNS):
                result.bad.append(BadRow(line, "no phone_number column in the header"))
                return result
            continue
        values = dict(zip(header, (cell.strip() for cell in row), strict=False))
        if len(row) > len(header):
            result.bad.append(BadRow(line, f"{len(row)} cells but the header has {len(header)}"))
            continue
        phone_key = next(name for name in PHONE_COLUMNS if name in header)
        try:
            number = normalise(values.get(phone_key, ""), region)
        except ValueError as exc:
            result.bad.append(BadRow(line, str(exc)))
            continue
        if number in first_line:
            result.bad.append(BadRow(line, f"{number} is already on line {first_line[number]}"))
            continue
        first_line[number] = line
        variables = {k: v for k, v in values.items() if k not in (phone_key, "name") and k}
        result.leads.append({"phone_number": number, "name": values.get("name", ""), "variables": variables})
        result.lines.append(line)
    if header is None:
        result.bad.append(BadRow(1, "the file is empty"))
    return result
