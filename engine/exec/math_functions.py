"""Mathematical functions and the bitwise and power operators.

Float functions follow C's libm (Python's math module is a thin layer over it) with
PostgreSQL's error checks: a domain error is 2201E/2201F, an overflow from finite inputs
22003. Numeric functions compute exactly or to enough digits and round to the result scale
PostgreSQL's numeric.c would choose (at least 16 significant digits, never fewer digits
after the point than an input had), half away from zero.
"""
from __future__ import annotations

import math
import random as _random
from decimal import ROUND_CEILING, ROUND_FLOOR, Context, Decimal

from engine.errors import SqlError, division_by_zero
from engine.exec.functions import (_leading_nbase_digits, define, numeric_scale, numeric_weight, round_numeric,
                                   runtime)
from engine.types import FLOAT4, FLOAT8, INT2, INT4, INT8, NUMERIC, NUMERIC_CONTEXT, VOID

_MIN_SIG_DIGITS = 16
_MAX_SCALE = 1000


def _clamp_scale(rscale: int) -> int:
    return max(0, min(rscale, _MAX_SCALE))


def _working(digits: int) -> Context:
    """A context carrying `digits` significant digits (for non-terminating results)."""
    return Context(prec=max(digits, 1), Emax=NUMERIC_CONTEXT.Emax, Emin=NUMERIC_CONTEXT.Emin)


def _special(a: Decimal) -> bool:
    return a.is_nan() or a.is_infinite()


# -------------------------------------------------------------------- float helpers


@runtime
def float_rint(v: float) -> float:
    """round(float8): C's rint, half to even."""
    if math.isinf(v) or v != v:
        return v
    return float(round(v))


@runtime
def float_trunc(v: float) -> float:
    return v if math.isinf(v) or v != v else float(math.trunc(v))


@runtime
def float_floor(v: float) -> float:
    return v if math.isinf(v) or v != v else float(math.floor(v))


@runtime
def float_ceil(v: float) -> float:
    return v if math.isinf(v) or v != v else float(math.ceil(v))


@runtime
def float_sign(v: float) -> float:
    return 1.0 if v > 0 else (-1.0 if v < 0 else 0.0)


@runtime
def float_sqrt(v: float) -> float:
    if v < 0:
        raise SqlError("2201F", "cannot take square root of a negative number")
    return math.sqrt(v)


@runtime
def float_pow(a: float, b: float) -> float:
    if a == 0 and b < 0:
        raise SqlError("2201F", "zero raised to a negative power is undefined")
    if a < 0 and not math.isinf(b) and b != math.floor(b):
        raise SqlError("2201F", "a negative number raised to a non-integer power yields a complex result")
    try:
        r = math.pow(a, b)
    except OverflowError:
        raise SqlError("22003", "value out of range: overflow") from None
    if r == 0 and a != 0 and not math.isinf(b):
        raise SqlError("22003", "value out of range: underflow")
    return r


@runtime
def float_exp(v: float) -> float:
    try:
        return math.exp(v)
    except OverflowError:
        raise SqlError("22003", "value out of range: overflow") from None


@runtime
def float_ln(v: float) -> float:
    if v == 0:
        raise SqlError("2201E", "cannot take logarithm of zero")
    if v < 0:
        raise SqlError("2201E", "cannot take logarithm of a negative number")
    return math.log(v)


@runtime
def float_log10(v: float) -> float:
    if v == 0:
        raise SqlError("2201E", "cannot take logarithm of zero")
    if v < 0:
        raise SqlError("2201E", "cannot take logarithm of a negative number")
    return math.log10(v)


@runtime
def float_trig(name: str, v: float) -> float:
    try:
        return getattr(math, name)(v)
    except ValueError:
        raise SqlError("22003", "input is out of range") from None


# -------------------------------------------------------------------- numeric helpers


@runtime
def numeric_abs(a: Decimal) -> Decimal:
    return abs(a)


@runtime
def numeric_ceil(a: Decimal) -> Decimal:
    return a if _special(a) else a.to_integral_value(rounding=ROUND_CEILING)


@runtime
def numeric_floor(a: Decimal) -> Decimal:
    return a if _special(a) else a.to_integral_value(rounding=ROUND_FLOOR)


@runtime
def numeric_sign(a: Decimal) -> Decimal:
    if a.is_nan():
        return a
    return Decimal(1) if a > 0 else (Decimal(-1) if a < 0 else Decimal(0))


