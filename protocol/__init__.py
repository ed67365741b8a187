"""PostgreSQL frontend/backend protocol 3.0, sans-IO.

Bytes come in through `decoder.FrontendDecoder.feed()`; typed, frozen messages
(`messages`) come out of `next_message()`. Replies are built by the encoder
functions in `backend`, which return the bytes to write. Nothing here touches a
socket, asyncio, a clock or the engine: `server` moves the bytes, `engine`
answers the SQL. Binary value formats live in `binary`; password
authentication exchanges (cleartext, MD5, SCRAM-SHA-256) in `auth`. A peer
that breaks the protocol gets a `errors.ProtocolViolation`, which says what to
send back and whether to close; our own misuse of an encoder is a ValueError.
"""
