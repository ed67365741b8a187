"""uuid, bytea, sequences, session information and the small utility functions
(pg_typeof, num_nulls, ...).

Sequence functions reach the session through `ctx.session` (nextval hands out values at once
and is not rolled back, as in PostgreSQL; the transaction records how far the sequence went).
"""
from __future__ import annotations

import base64
import uuid
from dataclasses import replace
from typing import Any, Callable

from engine.errors import SqlError
from engine.exec.functions import define, runtime
from engine.exec.srf import fixed, register
from engine.types import (BOOL, BPCHAR, BYTEA, FLOAT4, FLOAT8, INT4, INT8, NAME, NUMERIC, RECORD, REGCLASS, REGTYPE,
                          TEXT, UUID, VOID, NamedOid, array_of, format_type)

# -------------------------------------------------------------------- bytea


@runtime
def bytea_encode(data: bytes, fmt: str) -> str:
    f = fmt.lower()
    if f == "hex":
        return data.hex()
    if f == "base64":
        text = base64.b64encode(data).decode()
        return "\n".join(text[i:i + 76] for i in range(0, len(text), 76))
    if f == "escape":
        return "".join("\\\\" if b == 0x5C else (f"\\{b:03o}" if b == 0 or b >= 0x80 else chr(b)) for b in data)
    raise SqlError("22023", f'unrecognized encoding: "{fmt}"')


@runtime
def bytea_decode(text: str, fmt: str) -> bytes:
    f = fmt.lower()
    if f == "hex":
        cleaned = "".join(text.split())
        if len(cleaned) % 2:
            raise SqlError("22023", "invalid hexadecimal data: odd number of digits")
        try:
            return bytes.fromhex(cleaned)
        except ValueError:
            raise SqlError("22023", "invalid hexadecimal digit") from None
    if f == "base64":
        cleaned = "".join(text.split())
        try:
            return base64.b64decode(cleaned, validate=True)
        except ValueError:
            raise SqlError("22023", "invalid base64 end sequence" if "=" in cleaned else
                           "invalid symbol found while decoding base64 sequence") from None
    if f == "escape":
        from engine.types import parse_bytea_escape
        return parse_bytea_escape(text)
    raise SqlError("22023", f'unrecognized encoding: "{fmt}"')


@runtime
def convert_to(text: str, encoding: str) -> bytes:
    name = encoding.upper().replace("-", "").replace("_", "")
    if name in ("UTF8", "UNICODE"):
        return text.encode()
    if name in ("LATIN1", "ISO88591"):
        try:
            return text.encode("latin-1")
        except UnicodeEncodeError:
            raise SqlError("22P05", f'character with byte sequence cannot be converted to encoding "{encoding}"') from None
    if name in ("SQLASCII",):
        return text.encode()
    raise SqlError("22023", f'invalid destination encoding name "{encoding}"')


@runtime
def convert_from(data: bytes, encoding: str) -> str:
    name = encoding.upper().replace("-", "").replace("_", "")
    try:
        if name in ("UTF8", "UNICODE", "SQLASCII"):
            return data.decode()
        if name in ("LATIN1", "ISO88591"):
            return data.decode("latin-1")
    except UnicodeDecodeError:
        raise SqlError("22021", 'invalid byte sequence for encoding "UTF8"') from None
    raise SqlError("22023", f'invalid source encoding name "{encoding}"')


@runtime
def get_byte(data: bytes, n: int) -> int:
    if not 0 <= n < len(data):
        raise SqlError("2202E", f"index {n} out of valid range, 0..{len(data) - 1}")
    return data[n]


@runtime
def set_byte(data: bytes, n: int, value: int) -> bytes:
    if not 0 <= n < len(data):
        raise SqlError("2202E", f"index {n} out of valid range, 0..{len(data) - 1}")
    return data[:n] + bytes([value & 0xFF]) + data[n + 1:]


@runtime
def bytea_substr(data: bytes, start: int, length: int | None = None) -> bytes:
    if length is not None and length < 0:
        raise SqlError("22011", "negative substring length not allowed")
    begin = start - 1
    end = None if length is None else begin + length
    if end is not None and end <= 0:
        return b""
    return data[max(begin, 0):end]


# -------------------------------------------------------------------- misc


@runtime
def gen_random_uuid() -> uuid.UUID:
    return uuid.uuid4()


@runtime
def distinct_values(a, b) -> bool:
    """IS DISTINCT FROM: NULL equals NULL, NULL differs from everything else."""
    if a is None or b is None:
        return (a is None) != (b is None)
    return a != b


def _nan_highest(v: Any) -> tuple:
    return (1, 0) if v != v else (0, v)


def _extreme_builder(pick: Callable) -> Callable:
    """GREATEST/LEAST over the arguments' common type, ordered as SQL orders it: NaN above
    every number, char(n) without its trailing spaces."""
    def build(args: list, settings: Any) -> Callable:
        oid = args[0].type.oid
        key = _nan_highest if oid in (FLOAT4.oid, FLOAT8.oid, NUMERIC.oid) else \
            (lambda v: v.rstrip(" ")) if oid == BPCHAR.oid else None

        def extreme(*values: Any) -> Any:
            present = [v for v in values if v is not None]
            return pick(present, key=key) if present else None
        return extreme
    return build


@runtime
def count_nulls(*values) -> int:
    return sum(1 for v in values if v is None)


