"""The content-addressed blob store on a real filesystem."""

from __future__ import annotations

import hashlib
from pathlib import Path

from service.store.blobs import BlobStore


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_put_many_returns_digests_in_order_and_stores_each_content_once(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    already = store.put(b"logo")
    items = [b"first", b"logo", b"second", b"first", b""]
    assert store.put_many(items) == [_sha(item) for item in items]
    for item in items:
        assert store.read(_sha(item)) == item
    assert already == _sha(b"logo")
    assert not list(tmp_path.rglob(".tmp-*")), "no temporary file may be left behind"
    assert len([p for p in tmp_path.rglob("*") if p.is_file()]) == 4


def test_put_many_of_one_or_none(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    assert store.put_many([]) == []
    assert store.put_many([b"only"]) == [_sha(b"only")]
    assert store.read(_sha(b"only")) == b"only"


def test_put_many_knows_blobs_another_process_stored(tmp_path: Path) -> None:
    BlobStore(tmp_path).put(b"shared")
    fresh = BlobStore(tmp_path)
    assert fresh.put_many([b"shared", b"new"]) == [_sha(b"shared"), _sha(b"new")]
    assert fresh.read(_sha(b"new")) == b"new"
