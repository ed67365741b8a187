"""json and jsonb: operators (-> ->> #> #>> @> <@ ? ?| ?& || - #-), builders, to_json,
path functions, jsonb_set/insert/strip_nulls/pretty.

A json value is its text exactly as written (json keeps whitespace, key order and
duplicate keys, and so do its operators: `->` returns the sub-value's original text); a
jsonb value is its canonical text (`types.canonical_jsonb`: keys unique and ordered by
length then bytes, numbers as numeric). jsonb operators work on the parsed value
(dicts, lists, Decimal numbers) and return canonical text.
"""
from __future__ import annotations

import datetime as dt
import json
import math
from decimal import Decimal
from typing import Any, Callable

from engine.errors import SqlError
from engine.exec.expr import Expr, RowValue
from engine.exec.functions import define, runtime
from engine.exec.srf import fixed, register
from engine.types import (BOOL, FLOAT4, FLOAT8, INT2, INT4, INT8, JSON, JSONB, NUMERIC, TEXT, TIMESTAMP,
                          TIMESTAMPTZ, InfiniteDatetime, OutputSettings, SqlType, array_of, canonical_jsonb, format_numeric,
                          format_timestamp, parse_json_text, text_formatter)

TEXT_ARRAY = array_of(TEXT)

# -------------------------------------------------------------------- json text spans


class _Span:
    """A json value inside a text: its kind and [start, end) span; containers keep children."""

    __slots__ = ("kind", "start", "end", "children")

    def __init__(self, kind: str, start: int, end: int, children: list | None = None) -> None:
        self.kind = kind
        self.start = start
        self.end = end
        self.children = children    # object: [(key, span)], array: [span]


def _spans(text: str) -> _Span:
    """Parse json text into spans (the text was validated when the value was created)."""
    pos = 0
    n = len(text)

    def ws() -> None:
        nonlocal pos
        while pos < n and text[pos] in " \t\r\n":
            pos += 1

    def string_end(i: int) -> int:
        i += 1
        while text[i] != '"':
            i += 2 if text[i] == "\\" else 1
        return i + 1

    def value() -> _Span:
        nonlocal pos
        ws()
        start = pos
        c = text[pos]
        if c == "{":
            pos += 1
            children = []
            ws()
            if text[pos] == "}":
                pos += 1
                return _Span("object", start, pos, children)
            while True:
                ws()
                key_end = string_end(pos)
                key = json.loads(text[pos:key_end])
                pos = key_end
                ws()
                pos += 1          # ':'
                children.append((key, value()))
                ws()
                if text[pos] == ",":
                    pos += 1
                    continue
                pos += 1          # '}'
                return _Span("object", start, pos, children)
        if c == "[":
            pos += 1
            items = []
            ws()
            if text[pos] == "]":
                pos += 1
                return _Span("array", start, pos, items)
            while True:
                items.append(value())
                ws()
                if text[pos] == ",":
                    pos += 1
                    continue
                pos += 1
                return _Span("array", start, pos, items)
        if c == '"':
            pos = string_end(pos)
            return _Span("string", start, pos)
        while pos < n and text[pos] not in ",]} \t\r\n":
            pos += 1
        word = text[start:pos]
        kind = "null" if word == "null" else ("boolean" if word in ("true", "false") else "number")
        return _Span(kind, start, pos)

    return value()


def _json_child(text: str, key: Any) -> str | None:
    """json -> key/index: the sub-value's original text."""
    root = _spans(text)
    found = _span_child(root, key)
    return None if found is None else text[found.start:found.end]


def _span_child(span: _Span, key: Any) -> _Span | None:
    if isinstance(key, int):
        if span.kind != "array":
            return None
        items = span.children
        index = key if key >= 0 else len(items) + key
        return items[index] if 0 <= index < len(items) else None
    if span.kind != "object":
        return None
    found = None
    for k, child in span.children:
        if k == key:
            found = child        # the last duplicate wins, as in PostgreSQL
    return found


