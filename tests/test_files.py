"""Files a user names as outputs: written whole, and a device or pipe written through, never
replaced or removed (`paceline.files`). A report or backup once replaced `/dev/null` with a
regular file when it was named as the target on a machine where the process ran as root."""

from __future__ import annotations

from pathlib import Path

from factories import PipeReader
from paceline.files import is_special, remove_if_regular, write_whole
from paceline.ingest.accounting import ErrorSink


def test_a_regular_file_is_replaced_whole_and_no_partial_is_left(tmp_path: Path) -> None:
    target = tmp_path / "report.html"
    target.write_text("last week's")
    write_whole(target, b"this week's")
    assert target.read_bytes() == b"this week's"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html"]


def test_a_pipe_is_written_through_and_stays_a_pipe(tmp_path: Path) -> None:
    pipe = PipeReader(tmp_path / "out")
    assert is_special(pipe.path) and not is_special(tmp_path) and not is_special(tmp_path / "x")
    write_whole(pipe.path, b"<html>week 46</html>")
    assert pipe.is_pipe()
    assert pipe.received() == b"<html>week 46</html>"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_taking_back_a_file_removes_a_regular_one_and_never_a_pipe(tmp_path: Path) -> None:
    written = tmp_path / "errors.csv"
    written.write_text("line,field\n")
    remove_if_regular(written)
    assert not written.exists()
    pipe = PipeReader(tmp_path / "errors")
    remove_if_regular(pipe.path)
    assert pipe.is_pipe()
    pipe.received()


def test_an_errors_file_named_as_a_pipe_takes_its_rows_and_is_never_removed(
    tmp_path: Path,
) -> None:
    """`--errors /dev/null` (or a pipe): the sink checks it, writes a rejected row through,
    syncs what it can (a pipe has no disk: fsync raised EINVAL and failed the import), and a
    rolled-back batch does not remove it (the old code unlinked the path: /dev/null as root)."""
    pipe = PipeReader(tmp_path / "errors")
    sink = ErrorSink(pipe.path, ["rep", "kind"])
    sink.check_writable()
    before = sink.mark()
    sink.reject(3, "kind", "unknown kind 'fax'", ["Ana", "fax"])
    sink.flush()
    sink.rollback(before)
    assert pipe.is_pipe()
    again = sink.mark()
    sink.reject(4, "rep", "no such rep", ["Zed", "call"])
    sink.flush()
    sink.rollback(again)  # nothing can be taken back from a pipe: no seek, no truncate
    assert pipe.is_pipe()
    lines = pipe.received().decode().splitlines()
    assert lines[0] == "line,field,reason,rep,kind"
    assert lines[1] == "3,kind,unknown kind 'fax',Ana,fax"
    assert lines[-1] == "4,rep,no such rep,Zed,call"
