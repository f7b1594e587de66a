"""Shared fixtures for tests that read the real-world corpora in ``../shared/corpora``.

A user's clone has no ``shared/`` next to it, so these tests skip with a clear message when
it is absent; CI sets ``MAILHOOK_REQUIRE_CORPORA=1`` so that a missing corpus fails the run
instead of silently testing nothing.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

CORPORA_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "corpora"
REQUIRE_ENV = "MAILHOOK_REQUIRE_CORPORA"


@pytest.fixture(scope="session")
def corpora_dir() -> Path:
    """Path of ``../shared/corpora``; skips (or fails under ``MAILHOOK_REQUIRE_CORPORA=1``) if absent."""
    if not CORPORA_DIR.is_dir():
        message = f"corpora directory not found at {CORPORA_DIR} (it sits beside the repository as shared/corpora)"
        if os.environ.get(REQUIRE_ENV) == "1":
            pytest.fail(f"{message}; {REQUIRE_ENV}=1 requires it")
        pytest.skip(f"{message}; set {REQUIRE_ENV}=1 to make this a failure")
    return CORPORA_DIR
