"""How long Polars' allocator keeps freed memory before it hands it back to the system.

Polars allocates with jemalloc, which by default returns freed pages to the kernel within
about ten seconds and so takes them back, zeroed, page fault by page fault, when the next
chunk of users needs the same memory again. On a 100k-user ``run --ledger`` that was a
quarter of the run's CPU (23-24 s of system time of 78 s); keeping freed dirty pages for
5 s and releasing the rest at once cut the system time to 15.5-19.7 s for 0.3-0.6 GB
more peak memory (docs/performance.md, "Kernel time").

jemalloc reads the setting once, when Polars loads, so :func:`keep_freed_memory` must run
before the first ``import polars`` of the process; a value already in the environment wins,
and where Polars is built without jemalloc the variable is ignored.
"""

from __future__ import annotations

import os
from collections.abc import MutableMapping

ALLOCATOR_ENV = "_RJEM_MALLOC_CONF"  # jemalloc's MALLOC_CONF under Polars' symbol prefix
KEEP_FREED_MEMORY = "dirty_decay_ms:5000,muzzy_decay_ms:0"


def keep_freed_memory(environ: MutableMapping[str, str] = os.environ) -> None:
    """Put the setting in ``environ`` (this process's by default) unless one is there."""
    environ.setdefault(ALLOCATOR_ENV, KEEP_FREED_MEMORY)