@runtime
def numeric_sqrt(a: Decimal) -> Decimal:
    if a.is_nan():
        return a
    if a < 0:
        raise SqlError("2201F", "cannot take square root of a negative number")
    if a.is_infinite():
        return a
    sweight = (numeric_weight(a) + 1) * 4 // 2 - 1
    rscale = _clamp_scale(max(_MIN_SIG_DIGITS - sweight, numeric_scale(a)))
    root = a.sqrt(_working(max(a.adjusted(), 0) // 2 + rscale + 8))
    return round_numeric(root, rscale)


def _estimate_ln_dweight(a: Decimal) -> int:
    """estimate_ln_dweight: the decimal weight of ln(a)."""
    if a <= 0:
        return 0
    if Decimal("0.9") <= a <= Decimal("1.1"):
        x = a - 1
        return 0 if x == 0 else x.adjusted()
    w, digits = _leading_nbase_digits(a, 2)
    dweight = (w - 1) * 4
    ln_value = math.log(digits) + dweight * 2.302585092994046
    return int(math.log10(abs(ln_value))) if ln_value != 0 else 0


def _check_ln_argument(a: Decimal) -> None:
    if a == 0:
        raise SqlError("2201E", "cannot take logarithm of zero")
    if a < 0:
        raise SqlError("2201E", "cannot take logarithm of a negative number")


@runtime
def numeric_ln(a: Decimal) -> Decimal:
    if a.is_nan():
        return a
    _check_ln_argument(a)
    if a.is_infinite():
        return a
    rscale = _clamp_scale(max(_MIN_SIG_DIGITS - _estimate_ln_dweight(a), numeric_scale(a)))
    return round_numeric(a.ln(_working(rscale + 10 + abs(a.adjusted()).bit_length())), rscale)


@runtime
def numeric_log(base: Decimal, a: Decimal) -> Decimal:
    if a.is_nan() or base.is_nan():
        return Decimal("NaN")
    _check_ln_argument(base)
    _check_ln_argument(a)
    if base == 1:
        raise division_by_zero()
    dweight = _estimate_ln_dweight(a) - _estimate_ln_dweight(base)
    rscale = _clamp_scale(max(_MIN_SIG_DIGITS - dweight, numeric_scale(base), numeric_scale(a)))
    ctx = _working(rscale + 20 + abs(a.adjusted()) + abs(base.adjusted()))
    return round_numeric(ctx.divide(a.ln(ctx), base.ln(ctx)), rscale)


@runtime
def numeric_exp(a: Decimal) -> Decimal:
    if a.is_nan():
        return a
    if a.is_infinite():
        return a if a > 0 else Decimal(0)
    approx = float(a) * 0.434294481903252
    if approx > 131072 * 4:
        raise SqlError("22003", "value overflows numeric format")
    approx = max(min(approx, 2000), -2000)
    rscale = _clamp_scale(max(_MIN_SIG_DIGITS - int(approx), numeric_scale(a)))
    return round_numeric(a.exp(_working(rscale + max(int(approx), 0) + 10)), rscale)


@runtime
def numeric_power(base: Decimal, exp_: Decimal) -> Decimal:
    if base.is_nan() or exp_.is_nan():
        return Decimal(1) if (exp_ == 0 and not exp_.is_nan()) or (base == 1 and not base.is_nan()) else Decimal("NaN")
    if base == 0 and exp_ < 0:
        raise SqlError("2201F", "zero raised to a negative power is undefined")
    integral = not exp_.is_infinite() and exp_ == exp_.to_integral_value()
    if base < 0 and not integral:
        raise SqlError("2201F", "a negative number raised to a non-integer power yields a complex result")
    if base.is_infinite() or exp_.is_infinite():
        return Decimal(float(base) ** float(exp_)) if float(base) ** float(exp_) != math.inf else Decimal("Infinity")
    if integral and abs(exp_) < 2**31:
        n = int(exp_)
        rscale = _clamp_scale(max(_MIN_SIG_DIGITS, numeric_scale(base), numeric_scale(exp_)))
        if n == 0:
            return Decimal(1).scaleb(-rscale)
        if base == 0:
            return Decimal(0).scaleb(-rscale)
        magnitude = n * (base.adjusted() + 1)
        if magnitude > 131072 + 16:
            raise SqlError("22003", "value overflows numeric format")
        if n > 0:
            return round_numeric(NUMERIC_CONTEXT.power(base, n), rscale)
        ctx = _working(rscale + abs(magnitude) + 10)
        return round_numeric(ctx.divide(Decimal(1), NUMERIC_CONTEXT.power(base, -n)), rscale)
    if base == 0:
        return Decimal(0).scaleb(-_MIN_SIG_DIGITS)
    ln_base = base.ln(_working(40))
    approx = float(ln_base * exp_) * 0.434294481903252
    if approx > 131072 * 4:
        raise SqlError("22003", "value overflows numeric format")
    rscale = _clamp_scale(max(_MIN_SIG_DIGITS - int(approx), numeric_scale(base), numeric_scale(exp_)))
    ctx = _working(rscale + max(int(approx), 0) + 20)
    return round_numeric(ctx.exp(ctx.multiply(base.ln(ctx), exp_)), rscale)


@runtime
def numeric_div_trunc(a: Decimal, b: Decimal) -> Decimal:
    if b == 0:
        raise division_by_zero()
    if _special(a) or _special(b):
        return Decimal("NaN")
    return NUMERIC_CONTEXT.divide_int(a, b)


@runtime
def int_gcd(a: int, b: int, bits: int) -> int:
    r = math.gcd(a, b)
    if r >= 1 << (bits - 1):
        raise SqlError("22003", f"{'integer' if bits == 32 else 'bigint'} out of range")
    return r


@runtime
def int_lcm(a: int, b: int, bits: int) -> int:
    r = math.lcm(a, b)
    if r >= 1 << (bits - 1):
        raise SqlError("22003", f"{'integer' if bits == 32 else 'bigint'} out of range")
    return r


@runtime
def numeric_gcd(a: Decimal, b: Decimal) -> Decimal:
    scale = max(numeric_scale(a), numeric_scale(b))
    x, y = abs(a), abs(b)
    while y != 0:
        x, y = y, NUMERIC_CONTEXT.remainder(x, y)
    return x.quantize(Decimal(1).scaleb(-scale), context=NUMERIC_CONTEXT)


@runtime
def numeric_lcm(a: Decimal, b: Decimal) -> Decimal:
    scale = max(numeric_scale(a), numeric_scale(b))
    if a == 0 or b == 0:
        return Decimal(0).scaleb(-scale)
    g = numeric_gcd(a, b)
    r = abs(NUMERIC_CONTEXT.multiply(NUMERIC_CONTEXT.divide_int(a, g), b))
    return r.quantize(Decimal(1).scaleb(-scale), context=NUMERIC_CONTEXT)


@runtime
def width_bucket(operand, low, high, count: int) -> int:
    if count <= 0:
        raise SqlError("2201G", "count must be greater than zero")
    if low == high:
        raise SqlError("2201G", "lower bound cannot equal upper bound")
    if any(x != x for x in (operand, low, high)):
        raise SqlError("2201G", "operand, lower bound, and upper bound cannot be NaN")
    if low < high:
        if operand < low:
            return 0
        if operand >= high:
            return _bucket_limit(count)
        return int(((operand - low) * count) // (high - low)) + 1
    if operand > low:
        return 0
    if operand <= high:
        return _bucket_limit(count)
    return int(((low - operand) * count) // (low - high)) + 1


def _bucket_limit(count: int) -> int:
    if count == 2**31 - 1:
        raise SqlError("22003", "integer out of range")
    return count + 1


@runtime
def factorial(n: int) -> Decimal:
    if n < 0:
        raise SqlError("2201E", "factorial of a negative number is undefined")
    if n > 32177:
        raise SqlError("22003", "value overflows numeric format")
    return Decimal(math.factorial(n))


@runtime
def numeric_min_scale(a: Decimal) -> int:
    if _special(a):
        return 0
    return numeric_scale(a.normalize(NUMERIC_CONTEXT)) if a != 0 else 0


@runtime
def numeric_trim_scale(a: Decimal) -> Decimal:
    if _special(a):
        return a
    if a == 0:
        return Decimal(0)
    n = a.normalize(NUMERIC_CONTEXT)
    return n.quantize(Decimal(1), context=NUMERIC_CONTEXT) if n.as_tuple().exponent > 0 else n


@runtime
def int_shift(a: int, b: int, bits: int, left: bool) -> int:
    b &= bits - 1
    v = a << b if left else a >> b
    v &= (1 << bits) - 1
    return v - (1 << bits) if v >= 1 << (bits - 1) else v


@runtime
def set_seed(v: float) -> str:
    if not -1 <= v <= 1:
        raise SqlError("22023", f"setseed parameter {v} is out of allowed range [-1,1]")
    _random.seed(v)
    return ""


@runtime
def random_float() -> float:
    return _random.random()


# -------------------------------------------------------------------- signatures

for _t, _label, _bits in ((INT2, "smallint", 16), (INT4, "integer", 32), (INT8, "bigint", 64)):
    _hi = (1 << (_bits - 1)) - 1
    for _name in ("abs", "@u"):
        define(_name, (_t,), _t, f"(_v if (_v := abs({{0}})) <= {_hi} else overflow('{_label}'))")
    define("mod", (_t, _t), _t, "int_mod({0}, {1})")
    define("&", (_t, _t), _t, "({0} & {1})")
    define("|", (_t, _t), _t, "({0} | {1})")
    define("#", (_t, _t), _t, "({0} ^ {1})")
    define("~u", (_t,), _t, "(~{0})")
    define("<<", (_t, INT4), _t, f"int_shift({{0}}, {{1}}, {_bits}, True)")
    define(">>", (_t, INT4), _t, f"int_shift({{0}}, {{1}}, {_bits}, False)")
for _t, _bits in ((INT4, 32), (INT8, 64)):
    define("gcd", (_t, _t), _t, f"int_gcd({{0}}, {{1}}, {_bits})")
    define("lcm", (_t, _t), _t, f"int_lcm({{0}}, {{1}}, {_bits})")
for _name in ("abs", "@u"):                  # @u: the prefix operator `@ x`
    define(_name, (FLOAT4,), FLOAT4, "abs({0})")
    define(_name, (FLOAT8,), FLOAT8, "abs({0})")
    define(_name, (NUMERIC,), NUMERIC, "numeric_abs({0})")
define("round", (NUMERIC,), NUMERIC, "numeric_round({0})")
define("round", (NUMERIC, INT4), NUMERIC, "numeric_round({0}, {1})")
define("round", (FLOAT8,), FLOAT8, "float_rint({0})")
define("trunc", (NUMERIC,), NUMERIC, "numeric_trunc({0})")
define("trunc", (NUMERIC, INT4), NUMERIC, "numeric_trunc({0}, {1})")
define("trunc", (FLOAT8,), FLOAT8, "float_trunc({0})")
for _name in ("ceil", "ceiling"):
    define(_name, (NUMERIC,), NUMERIC, "numeric_ceil({0})")
    define(_name, (FLOAT8,), FLOAT8, "float_ceil({0})")
define("floor", (NUMERIC,), NUMERIC, "numeric_floor({0})")
define("floor", (FLOAT8,), FLOAT8, "float_floor({0})")
define("sign", (NUMERIC,), NUMERIC, "numeric_sign({0})")
define("sign", (FLOAT8,), FLOAT8, "float_sign({0})")
define("mod", (NUMERIC, NUMERIC), NUMERIC, "numeric_mod({0}, {1})")
define("div", (NUMERIC, NUMERIC), NUMERIC, "numeric_div_trunc({0}, {1})")
for _name in ("power", "pow", "^"):
    define(_name, (FLOAT8, FLOAT8), FLOAT8, "float_pow({0}, {1})")
    define(_name, (NUMERIC, NUMERIC), NUMERIC, "numeric_power({0}, {1})")
define("sqrt", (FLOAT8,), FLOAT8, "float_sqrt({0})")
define("sqrt", (NUMERIC,), NUMERIC, "numeric_sqrt({0})")
define("cbrt", (FLOAT8,), FLOAT8, "math.cbrt({0})")
define("exp", (FLOAT8,), FLOAT8, "float_exp({0})")
define("exp", (NUMERIC,), NUMERIC, "numeric_exp({0})")
define("ln", (FLOAT8,), FLOAT8, "float_ln({0})")
define("ln", (NUMERIC,), NUMERIC, "numeric_ln({0})")
for _name in ("log", "log10"):
    define(_name, (FLOAT8,), FLOAT8, "float_log10({0})")
    define(_name, (NUMERIC,), NUMERIC, "numeric_log(Decimal(10), {0})")
define("log", (NUMERIC, NUMERIC), NUMERIC, "numeric_log({0}, {1})")
define("pi", (), FLOAT8, "math.pi")
define("degrees", (FLOAT8,), FLOAT8, "check_float({0} / 0.017453292519943295, {0})")     # float.c's arithmetic
define("radians", (FLOAT8,), FLOAT8, "math.radians({0})")
for _name in ("sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "tanh", "asinh", "acosh", "atanh"):
    define(_name, (FLOAT8,), FLOAT8, f"float_trig('{_name}', {{0}})")
define("cot", (FLOAT8,), FLOAT8, "(1.0 / math.tan({0}))")
define("atan2", (FLOAT8, FLOAT8), FLOAT8, "math.atan2({0}, {1})")
define("gcd", (NUMERIC, NUMERIC), NUMERIC, "numeric_gcd({0}, {1})")
define("lcm", (NUMERIC, NUMERIC), NUMERIC, "numeric_lcm({0}, {1})")
define("width_bucket", (FLOAT8, FLOAT8, FLOAT8, INT4), INT4, "width_bucket({0}, {1}, {2}, {3})")
define("width_bucket", (NUMERIC, NUMERIC, NUMERIC, INT4), INT4, "width_bucket({0}, {1}, {2}, {3})")
define("random", (), FLOAT8, "random_float()", volatile=True)
define("setseed", (FLOAT8,), VOID, "set_seed({0})", volatile=True)
define("factorial", (INT8,), NUMERIC, "factorial({0})")
define("scale", (NUMERIC,), INT4, "(None if {0}.is_nan() or {0}.is_infinite() else numeric_scale({0}))", strict=True)
define("min_scale", (NUMERIC,), INT4, "numeric_min_scale({0})")
define("trim_scale", (NUMERIC,), NUMERIC, "numeric_trim_scale({0})")
runtime(numeric_scale)
