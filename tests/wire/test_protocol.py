"""The extended query protocol message by message, with a bare frontend (tests/support/wire.py):
named and unnamed statements and portals, Execute row limits and PortalSuspended, Describe,
Flush without Sync, Close, errors then discard until Sync, format code checks."""
from __future__ import annotations

import struct

import pytest

from tests.support import wire as W


@pytest.fixture(scope="module")
def table(server):
    client = W.RawClient(server.port)
    client.send(W.query("CREATE TABLE nums (n int PRIMARY KEY, label text); "
                        "INSERT INTO nums SELECT g, 'n' || g FROM generate_series(1, 10) g"))
    client.until(b"Z")
    client.close()
    return server


def kinds(messages) -> str:
    return "".join(k.decode() for k, _ in messages)


def test_flush_without_sync_sends_pending_output(table):
    client = W.RawClient(table.port)
    client.send(W.parse("", "SELECT n FROM nums WHERE n = $1"), W.describe("S", ""), W.FLUSH)
    assert kinds(client.until(b"T")) == "1tT"          # ParseComplete, ParameterDescription, RowDescription
    client.send(W.SYNC)
    assert kinds(client.until(b"Z")) == "Z"


def test_describe_statement_reports_inferred_parameter_types(table):
    client = W.RawClient(table.port)
    client.send(W.parse("s", "INSERT INTO nums VALUES ($1, $2) RETURNING n + 0.5"), W.describe("S", "s"), W.SYNC)
    messages = client.until(b"Z")
    assert kinds(messages) == "1tTZ"
    body = messages[1][1]
    assert struct.unpack("!h2I", body) == (2, 23, 25)
    row_description = messages[2][1]
    assert struct.unpack_from("!I", row_description, row_description.index(b"\0", 2) + 7)[0] == 1700


def test_execute_with_a_row_limit_suspends_and_resumes(table):
    client = W.RawClient(table.port)
    client.send(W.query("BEGIN"))
    client.until(b"Z")
    client.send(W.parse("", "SELECT n FROM nums ORDER BY n"), W.bind("c1", ""), W.execute("c1", 4), W.SYNC)
    messages = client.until(b"Z")
    assert kinds(messages) == "12DDDDsZ"
    client.send(W.execute("c1", 4), W.execute("c1", 4), W.execute("c1", 4), W.SYNC)
    messages = client.until(b"Z")
    assert kinds(messages) == "DDDDsDDCCZ"
    rows = [int(W.data_row(body)[0]) for k, body in messages if k == b"D"]
    assert rows == [5, 6, 7, 8, 9, 10]
    tags = [body.rstrip(b"\0").decode() for k, body in messages if k == b"C"]
    assert tags == ["SELECT 2", "SELECT 0"]                # as PostgreSQL: the rows of that Execute
    client.send(W.query("COMMIT"))
    client.until(b"Z")
    client.send(W.execute("c1", 0), W.SYNC)              # portals end with their transaction
    messages = client.until(b"Z")
    assert W.fields(messages[0][1])["C"] == "34000"


def test_unnamed_portal_is_replaced_by_the_next_bind_and_named_ones_clash(table):
    client = W.RawClient(table.port)
    client.send(W.query("BEGIN"))
    client.until(b"Z")
    client.send(W.parse("one", "SELECT 1"), W.parse("two", "SELECT 2"), W.bind("", "one"), W.bind("", "two"),
                W.execute("", 0), W.bind("p", "one"), W.bind("p", "two"), W.SYNC)
    messages = client.until(b"Z")
    assert kinds(messages) == "1122DC2EZ"
    assert W.data_row(messages[4][1]) == [b"2"]
    assert W.fields(messages[7][1])["C"] == "42P03"
    client.send(W.query("ROLLBACK"))
    client.until(b"Z")


def test_an_error_discards_messages_until_sync(table):
    client = W.RawClient(table.port)
    client.send(W.parse("", "SELECT n FROM no_such_table"), W.bind("", ""), W.execute("", 0),
                W.parse("", "SELECT 1"), W.SYNC, W.parse("", "SELECT 42"), W.bind("", ""), W.execute("", 0), W.SYNC)
    messages = client.until(b"Z")
    assert kinds(messages) == "EZ"
    assert W.fields(messages[0][1])["C"] == "42P01"
    messages = client.until(b"Z")
    assert kinds(messages) == "12DCZ"
    assert W.data_row(messages[2][1]) == [b"42"]


def test_close_and_describe_portal(table):
    client = W.RawClient(table.port)
    client.send(W.parse("st", "SELECT n, label FROM nums WHERE n = $1"), W.bind("", "st", (b"3",)),
                W.describe("P", ""), W.execute("", 0), W.close("S", "st"), W.close("S", "st"),
                W.bind("", "st", (b"3",)), W.SYNC)
    messages = client.until(b"Z")
    assert kinds(messages) == "12TDC33EZ"
    assert W.data_row(messages[3][1]) == [b"3", b"n3"]
    assert W.fields(messages[7][1])["C"] == "26000"


def test_format_codes_are_checked(table):
    client = W.RawClient(table.port)
    client.send(W.parse("", "SELECT n, label FROM nums WHERE n = $1"), W.bind("", "", (b"1",), (2,)), W.SYNC)
    messages = client.until(b"Z")
    assert W.fields(messages[1][1])["C"] == "22023"
    client.send(W.parse("", "SELECT n, label FROM nums"), W.bind("", "", (), (), (0, 1, 1)), W.SYNC)
    messages = client.until(b"Z")
    assert W.fields(messages[1][1])["C"] == "08P01"
    client.send(W.parse("", "SELECT n FROM nums WHERE n = $1"), W.bind("", "", (b"\x00\x01",), (1,)), W.SYNC)
    messages = client.until(b"Z")
    assert W.fields(messages[1][1])["C"] == "22P03"         # an int4 is 4 bytes in binary


def test_binary_results_and_parameters(table):
    client = W.RawClient(table.port)
    client.send(W.parse("", "SELECT n, ARRAY[n, NULL] FROM nums WHERE n = $1", (23,)),
                W.bind("", "", (struct.pack("!i", 7),), (1,), (1,)), W.execute("", 0), W.SYNC)
    messages = client.until(b"Z")
    assert kinds(messages) == "12DCZ"
    n, array = W.data_row(messages[2][1])
    assert n == struct.pack("!i", 7)
    assert array == struct.pack("!iiIii", 1, 1, 23, 2, 1) + struct.pack("!ii", 4, 7) + struct.pack("!i", -1)


def test_sql_prepare_and_protocol_share_one_namespace(table):
    client = W.RawClient(table.port)
    client.send(W.query("PREPARE byn (int) AS SELECT label FROM nums WHERE n = $1"))
    client.until(b"Z")
    client.send(W.bind("", "byn", (b"4",)), W.execute("", 0), W.SYNC)
    messages = client.until(b"Z")
    assert W.data_row(messages[1][1]) == [b"n4"]
    client.send(W.query("DEALLOCATE byn"))
    client.until(b"Z")
    client.send(W.bind("", "byn", (b"4",)), W.SYNC)
    assert W.fields(client.until(b"Z")[0][1])["C"] == "26000"