def _json_path(text: str, path: tuple) -> _Span | None:
    span: _Span | None = _spans(text)
    for step in path:
        if span is None or step is None:
            return None
        if span.kind == "array":
            try:
                key: Any = int(step)
            except ValueError:
                return None
        else:
            key = step
        span = _span_child(span, key)
    return span


def _span_text(text: str, span: _Span | None) -> str | None:
    """->> on json: strings unquoted, null as SQL NULL, everything else as written."""
    if span is None or span.kind == "null":
        return None
    raw = text[span.start:span.end]
    return json.loads(raw) if span.kind == "string" else raw


# -------------------------------------------------------------------- jsonb values


def load(text: str) -> Any:
    return json.loads(text, parse_float=Decimal)


def dump(value: Any) -> str:
    return canonical_jsonb(value)


def _scalar_text(value: Any) -> str | None:
    """The text form ->> gives a jsonb value."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return canonical_jsonb(value)


def _child(value: Any, key: Any) -> Any:
    if isinstance(key, int):
        if not isinstance(value, list):
            return _MISSING
        index = key if key >= 0 else len(value) + key
        return value[index] if 0 <= index < len(value) else _MISSING
    if not isinstance(value, dict):
        return _MISSING
    return value.get(key, _MISSING)


_MISSING = object()


def _path(value: Any, path: tuple) -> Any:
    for step in path:
        if step is None:
            return _MISSING
        if isinstance(value, list):
            try:
                value = _child(value, int(step))
            except ValueError:
                return _MISSING
        else:
            value = _child(value, step)
        if value is _MISSING:
            return _MISSING
    return value


def _element(value: Any, key: Any) -> Any:
    """jsonb -> key: a scalar is stored as a one-element array, so element 0 (or -1) of a
    scalar is the scalar itself, as in PostgreSQL."""
    if isinstance(key, int) and key in (0, -1) and not isinstance(value, (list, dict)):
        return value
    return _child(value, key)


@runtime
def jsonb_get(text: str, key: Any) -> str | None:
    v = _element(load(text), key)
    return None if v is _MISSING else dump(v)


@runtime
def jsonb_get_text(text: str, key: Any) -> str | None:
    v = _element(load(text), key)
    return None if v is _MISSING else _scalar_text(v)


@runtime
def jsonb_get_path(text: str, path: tuple) -> str | None:
    v = _path(load(text), path)
    return None if v is _MISSING else dump(v)


@runtime
def jsonb_get_path_text(text: str, path: tuple) -> str | None:
    v = _path(load(text), path)
    return None if v is _MISSING else _scalar_text(v)


@runtime
def json_get(text: str, key: Any) -> str | None:
    return _json_child(text, key)


@runtime
def json_get_text(text: str, key: Any) -> str | None:
    root = _spans(text)
    return _span_text(text, _span_child(root, key))


@runtime
def json_get_path(text: str, path: tuple) -> str | None:
    span = _json_path(text, path)
    return None if span is None else text[span.start:span.end]


@runtime
def json_get_path_text(text: str, path: tuple) -> str | None:
    return _span_text(text, _json_path(text, path))


def _contains(a: Any, b: Any, top: bool = True) -> bool:
    """jsonb containment: does `a` contain `b`?"""
    if isinstance(b, dict):
        if not isinstance(a, dict):
            return False
        return all(k in a and _contains(a[k], v, False) for k, v in b.items())
    if isinstance(b, list):
        if not isinstance(a, list):
            return False
        return all(any(_contains(x, y, False) for x in a) if isinstance(y, (dict, list))
                   else any(_equal_scalar(x, y) for x in a) for y in b)
    if isinstance(a, list) and top:
        return any(_equal_scalar(x, b) for x in a)
    return _equal_scalar(a, b)


def _equal_scalar(a: Any, b: Any) -> bool:
    if isinstance(a, (dict, list)) or isinstance(b, (dict, list)):
        return False
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    return a == b and type(a) is not str or (isinstance(a, str) and isinstance(b, str) and a == b)


_KIND_ORDER = {"null": 0, "string": 1, "number": 2, "boolean": 3, "array": 4, "object": 5}


def _compare_values(x: Any, y: Any) -> int:
    kx, ky = _typeof(x), _typeof(y)
    if kx != ky:
        return -1 if _KIND_ORDER[kx] < _KIND_ORDER[ky] else 1
    if kx == "object":
        if len(x) != len(y):
            return -1 if len(x) < len(y) else 1
        for (k1, v1), (k2, v2) in zip(_ordered_items(x), _ordered_items(y)):
            if k1 != k2:
                return -1 if (len(k1.encode()), k1.encode()) < (len(k2.encode()), k2.encode()) else 1
            c = _compare_values(v1, v2)
            if c:
                return c
        return 0
    if kx == "array":
        if len(x) != len(y):
            return -1 if len(x) < len(y) else 1
        for v1, v2 in zip(x, y):
            c = _compare_values(v1, v2)
            if c:
                return c
        return 0
    if kx == "null":
        return 0
    return 0 if x == y else (-1 if x < y else 1)


@runtime
def jsonb_cmp(a: str, b: str) -> int:
    """jsonb ordering: object > array > boolean > number > string > null, except that an
    empty top-level array sorts below everything; containers by size, then member by member;
    numbers numerically."""
    if a == b:
        return 0
    x, y = load(a), load(b)
    if x == [] or y == []:
        return -1 if x == [] else 1
    return _compare_values(x, y)


@runtime
def jsonb_contains(a: str, b: str) -> bool:
    return _contains(load(a), load(b))


@runtime
def jsonb_exists(a: str, key: str) -> bool:
    v = load(a)
    if isinstance(v, dict):
        return key in v
    if isinstance(v, list):
        return any(isinstance(x, str) and x == key for x in v)
    return isinstance(v, str) and v == key


@runtime
def jsonb_exists_any(a: str, keys: tuple) -> bool:
    return any(k is not None and jsonb_exists(a, k) for k in keys)


@runtime
def jsonb_exists_all(a: str, keys: tuple) -> bool:
    return all(k is not None and jsonb_exists(a, k) for k in keys)


@runtime
def jsonb_concat(a: str, b: str) -> str:
    x, y = load(a), load(b)
    if isinstance(x, dict) and isinstance(y, dict):
        return dump({**x, **y})
    left = x if isinstance(x, list) else [x]
    right = y if isinstance(y, list) else [y]
    return dump(left + right)


@runtime
def jsonb_delete_key(a: str, key: str) -> str:
    v = load(a)
    if isinstance(v, dict):
        v.pop(key, None)
        return dump(v)
    if isinstance(v, list):
        return dump([x for x in v if not (isinstance(x, str) and x == key)])
    raise SqlError("22023", "cannot delete from scalar")


@runtime
def jsonb_delete_keys(a: str, keys: tuple) -> str:
    for k in keys:
        if k is not None:
            a = jsonb_delete_key(a, k)
    return a


@runtime
def jsonb_delete_index(a: str, index: int) -> str:
    v = load(a)
    if isinstance(v, dict):
        raise SqlError("22023", "cannot delete from object using integer index")
    if not isinstance(v, list):
        raise SqlError("22023", "cannot delete from scalar")
    i = index if index >= 0 else len(v) + index
    if 0 <= i < len(v):
        del v[i]
    return dump(v)


@runtime
def jsonb_delete_path(a: str, path: tuple) -> str:
    v = load(a)
    if not isinstance(v, (dict, list)):
        raise SqlError("22023", "cannot delete path in scalar")
    if not path:
        return a
    parent = _path(v, path[:-1])
    last = path[-1]
    if isinstance(parent, dict):
        parent.pop(last, None)
    elif isinstance(parent, list):
        try:
            i = int(last)
        except ValueError:
            raise SqlError("22P02", f'path element at position {len(path)} is not an integer: "{last}"') from None
        i = i if i >= 0 else len(parent) + i
        if 0 <= i < len(parent):
            del parent[i]
    return dump(v)


@runtime
def jsonb_set(target: str, path: tuple, new: str, create_missing: bool = True) -> str:
    v = load(target)
    if not isinstance(v, (dict, list)):
        raise SqlError("22023", "cannot set path in scalar")
    if not path or (not v and not create_missing):
        return target
    replacement = load(new)
    _set_path(v, path, replacement, create_missing, 0)
    return dump(v)


def _set_path(container: Any, path: tuple, value: Any, create: bool, depth: int) -> None:
    step = path[depth]
    last = depth == len(path) - 1
    if step is None:
        raise SqlError("22004", f"path element at position {depth + 1} is null")
    if isinstance(container, dict):
        if last:
            if step in container or create:
                container[step] = value
        elif step in container:
            _set_path(container[step], path, value, create, depth + 1)
        return
    if isinstance(container, list):
        try:
            i = int(step)
        except ValueError:
            raise SqlError("22P02", f'path element at position {depth + 1} is not an integer: "{step}"') from None
        index = i if i >= 0 else len(container) + i
        if 0 <= index < len(container):
            if last:
                container[index] = value
            else:
                _set_path(container[index], path, value, create, depth + 1)
        elif last and create:
            if index < 0:
                container.insert(0, value)
            else:
                container.append(value)


@runtime
def jsonb_insert(target: str, path: tuple, new: str, after: bool = False) -> str:
    v = load(target)
    if not path:
        return target
    parent = _path(v, path[:-1])
    value = load(new)
    last = path[-1]
    if isinstance(parent, dict):
        if last in parent:
            raise SqlError("22023", "cannot replace existing key",
                           hint="Try using the function jsonb_set to replace key value.")
        parent[last] = value
    elif isinstance(parent, list):
        i = int(last)
        index = i if i >= 0 else len(parent) + i
        index = max(0, min(index + (1 if after else 0), len(parent)))
        parent.insert(index, value)
    return dump(v)


def _strip_nulls(v: Any) -> Any:
    if isinstance(v, dict):
        return {k: _strip_nulls(x) for k, x in v.items() if x is not None}
    if isinstance(v, list):
        return [_strip_nulls(x) for x in v]
    return v


@runtime
def jsonb_strip_nulls(a: str) -> str:
    return dump(_strip_nulls(load(a)))


@runtime
def json_strip_nulls(a: str) -> str:
    return _compact(_strip_nulls(_load_ordered(a)))


class _NumberText(str):
    """A json number kept as written (json, unlike jsonb, keeps 2e3 and 1.50 as they are)."""


def _load_ordered(text: str) -> Any:
    return json.loads(text, parse_float=_NumberText, parse_int=_NumberText, object_pairs_hook=dict)


def _compact(v: Any) -> str:
    if isinstance(v, dict):
        return "{" + ",".join(f"{_quote(k)}:{_compact(x)}" for k, x in v.items()) + "}"
    if isinstance(v, list):
        return "[" + ",".join(_compact(x) for x in v) + "]"
    return _scalar_json(v)


def _scalar_json(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, _NumberText):
        return str(v)
    if isinstance(v, str):
        return _quote(v)
    if isinstance(v, Decimal):
        return format_numeric(v)
    return str(v)


def _quote(s: str) -> str:
    return json.dumps(s, ensure_ascii=False)


@runtime
def jsonb_pretty(a: str) -> str:
    def render(v: Any, indent: int) -> str:
        pad = "    " * (indent + 1)
        if isinstance(v, dict):
            if not v:
                return "{\n" + "    " * indent + "}"
            items = [f"{pad}{_quote(k)}: {render(x, indent + 1)}" for k, x in _ordered_items(v)]
            return "{\n" + ",\n".join(items) + "\n" + "    " * indent + "}"
        if isinstance(v, list):
            if not v:
                return "[\n" + "    " * indent + "]"
            return "[\n" + ",\n".join(pad + render(x, indent + 1) for x in v) + "\n" + "    " * indent + "]"
        return canonical_jsonb(v)
    return render(load(a), 0)


def _ordered_items(v: dict) -> list:
    return sorted(v.items(), key=lambda kv: (len(kv[0].encode()), kv[0].encode()))


@runtime
def jsonb_typeof(a: str) -> str:
    return _typeof(load(a))


@runtime
def json_typeof(a: str) -> str:
    return _spans(a).kind


def _typeof(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, str):
        return "string"
    if isinstance(v, dict):
        return "object"
    if isinstance(v, list):
        return "array"
    return "number"


@runtime
def jsonb_array_length(a: str) -> int:
    v = load(a)
    if isinstance(v, list):
        return len(v)
    raise SqlError("22023", "cannot get array length of a non-array" if not isinstance(v, dict) else
                   "cannot get array length of a non-array")


@runtime
def json_array_length(a: str) -> int:
    span = _spans(a)
    if span.kind != "array":
        raise SqlError("22023", "cannot get array length of a scalar" if span.kind != "object" else
                       "cannot get array length of a non-array")
    return len(span.children)


def jsonb_each(a: str) -> list[tuple[str, str]]:
    """The rows of jsonb_each (a set-returning function)."""
    v = load(a)
    if not isinstance(v, dict):
        raise SqlError("22023", "cannot call jsonb_each on a non-object")
    return [(k, dump(x)) for k, x in _ordered_items(v)]


def jsonb_each_text(a: str) -> list[tuple[str, str | None]]:
    v = load(a)
    if not isinstance(v, dict):
        raise SqlError("22023", "cannot call jsonb_each_text on a non-object")
    return [(k, _scalar_text(x)) for k, x in _ordered_items(v)]


def jsonb_object_keys(a: str) -> list[tuple[str]]:
    v = load(a)
    if not isinstance(v, dict):
        raise SqlError("22023", f"cannot call jsonb_object_keys on {'an array' if isinstance(v, list) else 'a scalar'}")
    return [(k,) for k, _ in _ordered_items(v)]


def jsonb_array_elements(a: str) -> list[tuple[str]]:
    v = load(a)
    if not isinstance(v, list):
        raise SqlError("22023", "cannot extract elements from " + ("an object" if isinstance(v, dict) else "a scalar"))
    return [(dump(x),) for x in v]


def json_array_elements(a: str) -> list[tuple[str]]:
    """json_array_elements: each element's original text."""
    span = _spans(a)
    if span.kind != "array":
        raise SqlError("22023", "cannot extract elements from " + ("an object" if span.kind == "object" else "a scalar"))
    return [(a[x.start:x.end],) for x in span.children]


