"""Times read at the edges (``service.moments``): no offset means UTC; ``Retry-After`` read once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime

import pytest

from service.moments import as_utc, aware, parse_iso, parse_iso_utc, retry_after_seconds

PLUS_TWO = timezone(timedelta(hours=2))


def test_a_naive_time_is_utc_and_an_offset_is_kept_or_converted() -> None:
    naive, local = datetime(2026, 12, 5, 10, 0), datetime(2026, 12, 5, 12, 0, tzinfo=PLUS_TWO)
    assert aware(naive) == as_utc(naive) == datetime(2026, 12, 5, 10, 0, tzinfo=UTC)
    assert aware(local).utcoffset() == timedelta(hours=2)
    assert as_utc(local).utcoffset() == timedelta(0) and as_utc(local) == local


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-03-04T10:15:31.204Z", datetime(2025, 3, 4, 10, 15, 31, 204000, tzinfo=UTC)),
        ("2019-10-01 09:00:00", datetime(2019, 10, 1, 9, 0, tzinfo=UTC)),
        ("2020-01-25 12:19:09+0000", datetime(2020, 1, 25, 12, 19, 9, tzinfo=UTC)),
        ("2026-12-05T12:00:00+02:00", datetime(2026, 12, 5, 10, 0, tzinfo=UTC)),
        ("Thu, 05 Dec 2026 10:00:00 +0000", None),
        ("", None),
        (None, None),
    ],
)
def test_iso_times_parse_to_aware_datetimes_and_anything_else_to_none(
    text: str | None, expected: datetime | None
) -> None:
    in_utc = parse_iso_utc(text)
    assert parse_iso(text) == in_utc == expected
    assert in_utc is None or in_utc.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("7", 7.0), ("0", 0.0), ("-3", 0.0), ("soon", None), ("", None), ("nan", None)],
)
def test_retry_after_delay_seconds(value: str, seconds: float | None) -> None:
    assert retry_after_seconds({"retry-after": value} if value else {}) == seconds


def test_retry_after_http_date() -> None:
    later = datetime.now(UTC) + timedelta(seconds=30)
    waited = retry_after_seconds({"retry-after": format_datetime(later, usegmt=True)})
    assert waited is not None and 28 <= waited <= 30
