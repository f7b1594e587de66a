"""Content-addressed storage for attachment and raw-MIME bytes, outside the database rows.

Files are written to a temporary name, fsynced and renamed, so a blob that exists is complete;
the same content is stored once however many messages carry it.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path

_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
_KNOWN_MAX = 4096


class BlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        # Digests this process has stored or seen on disk: the same logo arrives with every
        # newsletter, and a set lookup is cheaper than a stat() per attachment.
        self._known: set[str] = set()

    def path(self, sha256: str) -> Path:
        if not _SHA256_HEX.fullmatch(sha256):
            raise ValueError("not a sha256 hex digest")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def exists(self, sha256: str) -> bool:
        return self.path(sha256).exists()

    def read(self, sha256: str) -> bytes:
        return self.path(sha256).read_bytes()

    def put(self, data: bytes) -> str:
        """Store ``data`` durably and return its sha256."""
        digest = hashlib.sha256(data).hexdigest()
        if digest in self._known:
            return digest
        target = self.path(digest)
        if target.exists():
            self._remember(digest)
            return digest
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, target)
            _fsync_directory(target.parent)  # the rename itself must survive a crash too
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        self._remember(digest)
        return digest

    def _remember(self, digest: str) -> None:
        if len(self._known) >= _KNOWN_MAX:
            self._known.clear()
        self._known.add(digest)

    def adopt(self, tmp_path: Path, sha256: str) -> str:
        """Move an already-written, fsynced temp file into place (streamed raw MIME)."""
        target = self.path(sha256)
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():
            tmp_path.unlink(missing_ok=True)
        else:
            os.replace(tmp_path, target)
            _fsync_directory(target.parent)
        return sha256


def _fsync_directory(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
