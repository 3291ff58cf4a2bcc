"""Reads shared between the parts of one diagnosis, and only inside it."""

from __future__ import annotations

from paceline.analytics.shared import memo, once, shared_reads


def test_reads_are_shared_only_inside_shared_reads() -> None:
    calls: list[str] = []

    def read() -> list[int]:
        calls.append("read")
        return [1, 2, 3]

    once("k", read)
    once("k", read)
    assert len(calls) == 2  # outside: every read goes through
    with shared_reads():
        first = once("k", read)
        first.append(4)  # a receiver changing its list does not change the next one's
        assert once("k", read) == [1, 2, 3]
        assert once("other", read) == [1, 2, 3]
    assert len(calls) == 4  # one per distinct key inside
    once("k", read)
    assert len(calls) == 5  # the shared answers end with the block


def test_a_memo_is_kept_for_the_block_only() -> None:
    memo("m")["a"] = 1
    assert memo("m") == {}  # outside: a fresh dictionary every time
    with shared_reads():
        memo("m")["a"] = 1
        memo("m")["b"] = 2
        assert memo("m") == {"a": 1, "b": 2}
        assert memo("other") == {}
    with shared_reads():
        assert memo("m") == {}
