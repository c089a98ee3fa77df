"""The on-disk format shared by the index backends, and its atomic write.

A snapshot is one file: a magic line, a 4-byte big-endian header length, a JSON header
(the ``IndexManifest`` plus a format number) and the backend's payload. Keeping the
manifest in the same file as the vectors means one rename publishes both together.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from knowledge_base.errors import VectorIndexError
from knowledge_base.index.protocol import IndexManifest

MAGIC = b"TIER1-KB-INDEX\n"
FORMAT = 1
_HINT = "delete it and restart: tier1 rebuilds the index from the database"


def write_snapshot(path: Path, manifest: IndexManifest, payload: bytes) -> None:
    """Atomically replace ``path`` with a snapshot (temp file, fsync, rename, fsync dir)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    header = json.dumps({"format": FORMAT, **manifest.to_dict()}).encode("utf-8")
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, 0o644)  # mkstemp's 0600 would hide the index from other service users
        with os.fdopen(fd, "wb") as f:
            f.write(MAGIC)
            f.write(len(header).to_bytes(4, "big"))
            f.write(header)
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    _fsync_directory(path.parent)


def read_snapshot(path: Path, expected_type: str) -> tuple[IndexManifest, bytes]:
    """Read a snapshot written by ``write_snapshot`` for the backend ``expected_type``.

    Raises:
        VectorIndexError: the file is missing, not a snapshot, truncated or of another backend.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise VectorIndexError(f"cannot read the index file {path}: {e}") from e
    if not data.startswith(MAGIC) or len(data) < len(MAGIC) + 4:
        raise VectorIndexError(f"{path} is not a tier1 index file; {_HINT}")
    start = len(MAGIC) + 4
    size = int.from_bytes(data[len(MAGIC) : start], "big")
    manifest, _ = _parse_header(path, data[start : start + size])
    if manifest.type != expected_type:
        raise VectorIndexError(
            f"{path} was written by the {manifest.type!r} index, not {expected_type!r}; {_HINT}"
        )
    return manifest, data[start + size :]


def read_manifest(path: Path) -> IndexManifest:
    """Only the manifest of a snapshot (any backend), e.g. to pick the class that loads it.

    Raises:
        VectorIndexError: the file is missing or not a readable snapshot.
    """
    path = Path(path)
    try:
        with path.open("rb") as f:
            head = f.read(len(MAGIC) + 4)
            if not head.startswith(MAGIC) or len(head) < len(MAGIC) + 4:
                raise VectorIndexError(f"{path} is not a tier1 index file; {_HINT}")
            header = f.read(int.from_bytes(head[len(MAGIC) :], "big"))
    except OSError as e:
        raise VectorIndexError(f"cannot read the index file {path}: {e}") from e
    return _parse_header(path, header)[0]


def _parse_header(path: Path, raw: bytes) -> tuple[IndexManifest, int]:
    try:
        header = json.loads(raw.decode("utf-8"))
        fmt = header.pop("format")
        manifest = IndexManifest(**header)
    except (ValueError, TypeError, KeyError, AttributeError) as e:
        raise VectorIndexError(f"{path} has a corrupt header ({e}); {_HINT}") from e
    if fmt != FORMAT:
        raise VectorIndexError(
            f"{path} uses index format {fmt}, this tier1 reads {FORMAT}; {_HINT}"
        )
    return manifest, fmt


def _fsync_directory(directory: Path) -> None:
    # Makes the rename itself durable; not possible (nor needed) on every platform.
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
