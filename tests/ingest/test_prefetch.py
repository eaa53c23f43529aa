"""read_ahead: the next chunk is read while this one is used, never more than one ahead."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from spendsense.ingest.prefetch import read_ahead


def test_items_come_in_order_and_the_next_is_read_while_this_one_is_used() -> None:
    started: list[int] = []
    next_started = threading.Event()

    def items() -> Iterator[int]:
        for i in range(4):
            started.append(i)
            if i == 1:
                next_started.set()
            yield i

    seen = []
    for item in read_ahead(items()):
        if item == 0:  # item 1 is read while the caller holds item 0
            assert next_started.wait(5)
        seen.append(item)
        assert len(started) <= item + 2  # never more than one ahead
    assert seen == [0, 1, 2, 3]


def test_an_error_is_raised_after_the_items_before_it() -> None:
    def items() -> Iterator[int]:
        yield 1
        raise ValueError("bad file")

    got = []
    with pytest.raises(ValueError, match="bad file"):
        for item in read_ahead(items()):
            got.append(item)
    assert got == [1]


def test_a_caller_that_stops_early_stops_the_reader() -> None:
    started: list[int] = []

    def items() -> Iterator[int]:
        for i in range(100):
            started.append(i)
            yield i

    ahead = read_ahead(items())
    assert next(ahead) == 0
    ahead.close()  # joins the reader
    assert len(started) <= 2
    assert not [t for t in threading.enumerate() if t.name == "ingest-read-ahead"]
