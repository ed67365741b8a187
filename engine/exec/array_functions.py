"""Arrays: subscripts and slices, the array functions, || and the containment operators.

An array value is a tuple of elements (None for NULL); a multi-dimensional array nests
tuples, every sub-array of one dimension having the same length. Lower bounds are always 1.
Element comparisons use Python equality, which is SQL equality for every element type
rewinddb stores (NULL elements never compare equal, as in PostgreSQL's containment).
"""
from __future__ import annotations

import bisect
from typing import Any

from engine.errors import SqlError
from engine.exec.functions import define, runtime
from engine.types import BOOL, INT4, TEXT, OutputSettings, array_of, text_formatter

INT4_ARRAY = array_of(INT4)

# -------------------------------------------------------------------- shape


def dims(a: tuple) -> list[int]:
    """The length of each dimension."""
    out = []
    v: Any = a
    while isinstance(v, tuple):
        out.append(len(v))
        if not v:
            break
        v = v[0]
    return out if a else []


def flatten(a: tuple) -> list:
    out: list = []

    def walk(v: tuple) -> None:
        for x in v:
            if isinstance(x, tuple):
                walk(x)
            else:
                out.append(x)
    walk(a)
    return out


def _one_dimensional_operand(a: tuple) -> None:
    if a and isinstance(a[0], tuple):
        raise SqlError("22000", "argument must be empty or one-dimensional array")


def _one_dimensional(a: tuple, what: str) -> None:
    if a and isinstance(a[0], tuple):
        raise SqlError("0A000", f"{what} for multidimensional arrays is not supported")


@runtime
def array_build(*items: Any) -> tuple:
    """ARRAY[...]: elements, or sub-arrays of equal shape for a multi-dimensional array."""
    subs = [x for x in items if isinstance(x, tuple)]
    if subs:
        if len(subs) != len(items) and any(x is not None for x in items if not isinstance(x, tuple)):
            raise SqlError("2202E", "multidimensional arrays must have array expressions with matching dimensions")
        present = [x for x in items if x is not None]
        if any(dims(x) != dims(present[0]) for x in present):
            raise SqlError("2202E", "multidimensional arrays must have array expressions with matching dimensions")
        if all(not x for x in present):
            return ()
        return tuple(x for x in items if x is not None)
    return items


@runtime
def array_subscript(a: tuple, *indexes: int | None) -> Any:
    """a[i][j]...: one element, NULL when out of range or when the subscripts do not match
    the dimensions."""
    if any(i is None for i in indexes):
        return None
    v: Any = a
    for i in indexes:
        if not isinstance(v, tuple) or not 1 <= i <= len(v):
            return None
        v = v[i - 1]
    return None if isinstance(v, tuple) else v


@runtime
def array_slice(a: tuple, *bounds: int | None) -> tuple | None:
    """a[lo:hi][lo:hi]...: bounds come in pairs; None for an omitted bound."""
    def cut(v: tuple, depth: int) -> tuple:
        if depth * 2 >= len(bounds):
            return v
        lo, hi = bounds[depth * 2], bounds[depth * 2 + 1]
        lo = 1 if lo is None else max(lo, 1)
        hi = len(v) if hi is None else min(hi, len(v))
        if lo > hi:
            return ()
        return tuple(cut(x, depth + 1) if isinstance(x, tuple) else x for x in v[lo - 1:hi])
    result = cut(a, 0)
    if result and isinstance(result[0], tuple) and any(not x for x in result):
        return ()
    return result


@runtime
def array_set(a: tuple | None, value: Any, *indexes: int | None) -> tuple:
    """a[i] = value (UPDATE ... SET a[i] = v): a one-dimensional array grows, with NULLs
    filling any gap; for more dimensions the position must already exist."""
    if any(i is None for i in indexes):
        raise SqlError("22004", "array subscript in assignment must not be null")
    a = a or ()
    if len(indexes) == 1 and (not a or not isinstance(a[0], tuple)):
        i = indexes[0]
        if i < 1:
            raise SqlError("0A000", "array lower bounds other than 1 are not supported")
        items = list(a) + [None] * max(0, i - len(a))
        items[i - 1] = value
        return tuple(items)

    def put(v: tuple, depth: int) -> tuple:
        i = indexes[depth]
        if not 1 <= i <= len(v):
            raise SqlError("2202E", "array subscript out of range")
        items = list(v)
        items[i - 1] = value if depth == len(indexes) - 1 else put(v[i - 1], depth + 1)
        return tuple(items)
    return put(a, 0)


