"""Quarantine: every rejected record, one JSON object per line, under DIR/quarantine/."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from spendsense.ingest.sandbox import redact
from spendsense.ledger.batch import Reject

QUARANTINE_DIR = "quarantine"
EXAMPLES = 3  # first rejects quoted per reason in summaries
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")


def reason_kind(reason: str) -> str:
    """A reason with its quoted values masked, so that rejects group by cause, not by value."""
    return _QUOTED.sub("'…'", reason)


@dataclass
class RejectGroup:
    """Rejects of one table for one cause: how many, and where the first ones were."""

    table: str
    reason: str
    count: int = 0
    examples: list[str] = field(default_factory=list)  # "file position[: reason]"


class Quarantine:
    """DIR/quarantine/<run_id>.jsonl written a chunk of rejects at a time.

    Lines go to a temporary file; ``close`` renames it into place (None if there were no
    rejects), ``discard`` deletes it (the run failed: nothing was loaded).
    """

    def __init__(self, data_dir: Path, run_id: str) -> None:
        self.path = data_dir / QUARANTINE_DIR / f"{run_id}.jsonl"
        self.tmp = self.path.with_suffix(".jsonl.tmp")
        self.out: IO[str] | None = None
        self.groups: dict[tuple[str, str], RejectGroup] = {}

    def summary(self) -> list[RejectGroup]:
        """Rejects grouped by table and cause, the biggest group first."""
        return sorted(self.groups.values(), key=lambda g: (-g.count, g.table, g.reason))

    def add(self, rejects: list[Reject]) -> None:
        """Append rejects (file, position, table, reason, redacted record)."""
        if not rejects:
            return
        if self.out is None:
            self.tmp.parent.mkdir(parents=True, exist_ok=True)
            self.out = self.tmp.open("w", encoding="utf-8")
        for r in rejects:
            key = (r.table, reason_kind(r.reason))
            group = self.groups.setdefault(key, RejectGroup(*key))
            group.count += 1
            if len(group.examples) < EXAMPLES:  # the values only when the cause masks them
                detail = "" if r.reason == group.reason else f": {r.reason}"
                group.examples.append(f"{r.file} {r.position}{detail}")
            line = {
                "file": r.file,
                "position": r.position,
                "table": r.table,
                "reason": r.reason,
                "record": redact(r.record),
            }
            self.out.write(json.dumps(line, default=str, ensure_ascii=False) + "\n")

    def close(self) -> Path | None:
        """Put the file in place; None if nothing was rejected."""
        if self.out is None:
            return None
        self.out.close()
        self.out = None
        self.tmp.replace(self.path)
        return self.path

    def discard(self) -> None:
        if self.out is not None:
            self.out.close()
            self.out = None
        self.tmp.unlink(missing_ok=True)


def write_quarantine(rejects: list[Reject], data_dir: Path, run_id: str) -> Path | None:
    """Write DIR/quarantine/<run_id>.jsonl (file, position, table, reason, record); None if no rejects."""
    quarantine = Quarantine(data_dir, run_id)
    quarantine.add(rejects)
    return quarantine.close()
