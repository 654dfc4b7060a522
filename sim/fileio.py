"""File output that never leaves a half-written file behind, and content hashes for provenance."""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only on success.

    Write the whole output to the yielded path. If the block raises, the temporary file is
    removed and ``path`` is left as it was (absent, or the previous complete version).
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        # mkstemp makes the file private (0600); give it the mode open() would have given.
        os.chmod(tmp, 0o666 & ~_current_umask())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _current_umask() -> int:
    mask = os.umask(0o022)  # reading the umask means setting it; put it straight back
    os.umask(mask)
    return mask


def write_text_atomic(path: str | Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def sha256_file(path: str | Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def temporary_directory_beside(path: str | Path) -> Path:
    """A new, empty directory beside ``path`` to build a directory output in.

    Pass it to :func:`replace_with_directory` when the output is complete, or remove it
    (``shutil.rmtree``) on failure: the target is never seen half-built.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    # mkdtemp makes the directory private (0700); give it the mode mkdir() would have given.
    os.chmod(tmp, 0o777 & ~_current_umask())
    return tmp


def replace_with_directory(tmp: str | Path, path: str | Path) -> None:
    """Rename the finished directory ``tmp`` onto ``path``, replacing what was there.

    A rename cannot replace a non-empty directory, so a previous output is first renamed
    aside and deleted only once the new one is in place.
    """
    target = Path(path)
    if not target.exists() and not target.is_symlink():
        os.replace(tmp, target)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old", dir=target.parent))
    aside = old / target.name
    os.replace(target, aside)
    try:
        os.replace(tmp, target)
    except BaseException:
        os.replace(aside, target)  # put the previous output back
        old.rmdir()
        raise
    shutil.rmtree(old)
