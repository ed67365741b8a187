"""SQL values as JSON values: the one mapping the HTTP API and the change feed share.

`json_renderer(type, settings)` returns a function from a non-NULL engine value (see
`engine.types` for the Python representation of each type) to a value msgspec encodes as
JSON (`ENCODER`, which writes Decimals as JSON numbers with their exact digits):

    bool                      -> true / false
    int2, int4, int8, oid     -> number (exact; beware JavaScript above 2^53)
    numeric                   -> number with the value's exact digits; NaN, Infinity -> string
    float4, float8            -> number (the shortest form that reads back to the same value);
                                 NaN, Infinity, -Infinity -> string
    json, jsonb               -> the JSON value itself (not a string)
    date, timestamp, timestamptz -> ISO 8601 string as PostgreSQL's to_json writes it
                                 ("2024-05-01T12:00:00.5+00:00"), in the session TimeZone
    arrays                    -> JSON arrays (nested for more dimensions)
    everything else           -> string, the value's PostgreSQL text output (time, interval,
                                 uuid, bytea as \\x..., text, ...)

SQL NULL is JSON null; callers test for None before calling a renderer.
"""
from __future__ import annotations

import re
from typing import Any, Callable

import msgspec

from engine.types import (BOOL, DATE, FLOAT4, FLOAT8, INT_RANGES, JSON, JSONB, NUMERIC, OID, TIMESTAMP,
                          TIMESTAMPTZ, OutputSettings, SqlType, format_float4, parse_json_text,
                          text_formatter)

ENCODER = msgspec.json.Encoder(decimal_format="number")

_ZONE_HOURS = re.compile(r"([+-]\d\d)$")


def json_renderer(t: SqlType, settings: OutputSettings = OutputSettings()) -> Callable[[Any], Any]:
    oid = t.oid
    if t.element is not None:
        element = json_renderer(t.element, settings)
        return lambda v: _array(v, element)
    if oid == BOOL.oid:
        return bool
    if oid in INT_RANGES or oid == OID.oid:
        return int
    text = text_formatter(t, settings)
    if oid == NUMERIC.oid:
        return lambda v: v if v.is_finite() else text(v)
    if oid == FLOAT8.oid:
        return lambda v: v if v - v == 0 else text(v)
    if oid == FLOAT4.oid:
        return lambda v: float(format_float4(v)) if v - v == 0 else text(v)
    if oid in (JSON.oid, JSONB.oid):
        return parse_json_text
    if oid in (DATE.oid, TIMESTAMP.oid):
        return lambda v: _iso(text(v))
    if oid == TIMESTAMPTZ.oid:
        return lambda v: _ZONE_HOURS.sub(r"\1:00", _iso(text(v)))
    return text


def _array(v: tuple, element: Callable[[Any], Any]) -> list:
    return [None if x is None else _array(x, element) if isinstance(x, tuple) else element(x) for x in v]


def _iso(text: str) -> str:
    """PostgreSQL's ISO text output ("2024-05-01 12:00:00") in to_json's form."""
    if text.endswith(" BC") or text in ("infinity", "-infinity"):
        return text
    return text.replace(" ", "T", 1)


def row_object(columns: list[tuple[str, int, Callable[[Any], Any]]], row: tuple) -> dict[str, Any]:
    """{name: JSON value} for (name, slot, renderer) columns of one row tuple (a slot past the
    tuple's end, a column added after the row was written, is null)."""
    width = len(row)
    return {name: None if slot >= width or (v := row[slot]) is None else render(v)
            for name, slot, render in columns}

