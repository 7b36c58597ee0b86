"""Reading request bodies with a size cap and turning JSON errors into clear messages."""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request

from gateways.api.errors import ApiError


async def read_json(request: Request, max_bytes: int) -> Any:
    raw = await read_bytes(request, max_bytes)
    if not raw.strip():
        raise ApiError(400, 'empty body: expected an alert, an array or {"alerts": [...]}')
    return parse_json(raw)


async def read_bytes(request: Request, max_bytes: int) -> bytes:
    """The raw body (a signature is computed over the exact bytes), within `max_bytes`."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise ApiError(413, f"body of {declared} bytes exceeds the limit of {max_bytes} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise ApiError(413, f"body exceeds the limit of {max_bytes} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def parse_json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except UnicodeDecodeError:
        raise ApiError(400, "body is not UTF-8 encoded JSON") from None
    except json.JSONDecodeError as error:
        raise ApiError(
            400, f"body is not valid JSON: {error.msg} at line {error.lineno} column {error.colno}"
        ) from None
