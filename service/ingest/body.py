"""Reading request bodies without letting an oversized one into memory."""

from __future__ import annotations

from starlette.requests import ClientDisconnect, Request

from service.errors import BadPayload, PayloadTooLarge


async def read_body(request: Request, limit: int) -> bytes:
    """Return the body, refusing with 413 as soon as it is known to exceed ``limit`` bytes.

    A truthful Content-Length is refused before reading anything; a lying or chunked one is cut
    off once the running total passes the limit.
    """
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise BadPayload("Content-Length is not a number")
        if int(declared) > limit:
            raise PayloadTooLarge(f"body of {declared} bytes exceeds the limit of {limit} bytes")
    chunks: list[bytes] = []
    total = 0
    try:
        async for chunk in request.stream():
            total += len(chunk)
            if total > limit:
                raise PayloadTooLarge(f"body exceeds the limit of {limit} bytes")
            chunks.append(chunk)
    except ClientDisconnect:
        raise BadPayload("client disconnected before sending the whole body") from None
    return b"".join(chunks)
