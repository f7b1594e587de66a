"""Ids: the time-ordered id of every stored row, and the idempotency key of a delivery that
comes without a provider id (the ``idempotency_key`` column that makes redeliveries no-ops)."""

from __future__ import annotations

import hashlib
import secrets
import threading
import time

_CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz"
# Every pair of Crockford digits, indexed by the 10 bits they encode: 13 lookups make an id,
# about a third of the cost of 26 single-digit steps (new_id runs once per stored message).
_PAIRS = [high + low for high in _CROCKFORD for low in _CROCKFORD]
_PAIR_SHIFTS = tuple(range(120, -1, -10))


_last_id = [0]
_id_lock = threading.Lock()


def new_id() -> str:
    """A 26-character, time-ordered id (ULID layout) so ids sort by arrival in every database.

    Monotonic within a process (as ULID's monotonic mode): an id made in the same millisecond as
    the previous one is that one plus one, never a random smaller value. The read API hands out
    a message's id as the cursor for "what came after it"; two mails to one address stored in
    the same millisecond by two group commits must not sort against their order of storage.
    """
    value = (time.time_ns() // 1_000_000) << 80 | secrets.randbits(80)
    with _id_lock:
        last = _last_id[0]
        if value <= last and value >> 80 == last >> 80:
            value = last + 1
        _last_id[0] = value
    return encode_id(value)


def encode_id(value: int) -> str:
    """A 128-bit value as 26 Crockford characters: ``new_id``'s alphabet, so cursors made from
    an instant (``value = ms << 80``) compare with message ids."""
    return "".join([_PAIRS[(value >> shift) & 1023] for shift in _PAIR_SHIFTS])


def idempotency_key(*parts: str | None) -> str:
    """sha256 over the identifying parts; used where the provider gives no delivery id."""
    joined = "\x1f".join(part or "" for part in parts)
    return hashlib.sha256(joined.encode("utf-8", "surrogatepass")).hexdigest()
