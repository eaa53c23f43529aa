"""Quarantine: every rejected record, one JSON object per line, under DIR/quarantine/."""

from __future__ import annotations

import json
from pathlib import Path

from spendsense.ingest.sandbox import redact
from spendsense.ledger.batch import Reject

QUARANTINE_DIR = "quarantine"


def write_quarantine(rejects: list[Reject], data_dir: Path, run_id: str) -> Path | None:
    """Write DIR/quarantine/<run_id>.jsonl (file, position, table, reason, record); None if no rejects."""
    if not rejects:
        return None
    out = data_dir / QUARANTINE_DIR
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{run_id}.jsonl"
    lines = [
        json.dumps(
            {
                "file": r.file,
                "position": r.position,
                "table": r.table,
                "reason": r.reason,
                "record": redact(r.record),
            },
            default=str,
            ensure_ascii=False,
        )
        for r in rejects
    ]
    tmp = path.with_suffix(".jsonl.tmp")
    tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path
