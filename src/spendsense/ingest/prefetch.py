"""Read ahead: the next chunk is read on a thread while the caller validates and stores this one.

Reading (file bytes, PyArrow's JSON reader, Polars) and validating and staging (Polars,
SQLite through ADBC) mostly run outside the GIL, so on two cores they overlap. At most
two chunks are in memory: the caller's, and the one being read; the reader starts the
next only when the caller has taken the last.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Iterator
from typing import TypeVar

T = TypeVar("T")
_DONE = object()


def read_ahead(items: Iterator[T]) -> Iterator[T]:
    """``items`` in order, each produced on a reader thread while the previous one is used.

    An exception of ``items`` is raised here, after the items before it. When the caller
    stops early (closes this generator or raises), the reader finishes the item it is on
    and stops; it is joined before this generator returns.
    """
    handed: queue.Queue[tuple[object, BaseException | None]] = queue.Queue(maxsize=1)
    may_read = threading.Semaphore(1)  # released when the caller takes an item
    stop = threading.Event()

    def reader() -> None:
        try:
            while True:
                may_read.acquire()
                if stop.is_set():
                    return
                item = next(items, _DONE)
                handed.put((item, None))
                if item is _DONE:
                    return
        except BaseException as exc:  # handed to the caller, raised there
            handed.put((_DONE, exc))

    thread = threading.Thread(target=reader, name="ingest-read-ahead", daemon=True)
    thread.start()
    try:
        while True:
            item, error = handed.get()
            if error is not None:
                raise error
            if item is _DONE:
                return
            may_read.release()  # read the next one while this one is used
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        may_read.release()
        while thread.is_alive():  # drain, so a reader blocked on a full queue can finish
            with contextlib.suppress(queue.Empty):
                handed.get(timeout=0.05)
        thread.join()
