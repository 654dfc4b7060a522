"""Atomic output: files get the usual permissions, and a failure leaves nothing behind."""

from __future__ import annotations

import os
import stat

import pytest

from sim.fileio import atomic_path, write_text_atomic


def test_atomic_file_gets_the_mode_a_plain_open_would_give(tmp_path):
    write_text_atomic(tmp_path / "atomic.txt", "x")
    (tmp_path / "plain.txt").write_text("x")
    mode = stat.S_IMODE(os.stat(tmp_path / "atomic.txt").st_mode)
    assert mode == stat.S_IMODE(os.stat(tmp_path / "plain.txt").st_mode)


def test_failure_leaves_no_file(tmp_path):
    with pytest.raises(RuntimeError), atomic_path(tmp_path / "out.txt") as tmp:
        tmp.write_text("half")
        raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []
