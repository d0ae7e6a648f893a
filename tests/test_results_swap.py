"""The result folder never disappears while a run replaces it: the swap is one atomic exchange."""

import os

from bayes_nsi.app import results


def test_exchange_swaps_two_folders_atomically(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    (a / "x").write_text("from a")
    (b / "y").write_text("from b")
    assert results._exchange(a, b)  # Linux renameat2 on this file system
    assert os.listdir(a) == ["y"] and os.listdir(b) == ["x"]


def test_final_folder_exists_at_every_rename(tmp_path, monkeypatch):
    """Record whether ``final`` exists at each rename the swap makes: with the exchange it always does, and
    the old content is gone afterwards."""
    final = tmp_path / "res"
    final.mkdir()
    (final / "old.txt").write_text("old")
    seen = []
    real_exchange, real_rename = results._exchange, os.rename

    def watch_exchange(a, b):
        seen.append(final.exists())
        done = real_exchange(a, b)
        seen.append(final.exists())
        return done

    def watch_rename(src, dst):
        seen.append(final.exists())
        real_rename(src, dst)
        seen.append(final.exists())

    monkeypatch.setattr(results, "_exchange", watch_exchange)
    monkeypatch.setattr(results.os, "rename", watch_rename)
    with results.atomic_result_dir(final) as partial:
        (partial / "new.txt").write_text("new")
    assert seen and all(seen)
    assert sorted(os.listdir(tmp_path)) == ["res"] and os.listdir(final) == ["new.txt"]


def test_a_kill_between_exchange_and_cleanup_leaves_a_stale_partial_the_next_run_removes(tmp_path, monkeypatch):
    final = tmp_path / "res"
    final.mkdir()
    (final / "old.txt").write_text("old")
    monkeypatch.setattr(results, "_remove", lambda path: None)  # "killed" before the old content is deleted
    monkeypatch.setattr(results.os, "getpid", lambda: 999_999_999)  # a pid no process has
    with results.atomic_result_dir(final) as partial:
        (partial / "new.txt").write_text("new")
    stale = tmp_path / ".res.partial-999999999"
    assert os.listdir(final) == ["new.txt"] and os.listdir(stale) == ["old.txt"]
    monkeypatch.undo()
    with results.atomic_result_dir(final) as partial:
        (partial / "newer.txt").write_text("newer")
    assert sorted(os.listdir(tmp_path)) == ["res"] and os.listdir(final) == ["newer.txt"]
