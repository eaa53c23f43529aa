"""``spendsense run --ledger PATH``: a canonical Parquet ledger in, Parquet outputs out, no SQLite."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from spendsense.cli import main
from spendsense.spark.convert import convert_synth
from spendsense.synth import generate_population


def test_run_ledger_writes_parquet_only(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    generate_population(40, 9, tmp_path / "raw", fmt="parquet")
    convert_synth(tmp_path / "raw", tmp_path / "ledger")
    main(["--data-dir", str(data_dir), "run", "--ledger", str(tmp_path / "ledger")])
    out = capsys.readouterr().out
    assert "consented users processed" in out
    assert not (data_dir / "spendsense.db").exists()
    recs = pl.read_parquet(data_dir / "features" / "recommendations.parquet")
    assignments = pl.read_parquet(data_dir / "features" / "persona_assignments.parquet")
    assert recs.height > 0 and assignments["user_id"].n_unique() > 30
    assert assignments.sort("as_of_date", "user_id", "window_days").equals(assignments)


def test_unknown_engine_and_missing_ledger_are_user_errors(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for args in (["run", "--engine", "dask"], ["run", "--ledger", str(data_dir / "nope")]):
        with pytest.raises(SystemExit) as exc:
            main(["--data-dir", str(data_dir), *args])
        assert exc.value.code == 1
        assert capsys.readouterr().err.startswith("error:")