# -------------------------------------------------------------------- signatures

define("||", (BYTEA, BYTEA), BYTEA, "({0} + {1})")
define("length", (BYTEA,), INT4, "len({0})")
define("octet_length", (BYTEA,), INT4, "len({0})")
define("bit_length", (BYTEA,), INT4, "len({0}) * 8")
define("encode", (BYTEA, TEXT), TEXT, "bytea_encode({0}, {1})")
define("decode", (TEXT, TEXT), BYTEA, "bytea_decode({0}, {1})")
define("convert_to", (TEXT, NAME), BYTEA, "convert_to({0}, {1})")
define("convert_from", (BYTEA, NAME), TEXT, "convert_from({0}, {1})")
define("get_byte", (BYTEA, INT4), INT4, "get_byte({0}, {1})")
define("set_byte", (BYTEA, INT4, INT4), BYTEA, "set_byte({0}, {1}, {2})")
define("substring", (BYTEA, INT4), BYTEA, "bytea_substr({0}, {1})")
define("substring", (BYTEA, INT4, INT4), BYTEA, "bytea_substr({0}, {1}, {2})")
define("substr", (BYTEA, INT4), BYTEA, "bytea_substr({0}, {1})")
define("substr", (BYTEA, INT4, INT4), BYTEA, "bytea_substr({0}, {1}, {2})")
define("sha256", (BYTEA,), BYTEA, "__import__('hashlib').sha256({0}).digest()")
define("gen_random_uuid", (), UUID, "gen_random_uuid()", strict=False, volatile=True)
define("uuid_generate_v4", (), UUID, "gen_random_uuid()", strict=False, volatile=True)
define("nextval", (REGCLASS,), INT8, "ctx.session.nextval({0})", volatile=True)
define("currval", (REGCLASS,), INT8, "ctx.session.currval({0})", volatile=True)
define("setval", (REGCLASS, INT8), INT8, "ctx.session.setval({0}, {1}, True)", volatile=True)
define("setval", (REGCLASS, INT8, BOOL), INT8, "ctx.session.setval({0}, {1}, {2})", volatile=True)
define("lastval", (), INT8, "ctx.session.lastval()", strict=False, volatile=True)
define("pg_typeof", ("any",), REGTYPE, builder=lambda args, settings: (
    lambda value: lambda v: value)(NamedOid(args[0].type.oid, format_type(args[0].type.base))), strict=False)
define("is_distinct_from", ("any", "any"), BOOL, "distinct_values({0}, {1})", strict=False)
define("is_not_distinct_from", ("any", "any"), BOOL, "(not distinct_values({0}, {1}))", strict=False)
define("greatest", ("anycompatible",), "anycompatible", builder=_extreme_builder(max), strict=False, variadic=True)
define("least", ("anycompatible",), "anycompatible", builder=_extreme_builder(min), strict=False, variadic=True)
define("num_nulls", ("any",), INT4, "count_nulls({args})", strict=False, variadic=True)
define("num_nonnulls", ("any",), INT4, "(len(({args},)) - count_nulls({args}))", strict=False, variadic=True)
define("version", (), TEXT, "ctx.version_string", strict=False)
define("current_user", (), NAME, "ctx.user", strict=False)
define("session_user", (), NAME, "ctx.user", strict=False)
define("user", (), NAME, "ctx.user", strict=False)
define("current_role", (), NAME, "ctx.user", strict=False)
define("current_database", (), NAME, "ctx.database", strict=False)
define("current_catalog", (), NAME, "ctx.database", strict=False)
define("current_schema", (), NAME, "ctx.current_schema()", strict=False)
define("pg_backend_pid", (), INT4, "ctx.backend_pid", strict=False)
define("pg_notify", (TEXT, TEXT), VOID, "(ctx.session.notify({0}, {1}) or '')", strict=False, volatile=True)
register("pg_listening_channels", replace(
    fixed("pg_listening_channels", ((),), [("pg_listening_channels", TEXT)],
          lambda ctx: [(channel,) for channel in sorted(ctx.session.listening)]),
    composite=False))

# advisory locks (engine/session.py keeps them)
for _key_args, _key in (((INT8,), "{0}"), ((INT4, INT4), "({0}, {1})")):
    define("pg_advisory_lock", _key_args, VOID, f"ctx.session.advisory_lock({_key}, wait=True)", volatile=True)
    define("pg_try_advisory_lock", _key_args, BOOL, f"ctx.session.advisory_lock({_key}, wait=False)", volatile=True)
    define("pg_advisory_unlock", _key_args, BOOL, f"ctx.session.advisory_unlock({_key})", volatile=True)
    define("pg_advisory_xact_lock", _key_args, VOID, f"ctx.session.advisory_lock({_key}, wait=True, xact=True)",
           volatile=True)
    define("pg_try_advisory_xact_lock", _key_args, BOOL,
           f"ctx.session.advisory_lock({_key}, wait=False, xact=True)", volatile=True)
define("pg_advisory_unlock_all", (), VOID, "ctx.session.advisory_unlock_all()", strict=False, volatile=True)
define("pg_blocking_pids", (INT4,), array_of(INT4), "ctx.session.blocking_pids({0})", volatile=True)
define("record_field", (RECORD, INT4), "any", "{0}[{1}]")    # (record).field, bound by the planner
