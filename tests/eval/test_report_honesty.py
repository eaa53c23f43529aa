"""The report tells the truth about what it could test: exit status, "not tested", power, names."""

from __future__ import annotations

import warnings
from pathlib import Path

import polars as pl
import pytest

from spendsense import cli
from spendsense.config import Settings
from spendsense.eval import fairness
from spendsense.eval.report import build_report
from spendsense.eval.result import EvalResult, metric

GUARDRAILS = ("consent", "ineligible_offers", "tone", "disclosure")


def test_no_data_means_not_tested_never_pass(tmp_path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # matplotlib's empty-legend warning included
        result = build_report(Settings(data_dir=tmp_path / "data"), latency_sample=0, pdf=False)
    for name in GUARDRAILS:
        m = result.get("guardrails", f"{name}_violations")
        assert m.value is None and m.verdict == "not tested" and m.passed is False, m
    assert all(m.verdict == "not tested" for m in result.targets)
    table = result.summary_table()
    assert "PASS" not in table
    line = next(x for x in table.splitlines() if x.startswith("guardrails.consent_violations"))
    assert line.endswith("not tested")


def test_populated_guardrails_are_tested(populated: tuple[Settings, Path]) -> None:
    settings, content = populated
    result = build_report(settings, latency_sample=0, catalog_root=content, pdf=False)
    for name in GUARDRAILS:
        assert result.get("guardrails", f"{name}_violations").verdict in ("PASS", "FAIL")


def _fake(metrics: list[object]) -> EvalResult:
    return EvalResult("2026-10-31", metrics)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("values", "code", "message"),
    [
        ((1.0, 0.0), 0, None),
        ((0.5, 0.0), 1, "error: 1 of 2 targets failed: a.share"),
        ((1.0, None), 0, "warning: 1 targets not tested (too little data): b.violations"),
        ((None, None), 1, "error: no target could be tested"),
    ],
)
def test_report_exit_status_gates_ci(
    values: tuple[float | None, float | None],
    code: int,
    message: str | None,
    data_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    share, violations = values
    result = _fake([
        metric("a", "share", share, target=1.0, op=">=", unit="%", n=3),
        metric("b", "violations", violations, target=0, op="==", n=3),
    ])  # fmt: skip
    monkeypatch.setattr("spendsense.eval.build_report", lambda *a, **k: result)
    if code:
        with pytest.raises(SystemExit) as exc:
            cli.main(["report", "--no-pdf"])
        assert exc.value.code == code
    else:
        cli.main(["report", "--no-pdf"])
    err = capsys.readouterr().err
    if message:
        assert message in err
    else:
        assert "error:" not in err and "warning:" not in err


def _rates(sizes: dict[str, int]) -> pl.DataFrame:
    rows = []
    for group, n in sizes.items():
        rows += [{"user_id": f"{group}{i}", "age_band": group, "gender": "x", "income_tier": "x",
                  "region": "x", "offer": i % 2, "assigned": 1, "persona_3": 1} for i in range(n)]  # fmt: skip
    return fairness.group_rates(pl.DataFrame(rows))


def test_fairness_reports_detectable_gap_and_untested_groups() -> None:
    rates = _rates({"18-24": 70, "65+": 30, "25-34": 10})
    offer = rates.filter((pl.col("attribute") == "age_band") & (pl.col("outcome") == "offer"))
    by_group = {r["group"]: r for r in offer.iter_rows(named=True)}
    assert [g for g, r in by_group.items() if not r["tested"]] == ["25-34"]
    # 80% power at alpha 0.05, worst-case variance: 2.8016 * 0.5 * sqrt(1/30 + 1/80)
    assert by_group["65+"]["detectable_gap"] == pytest.approx(0.30, abs=0.005)
    untested = fairness.untested_groups(rates)
    assert "age_band=25-34 (n=10)" in untested and "age_band=65+ (n=30)" not in untested
    assert "gender=x (n=110)" in untested  # one group only: nobody to compare it with
    metrics = {m.name: m for m in fairness.fairness_metrics(rates, 180)}
    note = metrics["offer_significant_violations_age_band"].note
    assert "2 of 3 groups tested" in note and "not tested: age_band=25-34 (n=10)" in note
    assert "smallest detectable gap 28 points" in note  # the 70-user group vs the other 40


def test_no_group_big_enough_is_not_tested() -> None:
    rates = _rates({"18-24": 20, "65+": 20})
    m = {m.name: m for m in fairness.fairness_metrics(rates, 180)}
    assert m["offer_significant_violations_age_band"].verdict == "not tested"


def test_outcomes_have_plain_names() -> None:
    rates = _rates({"18-24": 40, "65+": 40})
    names = dict(rates.select("outcome", "outcome_name").unique().iter_rows())
    assert names["persona_3"] == "Subscription-Heavy"
    assert names["offer"] == "offered a partner offer"


def test_no_pdf_removes_an_older_pdf(populated: tuple[Settings, Path]) -> None:
    settings, content = populated
    old = settings.data_dir / "report" / "report.pdf"
    old.parent.mkdir(parents=True, exist_ok=True)
    old.write_bytes(b"%PDF-1.4 stale")
    result = build_report(settings, latency_sample=0, catalog_root=content, pdf=False)
    assert not old.exists() and "report.pdf" not in result.files
    assert (settings.data_dir / "report" / "report.html").exists()