@runtime
def array_length(a: tuple, dim: int) -> int | None:
    d = dims(a)
    return d[dim - 1] if 1 <= dim <= len(d) else None


@runtime
def array_lower(a: tuple, dim: int) -> int | None:
    return 1 if 1 <= dim <= len(dims(a)) else None


@runtime
def array_ndims(a: tuple) -> int | None:
    return len(dims(a)) or None


@runtime
def array_dims(a: tuple) -> str | None:
    d = dims(a)
    return "".join(f"[1:{n}]" for n in d) if d else None


@runtime
def cardinality(a: tuple) -> int:
    return len(flatten(a))


@runtime
def array_append(a: tuple | None, x: Any) -> tuple:
    a = a or ()
    _one_dimensional_operand(a)
    return a + (x,)


@runtime
def array_prepend(x: Any, a: tuple | None) -> tuple:
    a = a or ()
    _one_dimensional_operand(a)
    return (x,) + a


@runtime
def array_cat(a: tuple | None, b: tuple | None) -> tuple | None:
    if a is None:
        return b
    if b is None:
        return a
    if not a:
        return b
    if not b:
        return a
    da, db = dims(a), dims(b)
    if len(da) == len(db):
        if da[1:] != db[1:]:
            raise SqlError("2202E", "cannot concatenate incompatible arrays",
                           detail="Arrays with differing element dimensions are not compatible for concatenation.")
        return a + b
    if len(da) == len(db) + 1 and da[1:] == db:
        return a + (b,)
    if len(db) == len(da) + 1 and db[1:] == da:
        return (a,) + b
    raise SqlError("2202E", "cannot concatenate incompatible arrays",
                   detail="Arrays of different dimensions are not compatible for concatenation.")


@runtime
def width_bucket_thresholds(operand: Any, thresholds: tuple) -> int:
    """width_bucket(operand, thresholds): how many of the (ascending) thresholds are <= operand."""
    if thresholds and isinstance(thresholds[0], tuple):
        raise SqlError("2202E", "thresholds must be one-dimensional array")
    if None in thresholds:
        raise SqlError("22004", "thresholds array must not contain NULLs")
    return bisect.bisect_right(thresholds, operand)


@runtime
def trim_array(a: tuple, n: int) -> tuple:
    if not 0 <= n <= len(a):
        raise SqlError("2202E", f"number of elements to trim must be between 0 and {len(a)}")
    return a[:len(a) - n]


@runtime
def array_fill(value: Any, lengths: tuple | None, lower_bounds: tuple | None = (1,)) -> tuple:
    if lengths is None or lower_bounds is None:
        raise SqlError("22004", "dimension array or low bound array cannot be null")
    if lengths and isinstance(lengths[0], tuple) or lower_bounds and isinstance(lower_bounds[0], tuple):
        raise SqlError("2202E", "wrong number of array subscripts",
                       detail="Dimension array must be one dimensional.")
    if None in lengths or None in lower_bounds:
        raise SqlError("22004", "dimension values cannot be null")
    if any(b != 1 for b in lower_bounds):
        raise SqlError("0A000", "array lower bounds other than 1 are not supported")
    if not lengths or 0 in lengths:
        return ()
    if any(n < 0 for n in lengths):
        raise SqlError("2202E", "array size exceeds the maximum allowed (134217727)")
    filled: Any = value
    for n in reversed(lengths):
        filled = (filled,) * n
    return filled


@runtime
def array_position(a: tuple, x: Any, start: int = 1) -> int | None:
    _one_dimensional(a, "searching for elements")
    for i in range(max(start, 1) - 1, len(a)):
        if (a[i] is None and x is None) or (x is not None and a[i] == x):
            return i + 1
    return None


@runtime
def array_positions(a: tuple, x: Any) -> tuple:
    _one_dimensional(a, "searching for elements")
    return tuple(i + 1 for i, v in enumerate(a) if (v is None and x is None) or (x is not None and v == x))


@runtime
def array_remove(a: tuple, x: Any) -> tuple:
    _one_dimensional(a, "removing elements")
    return tuple(v for v in a if not ((v is None and x is None) or (x is not None and v == x)))


@runtime
def array_replace(a: tuple, old: Any, new: Any) -> tuple:
    def walk(v: tuple) -> tuple:
        return tuple(walk(x) if isinstance(x, tuple) else
                     (new if (x is None and old is None) or (old is not None and x == old) else x) for x in v)
    return walk(a)


