"""The OpenAPI 3.1 description of the HTTP API (served at /openapi.json by server/http.py).

Kept beside the handlers it describes; tests validate it with openapi-spec-validator and
check that every route of `server.http` appears in it.
"""
from __future__ import annotations

from typing import Any

from engine.database import SERVER_VERSION

_ERROR = {"$ref": "#/components/schemas/Error"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def openapi_document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "rewinddb HTTP API",
            "version": "0.1.0",
            "summary": "Health, metrics, SQL over JSON and the committed change stream of a rewinddb server.",
            "description": ("Served beside the PostgreSQL wire protocol (PostgreSQL " + SERVER_VERSION
                            + " compatible) by the same process. Loopback clients are trusted; others "
                            "must authenticate with HTTP Basic. See docs/http-api.md."),
        },
        "servers": [{"url": "http://127.0.0.1:8080"}],
        "security": [{}, {"basic": []}],
        "paths": {
            "/health": {"get": {
                "operationId": "health",
                "summary": "Liveness and the newest durable LSN",
                "responses": {
                    "200": _json({"$ref": "#/components/schemas/Health"}, "The server accepts queries."),
                    "503": _json({"$ref": "#/components/schemas/Health"},
                                 "Recovering (replaying the log), stopping, or failed."),
                },
            }},
            "/metrics": {"get": {
                "operationId": "metrics",
                "summary": "Prometheus metrics",
                "responses": {"200": {"description": "Prometheus text exposition format 0.0.4.",
                                      "content": {"text/plain": {"schema": {"type": "string"}}}}},
            }},
            "/v1/sql": {"post": {
                "operationId": "sql",
                "summary": "Run SQL and get the result as JSON",
                "requestBody": {"required": True, "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/SqlRequest"}}}},
                "responses": {
                    "200": _json({"$ref": "#/components/schemas/SqlResult"},
                                 "The result of the last statement."),
                    "400": _json(_ERROR, "The statement failed or the request was malformed."),
                    "500": _json(_ERROR, "An internal error (a bug; SQLSTATE XX000, logged by the server)."),
                    "401": _json(_ERROR, "Bad or unsupported credentials."),
                    "403": _json(_ERROR, "The client may not use the API."),
                    "503": _json(_ERROR, "The server is starting up or shutting down."),
                },
            }},
            "/v1/changes": {"get": {
                "operationId": "changes",
                "summary": "Stream committed row changes (Server-Sent Events)",
                "description": ("One event per committed row change, in commit order, each with "
                                "`id: <lsn>:<n>` and a Change as data. Without `since` or Last-Event-ID "
                                "the stream starts at the newest commit. An `event: error` with an "
                                "Error as data ends the stream when the history needed is unavailable."),
                "parameters": [
                    {"name": "since", "in": "query", "required": False,
                     "description": "Send the changes of transactions after this LSN (0: all history).",
                     "schema": {"type": "integer", "minimum": 0}},
                    {"name": "Last-Event-ID", "in": "header", "required": False,
                     "description": "Resume after this event id (`<lsn>:<n>`); wins over `since`.",
                     "schema": {"type": "string", "pattern": "^[0-9]+(:-?[0-9]+)?$"}},
                ],
                "responses": {
                    "200": {"description": "A text/event-stream that stays open.",
                            "content": {"text/event-stream": {"schema": {"type": "string"},
                                                              "x-event-data": {"$ref": "#/components/schemas/Change"}}}},
                    "400": _json(_ERROR, "A malformed `since` or Last-Event-ID."),
                    "403": _json(_ERROR, "The client may not use the API."),
                    "503": _json(_ERROR, "The server is starting up or shutting down."),
                },
            }},
            "/openapi.json": {"get": {
                "operationId": "openapi",
                "summary": "This document",
                "responses": {"200": _json({"type": "object"}, "OpenAPI 3.1 document.")},
            }},
        },
        "components": {
            "securitySchemes": {"basic": {"type": "http", "scheme": "basic",
                                          "description": "A role name and password (required off loopback)."}},
            "schemas": {
                "Health": {"type": "object", "required": ["status"], "properties": {
                    "status": {"type": "string", "enum": ["ok", "recovering", "stopping", "failed"]},
                    "lsn": {"type": "integer", "minimum": 0, "description": "Newest durable LSN."},
                    "phase": {"type": "string", "enum": ["starting", "loading snapshot", "replaying", "building indexes", "done"],
                              "description": "While recovering: what recovery is doing."},
                    "replayed_lsn": {"type": "integer", "minimum": 0,
                                     "description": "While recovering: records replayed so far (updated every read buffer of the log, about 1 MiB)."},
                    "target_lsn": {"type": "integer", "minimum": 0,
                                   "description": "While recovering: the last record to replay."}}},
                "Error": {"type": "object", "required": ["sqlstate", "message"], "properties": {
                    "sqlstate": {"type": "string", "pattern": "^[0-9A-Z]{5}$"},
                    "message": {"type": "string"}}},
                "SqlRequest": {"type": "object", "required": ["sql"], "properties": {
                    "sql": {"type": "string", "description": "One statement, or several separated by `;` "
                                                             "when there are no params."},
                    "params": {"type": "array", "description": "Values for $1, $2, ... of one statement.",
                               "items": {}}}},
                "SqlResult": {"type": "object", "required": ["columns", "rows", "command"], "properties": {
                    "columns": {"type": "array", "items": {"type": "object", "required": ["name", "type"],
                                                           "properties": {"name": {"type": "string"},
                                                                          "type": {"type": "string"}}}},
                    "rows": {"type": "array", "items": {"type": "array", "items": {}}},
                    "command": {"type": "string", "examples": ["SELECT 2", "INSERT 0 1"]}}},
                "Change": {"type": "object", "required": ["lsn", "table", "op", "key", "after"], "properties": {
                    "lsn": {"type": "integer", "minimum": 1},
                    "table": {"type": "string", "examples": ["public.users"]},
                    "op": {"type": "string", "enum": ["insert", "update", "delete"]},
                    "key": {"type": "object", "description": "Primary key columns, or {\"_rowid\": n}."},
                    "after": {"type": ["object", "null"], "description": "The new row; null for a delete."}}},
            },
        },
    }
