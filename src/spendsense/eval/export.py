"""One decision-trace JSON per consented user: personas with their traces, recommendations with theirs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import polars as pl

from spendsense.eval.load import Stored

PERSONA_FIELDS = (
    "window_days", "status", "primary_persona_id", "primary_persona_name",
    "secondary_persona_id", "secondary_persona_name",
)  # fmt: skip
REC_FIELDS = (
    "recommendation_id", "window_days", "kind", "item_id", "title", "rationale", "disclosure",
    "rank", "status", "trace_id",
)  # fmt: skip


def _valid_json(col: str) -> pl.Expr:
    """The JSON text when it parses as an object, else the text quoted as a JSON string."""
    text = pl.col(col)
    ok = text.str.strip_chars().str.starts_with("{") & text.str.json_path_match("$").is_not_null()
    quoted = pl.struct(text.alias("unparsed")).struct.json_encode()
    return pl.when(text.is_null()).then(pl.lit("null")).when(ok).then(text).otherwise(quoted)


def _with_raw(fields: tuple[str, ...], key: str, raw: str) -> pl.Expr:
    """``{...fields, key: <raw JSON>}`` built as text so the trace is embedded verbatim."""
    head = pl.struct(list(fields)).struct.json_encode().str.strip_suffix("}")
    return pl.concat_str([head, pl.lit(f',"{key}":'), _valid_json(raw), pl.lit("}")])


def _json_array(col: str) -> pl.Expr:
    return pl.concat_str([pl.lit("["), pl.col(col).list.join(","), pl.lit("]")])


def user_documents(stored: Stored) -> pl.DataFrame:
    """user_id and the JSON text of that user's trace document."""
    users = stored.consented.select("user_id")
    personas = (
        stored.assignments.join(users, on="user_id", how="semi")
        .sort("user_id", "window_days")
        .select("user_id", _with_raw(PERSONA_FIELDS, "assignment_trace", "assignment_trace").alias("doc"))
        .group_by("user_id", maintain_order=True)
        .agg(pl.col("doc"))
        .select("user_id", _json_array("doc").alias("personas"))
    )  # fmt: skip
    recs = (
        stored.recommendations.join(users, on="user_id", how="semi")
        .join(stored.traces.select("trace_id", "trace"), on="trace_id", how="left")
        .sort("user_id", "window_days", "kind", "rank")
        .select("user_id", _with_raw(REC_FIELDS, "decision_trace", "trace").alias("doc"))
        .group_by("user_id", maintain_order=True)
        .agg(pl.col("doc"))
        .select("user_id", _json_array("doc").alias("recommendations"))
    )  # fmt: skip
    as_of = json.dumps(stored.as_of.isoformat() if stored.as_of else None)
    return (
        users.join(personas, on="user_id", how="left")
        .join(recs, on="user_id", how="left")
        .select(
            "user_id",
            pl.concat_str(
                [
                    pl.lit('{"user_id":'),
                    pl.struct("user_id").struct.json_encode().str.extract(r":(.*)}$"),
                    pl.lit(f',"as_of_date":{as_of},"personas":'),
                    pl.col("personas").fill_null("[]"),
                    pl.lit(',"recommendations":'),
                    pl.col("recommendations").fill_null("[]"),
                    pl.lit("}"),
                ]
            ).alias("document"),
        )
        .sort("user_id")
    )


def write_traces(stored: Stored, out_dir: Path) -> int:
    """Replace ``out_dir`` with one ``<user_id>.json`` per consented user; return the count."""
    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    docs = user_documents(stored)
    safe = docs["user_id"].str.replace_all(r"[^A-Za-z0-9_.-]", "_")
    # Writing files is I/O: one write per user is the output format, not per-user computation.
    for name, text in zip(safe.to_list(), docs["document"].to_list(), strict=True):
        (out_dir / f"{name}.json").write_text(text + "\n")
    return docs.height