@runtime
def array_contains(a: tuple, b: tuple) -> bool:
    have = [x for x in flatten(a) if x is not None]
    return all(x is not None and x in have for x in flatten(b))


@runtime
def array_overlaps(a: tuple, b: tuple) -> bool:
    have = [x for x in flatten(a) if x is not None]
    return any(x is not None and x in have for x in flatten(b))


def _array_to_string_builder(args, settings: OutputSettings):
    element = args[0].type.element
    out = text_formatter(element, settings)

    def array_to_string(a: tuple | None, sep: str | None, null: str | None = None) -> str | None:
        if a is None or sep is None:
            return None
        return sep.join(null if x is None else out(x) for x in flatten(a) if x is not None or null is not None)
    return array_to_string


def array_elements(a: tuple) -> list[tuple]:
    """The rows of unnest(array): every element, in storage order."""
    return [(x,) for x in flatten(a)]


# -------------------------------------------------------------------- signatures

define("array_subscript", ("anyarray", INT4), "anyelement", "array_subscript({args})", variadic=True)
define("array_slice", ("anyarray", INT4), "anyarray", "(None if {0} is None else array_slice({args}))", strict=False,
       variadic=True)
define("array_set", ("anyarray", "anyelement", INT4), "anyarray", "array_set({args})", strict=False, variadic=True)
define("array_length", ("anyarray", INT4), INT4, "array_length({0}, {1})")
define("array_upper", ("anyarray", INT4), INT4, "array_length({0}, {1})")
define("array_lower", ("anyarray", INT4), INT4, "array_lower({0}, {1})")
define("array_ndims", ("anyarray",), INT4, "array_ndims({0})")
define("array_dims", ("anyarray",), TEXT, "array_dims({0})")
define("cardinality", ("anyarray",), INT4, "cardinality({0})")
define("width_bucket", ("anycompatible", "anycompatiblearray"), INT4, "width_bucket_thresholds({0}, {1})")
define("trim_array", ("anyarray", INT4), "anyarray", "trim_array({0}, {1})")
define("array_fill", ("anyelement", INT4_ARRAY), "anyarray", "array_fill({0}, {1})", strict=False)
define("array_fill", ("anyelement", INT4_ARRAY, INT4_ARRAY), "anyarray", "array_fill({0}, {1}, {2})", strict=False)
define("array_append", ("anycompatiblearray", "anycompatible"), "anycompatiblearray", "array_append({0}, {1})",
       strict=False)
define("array_prepend", ("anycompatible", "anycompatiblearray"), "anycompatiblearray", "array_prepend({0}, {1})",
       strict=False)
define("array_cat", ("anycompatiblearray", "anycompatiblearray"), "anycompatiblearray", "array_cat({0}, {1})",
       strict=False)
define("||", ("anycompatiblearray", "anycompatiblearray"), "anycompatiblearray", "array_cat({0}, {1})", strict=False)
define("||", ("anycompatiblearray", "anycompatiblenonarray"), "anycompatiblearray", "array_append({0}, {1})",
       strict=False)
define("||", ("anycompatiblenonarray", "anycompatiblearray"), "anycompatiblearray", "array_prepend({0}, {1})",
       strict=False)
define("array_position", ("anycompatiblearray", "anycompatible"), INT4, "(None if {0} is None else array_position({0}, {1}))",
       strict=False)
define("array_position", ("anycompatiblearray", "anycompatible", INT4), INT4,
       "(None if {0} is None or {2} is None else array_position({0}, {1}, {2}))", strict=False)
define("array_positions", ("anycompatiblearray", "anycompatible"), array_of(INT4),
       "(None if {0} is None else array_positions({0}, {1}))", strict=False)
define("array_remove", ("anycompatiblearray", "anycompatible"), "anycompatiblearray",
       "(None if {0} is None else array_remove({0}, {1}))", strict=False)
define("array_replace", ("anycompatiblearray", "anycompatible", "anycompatible"), "anycompatiblearray",
       "(None if {0} is None else array_replace({0}, {1}, {2}))", strict=False)
define("array_to_string", ("anyarray", TEXT), TEXT, builder=_array_to_string_builder, strict=False)
define("array_to_string", ("anyarray", TEXT, TEXT), TEXT, builder=_array_to_string_builder, strict=False)
define("@>", ("anyarray", "anyarray"), BOOL, "array_contains({0}, {1})")
define("<@", ("anyarray", "anyarray"), BOOL, "array_contains({1}, {0})")
define("&&", ("anyarray", "anyarray"), BOOL, "array_overlaps({0}, {1})")