def json_each(a: str) -> list[tuple[str, str]]:
    span = _spans(a)
    if span.kind != "object":
        raise SqlError("22023", "cannot call json_each on a non-object")
    return [(k, a[x.start:x.end]) for k, x in span.children]


def jsonb_array_elements_text(a: str) -> list[tuple[str | None]]:
    v = load(a)
    if not isinstance(v, list):
        raise SqlError("22023", "cannot extract elements from " + ("an object" if isinstance(v, dict) else "a scalar"))
    return [(_scalar_text(x),) for x in v]


# -------------------------------------------------------------------- SQL values -> JSON


def json_converter(t: SqlType, settings: OutputSettings, expr: Expr | None = None) -> Callable[[Any], str]:
    """A function rendering a non-NULL value of type `t` as JSON text (to_json's rules)."""
    if isinstance(expr, RowValue):
        fields = [(name, json_converter(e.type, settings, e)) for name, e in zip(expr.names, expr.args)]

        def row(v: tuple) -> str:
            return "{" + ",".join(f"{_quote(n)}:{'null' if x is None else f(x)}" for (n, f), x in zip(fields, v)) + "}"
        return row
    oid = t.oid
    if t.element is not None:
        inner = json_converter(t.element, settings)

        def array(v: tuple) -> str:
            return "[" + ",".join("null" if x is None else (array(x) if isinstance(x, tuple) else inner(x)) for x in v) + "]"
        return array
    if oid in (INT2.oid, INT4.oid, INT8.oid):
        return str
    if oid == NUMERIC.oid:
        return lambda v: format_numeric(v) if not (v.is_nan() or v.is_infinite()) else _quote(format_numeric(v))
    if oid in (FLOAT4.oid, FLOAT8.oid):
        out = text_formatter(t, settings)
        return lambda v: out(v) if not (math.isinf(v) or v != v) else _quote(out(v))
    if oid == BOOL.oid:
        return lambda v: "true" if v else "false"
    if oid in (JSON.oid, JSONB.oid):
        return str
    if oid == TIMESTAMP.oid:
        return lambda v: _quote(format_timestamp(v).replace(" ", "T"))
    if oid == TIMESTAMPTZ.oid:
        tz = settings.timezone

        def tstz(v: dt.datetime | InfiniteDatetime) -> str:
            if v.__class__ is InfiniteDatetime:
                return _quote(str(v))
            local = v.astimezone(tz)
            offset = local.utcoffset() or dt.timedelta(0)
            total = int(offset.total_seconds())
            sign = "-" if total < 0 else "+"
            h, rem = divmod(abs(total), 3600)
            return _quote(format_timestamp(local.replace(tzinfo=None)).replace(" ", "T") + f"{sign}{h:02d}:{rem // 60:02d}")
        return tstz
    out = text_formatter(t, settings)
    return lambda v: _quote(out(v))


