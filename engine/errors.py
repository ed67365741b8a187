"""SQL errors: every failure the engine reports carries a PostgreSQL SQLSTATE.

The server turns a `SqlError` into an ErrorResponse without interpreting it. Anything
that is not a `SqlError` escaping the engine is a bug and is reported as XX000.
"""
from __future__ import annotations


class SqlError(Exception):
    """An error with a SQLSTATE, as PostgreSQL would report it."""

    def __init__(
        self,
        sqlstate: str,
        message: str,
        *,
        detail: str | None = None,
        hint: str | None = None,
        position: int | None = None,
        severity: str = "ERROR",
        table: str | None = None,
        column: str | None = None,
        constraint: str | None = None,
        where: str | None = None,
    ) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate
        self.message = message
        self.detail = detail
        self.hint = hint
        self.position = position
        self.severity = severity
        self.table = table
        self.column = column
        self.constraint = constraint
        self.where = where              # PostgreSQL's CONTEXT, e.g. "COPY t, line 3, column a: ..."

    def __repr__(self) -> str:
        return f"SqlError({self.sqlstate}, {self.message!r})"


def feature_not_supported(feature: str) -> SqlError:
    return SqlError("0A000", f"{feature} is not supported")


def syntax_error(message: str, position: int | None = None) -> SqlError:
    return SqlError("42601", message, position=position)


def undefined_table(name: str) -> SqlError:
    return SqlError("42P01", f'relation "{name}" does not exist')


def undefined_column(name: str) -> SqlError:
    return SqlError("42703", f'column "{name}" does not exist')


def datatype_mismatch(message: str) -> SqlError:
    return SqlError("42804", message)


def invalid_text(type_name: str, text: str) -> SqlError:
    return SqlError("22P02", f'invalid input syntax for type {type_name}: "{text}"')


def division_by_zero() -> SqlError:
    return SqlError("22012", "division by zero")


def out_of_range(type_name: str) -> SqlError:
    return SqlError("22003", f"{type_name} out of range")


def undefined_function(signature: str) -> SqlError:
    return SqlError(
        "42883",
        f"function {signature} does not exist",
        hint="No function matches the given name and argument types. "
        "You might need to add explicit type casts.",
    )


def undefined_operator(signature: str, prefix: bool = False) -> SqlError:
    return SqlError(
        "42883",
        f"operator does not exist: {signature}",
        hint="No operator matches the given name and argument type. You might need to add an explicit type cast."
        if prefix else "No operator matches the given name and argument types. "
        "You might need to add explicit type casts.",
    )


def in_failed_transaction() -> SqlError:
    return SqlError(
        "25P02",
        "current transaction is aborted, commands ignored until end of transaction block",
    )


def read_only_transaction(what: str = "statement") -> SqlError:
    return SqlError("25006", f"cannot execute {what} in a read-only transaction")
