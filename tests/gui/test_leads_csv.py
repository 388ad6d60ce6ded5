"""The leads CSV reader: E.164 normalisation and line numbers of bad rows."""

from __future__ import annotations

from console.leads_csv import normalise, parse_leads


def test_numbers_are_normalised_to_e164() -> None:
    assert normalise("(415) 555-0102") == "+14155550102"
    assert normalise("+44 20 7946 0958") == "+442079460958"
    assert normalise("020 7946 0958", "GB") == "+442079460958"


def test_bad_rows_carry_their_file_line() -> None:
    text = 'phone_number,name,city\n+14155550101,Ada,SF\n\n12,Bob,LA\n"+1415555010",Cy,NY,extra\n'
    parsed = parse_leads(text)
    assert [lead["phone_number"] for lead in parsed.leads] == ["+14155550101"]
    assert parsed.leads[0]["variables"] == {"city": "SF"}
    assert [row.line for row in parsed.bad] == [4, 5]


def test_a_file_without_a_phone_column_is_refused() -> None:
    parsed = parse_leads("name,city\nAda,SF\n")
    assert not parsed.leads and parsed.bad[0].line == 1