def _to_json_builder(args: list[Expr], settings: OutputSettings) -> Callable:
    return json_converter(args[0].type, settings, args[0])


def _to_jsonb_builder(args: list[Expr], settings: OutputSettings) -> Callable:
    convert = json_converter(args[0].type, settings, args[0])
    return lambda v: canonical_jsonb(load(convert(v)))


def _build_object(args: list[Expr], settings: OutputSettings, binary: bool) -> Callable:
    if len(args) % 2:
        raise SqlError("22023", "argument list must have even number of elements",
                       hint=f"The arguments of {'jsonb' if binary else 'json'}_build_object() must consist of "
                            "alternating keys and values.")
    keys = [text_formatter(a.type, settings) for a in args[0::2]]
    values = [json_converter(a.type, settings, a) for a in args[1::2]]

    def build(*v: Any) -> str:
        parts = []
        for i in range(0, len(v), 2):
            k = v[i]
            if k is None:
                raise SqlError("22023", f"argument {i + 1}: key must not be null")
            key = keys[i // 2](k)
            value = "null" if v[i + 1] is None else values[i // 2](v[i + 1])
            parts.append((key, value))
        if binary:
            return canonical_jsonb({k: load(x) for k, x in parts})
        return "{" + ", ".join(f"{_quote(k)} : {x}" for k, x in parts) + "}"
    return build


@runtime
def json_object_of(keys: tuple, values: tuple | None, binary: bool) -> str:
    """json_object(text[]) (alternating keys and values, or {{key, value}, ...}) and
    json_object(keys text[], values text[]); jsonb_object likewise."""
    def one_dimensional(a: tuple) -> tuple:
        if a and isinstance(a[0], tuple):
            raise SqlError("2202E", "wrong number of array subscripts")
        return a
    if values is not None:
        keys, values = one_dimensional(keys), one_dimensional(values)
        if len(keys) != len(values):
            raise SqlError("2202E", "mismatched array dimensions")
        pairs = list(zip(keys, values))
    elif keys and isinstance(keys[0], tuple):
        if isinstance(keys[0][0] if keys[0] else None, tuple):
            raise SqlError("2202E", "wrong number of array subscripts")
        if len(keys[0]) != 2:
            raise SqlError("2202E", "array must have two columns")
        pairs = [(k, v) for k, v in keys]
    else:
        if len(keys) % 2:
            raise SqlError("2202E", "array must have even number of elements")
        pairs = list(zip(keys[0::2], keys[1::2]))
    if any(k is None for k, _ in pairs):
        raise SqlError("22004", "null value not allowed for object key")
    if binary:
        return canonical_jsonb({k: v for k, v in pairs})
    return "{" + ", ".join(f"{_quote(k)} : {'null' if v is None else _quote(v)}" for k, v in pairs) + "}"


def _build_array(args: list[Expr], settings: OutputSettings, binary: bool) -> Callable:
    values = [json_converter(a.type, settings, a) for a in args]

    def build(*v: Any) -> str:
        parts = ["null" if x is None else f(x) for f, x in zip(values, v)]
        if binary:
            return canonical_jsonb([load(p) for p in parts])
        return "[" + ", ".join(parts) + "]"
    return build


def _row_to_json_builder(args: list[Expr], settings: OutputSettings) -> Callable:
    if not isinstance(args[0], RowValue):
        raise SqlError("42883", f"function row_to_json({args[0].type}) does not exist")
    return json_converter(args[0].type, settings, args[0])


@runtime
def json_text_to_jsonb(text: str) -> str:
    return canonical_jsonb(parse_json_text(text))


def jsonb_scalar_cast(target: str) -> Callable[[str], Any]:
    """jsonb -> numeric/int/float/bool casts: only from a JSON value of the matching kind."""
    def cast(text: str) -> Any:
        v = load(text)
        if target == "boolean":
            if isinstance(v, bool):
                return v
        elif isinstance(v, (int, Decimal)) and not isinstance(v, bool):
            return v
        kind = _typeof(v)
        raise SqlError("22023", f"cannot cast jsonb {kind} to type {target}")
    return cast


# -------------------------------------------------------------------- signatures

for _t, _get, _get_text, _path_get, _path_text in ((JSONB, "jsonb_get", "jsonb_get_text", "jsonb_get_path",
                                                    "jsonb_get_path_text"),
                                                   (JSON, "json_get", "json_get_text", "json_get_path",
                                                    "json_get_path_text")):
    define("->", (_t, TEXT), _t, f"{_get}({{0}}, {{1}})")
    define("->", (_t, INT4), _t, f"{_get}({{0}}, {{1}})")
    define("->>", (_t, TEXT), TEXT, f"{_get_text}({{0}}, {{1}})")
    define("->>", (_t, INT4), TEXT, f"{_get_text}({{0}}, {{1}})")
    define("#>", (_t, TEXT_ARRAY), _t, f"{_path_get}({{0}}, {{1}})")
    define("#>>", (_t, TEXT_ARRAY), TEXT, f"{_path_text}({{0}}, {{1}})")
    _prefix = "jsonb" if _t is JSONB else "json"
    define(f"{_prefix}_extract_path", (_t, TEXT), _t, f"{_path_get}({{0}}, ({{args}},)[1:])", variadic=True)
    define(f"{_prefix}_extract_path_text", (_t, TEXT), TEXT, f"{_path_text}({{0}}, ({{args}},)[1:])", variadic=True)
define("@>", (JSONB, JSONB), BOOL, "jsonb_contains({0}, {1})")
define("<@", (JSONB, JSONB), BOOL, "jsonb_contains({1}, {0})")
define("?", (JSONB, TEXT), BOOL, "jsonb_exists({0}, {1})")
define("?|", (JSONB, TEXT_ARRAY), BOOL, "jsonb_exists_any({0}, {1})")
define("?&", (JSONB, TEXT_ARRAY), BOOL, "jsonb_exists_all({0}, {1})")
define("||", (JSONB, JSONB), JSONB, "jsonb_concat({0}, {1})")
define("-", (JSONB, TEXT), JSONB, "jsonb_delete_key({0}, {1})")
define("-", (JSONB, INT4), JSONB, "jsonb_delete_index({0}, {1})")
define("-", (JSONB, TEXT_ARRAY), JSONB, "jsonb_delete_keys({0}, {1})")
define("#-", (JSONB, TEXT_ARRAY), JSONB, "jsonb_delete_path({0}, {1})")
define("jsonb_set", (JSONB, TEXT_ARRAY, JSONB), JSONB, "jsonb_set({0}, {1}, {2})")
define("jsonb_set", (JSONB, TEXT_ARRAY, JSONB, BOOL), JSONB, "jsonb_set({0}, {1}, {2}, {3})")
define("jsonb_insert", (JSONB, TEXT_ARRAY, JSONB), JSONB, "jsonb_insert({0}, {1}, {2})")
define("jsonb_insert", (JSONB, TEXT_ARRAY, JSONB, BOOL), JSONB, "jsonb_insert({0}, {1}, {2}, {3})")
define("jsonb_strip_nulls", (JSONB,), JSONB, "jsonb_strip_nulls({0})")
define("json_strip_nulls", (JSON,), JSON, "json_strip_nulls({0})")
define("jsonb_pretty", (JSONB,), TEXT, "jsonb_pretty({0})")
define("jsonb_typeof", (JSONB,), TEXT, "jsonb_typeof({0})")
define("json_typeof", (JSON,), TEXT, "json_typeof({0})")
define("jsonb_array_length", (JSONB,), INT4, "jsonb_array_length({0})")
define("json_array_length", (JSON,), INT4, "json_array_length({0})")
define("to_json", ("anyelement",), JSON, builder=_to_json_builder)
define("to_jsonb", ("anyelement",), JSONB, builder=_to_jsonb_builder)
define("row_to_json", ("any",), JSON, builder=_row_to_json_builder)
define("json_build_object", (), JSON, "'{}'", strict=False)
define("jsonb_build_object", (), JSONB, "'{}'", strict=False)
define("json_build_object", ("any",), JSON, builder=lambda a, s: _build_object(a, s, False), strict=False, variadic=True)
define("jsonb_build_object", ("any",), JSONB, builder=lambda a, s: _build_object(a, s, True), strict=False, variadic=True)
for _name, _binary in (("json_object", False), ("jsonb_object", True)):
    define(_name, (TEXT_ARRAY,), JSON if not _binary else JSONB, f"json_object_of({{0}}, None, {_binary})")
    define(_name, (TEXT_ARRAY, TEXT_ARRAY), JSON if not _binary else JSONB, f"json_object_of({{0}}, {{1}}, {_binary})")
define("json_build_array", (), JSON, "'[]'", strict=False)
define("jsonb_build_array", (), JSONB, "'[]'", strict=False)
define("json_build_array", ("any",), JSON, builder=lambda a, s: _build_array(a, s, False), strict=False, variadic=True)
define("jsonb_build_array", ("any",), JSONB, builder=lambda a, s: _build_array(a, s, True), strict=False, variadic=True)


# -------------------------------------------------------------------- set-returning functions

for _name, _columns, _rows in (
        ("jsonb_array_elements", [("value", JSONB)], jsonb_array_elements),
        ("jsonb_array_elements_text", [("value", TEXT)], jsonb_array_elements_text),
        ("jsonb_each", [("key", TEXT), ("value", JSONB)], jsonb_each),
        ("jsonb_each_text", [("key", TEXT), ("value", TEXT)], jsonb_each_text),
        ("jsonb_object_keys", [("jsonb_object_keys", TEXT)], jsonb_object_keys)):
    register(_name, fixed(_name, ((JSONB,),), _columns, (lambda rows: lambda ctx, value: rows(value))(_rows)))
for _name, _columns, _rows in (
        ("json_array_elements", [("value", JSON)], json_array_elements),
        ("json_array_elements_text", [("value", TEXT)], jsonb_array_elements_text),
        ("json_each", [("key", TEXT), ("value", JSON)], json_each),
        ("json_each_text", [("key", TEXT), ("value", TEXT)], jsonb_each_text),
        ("json_object_keys", [("json_object_keys", TEXT)], jsonb_object_keys)):
    register(_name, fixed(_name, ((JSON,),), _columns, (lambda rows: lambda ctx, value: rows(value))(_rows)))
