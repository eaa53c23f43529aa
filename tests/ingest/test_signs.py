"""Sign conventions: reverse-signed and unsigned accounts are refused with the fix, or converted."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
from ingest_helpers import account, bundle, ingest_paths, txn, write

PAY = {"primary": "INCOME", "detailed": "INCOME_SALARY"}
GROCERY = {"primary": "FOOD_AND_DRINK", "detailed": "FOOD_AND_DRINK_GROCERIES"}


def ledger_txns(account_id: str, sign: int, unsigned: bool = False) -> list[dict[str, Any]]:
    """Two paychecks and four purchases; ``sign`` -1 writes them reversed, ``unsigned`` all positive."""
    rows = [(f"{account_id}-p{i}", -2500.0, PAY) for i in range(2)]
    rows += [(f"{account_id}-g{i}", 40.0 + i, GROCERY) for i in range(4)]
    return [
        txn(
            tid,
            account_id,
            amount=abs(amount) if unsigned else sign * amount,
            date=f"2024-03-{i + 1:02d}",
            personal_finance_category=pfc,
        )
        for i, (tid, amount, pfc) in enumerate(rows)
    ]


def doc(accounts: list[dict[str, Any]], txns: list[dict[str, Any]]) -> dict[str, Any]:
    return {"user_id": "u1", "accounts": accounts, "transactions": txns}


def mapping(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "m.yaml"
    path.write_text(
        "name: t\nuser: {key: user_id}\nlists: {accounts: accounts, transactions: transactions}\n"
        + extra
    )
    return path


def amounts(batch: Any) -> dict[str, int]:
    t = batch.frames["transactions"]
    return dict(zip(t["transaction_id"], t["amount_cents"], strict=True))


PLAID = {f"a1-p{i}": -250000 for i in range(2)} | {f"a1-g{i}": 4000 + 100 * i for i in range(4)}


def test_plaid_sign_loads_unchanged(tmp_path: Path) -> None:
    b = ingest_paths([write(tmp_path / "u1.json", bundle(transactions=ledger_txns("a1", 1)))])
    assert b.rejects == []
    assert amounts(b) == PLAID


def test_reverse_sign_is_refused_with_the_fix(tmp_path: Path) -> None:
    b = ingest_paths([write(tmp_path / "u1.json", bundle(transactions=ledger_txns("a1", -1)))])
    assert b.frames["transactions"].height == 0
    assert len(b.rejects) == 6
    reason = b.rejects[0].reason
    assert "\n" not in reason
    assert reason == (
        "sign: account 'a1' writes income positive and spending negative (inflow_positive), "
        "not Plaid's outflow_positive; load it with a mapping (--mapping FILE) that sets "
        "`sign: inflow_positive`"
    )


def test_reverse_sign_with_mapping_converts(tmp_path: Path) -> None:
    path = write(tmp_path / "x.json", doc([account()], ledger_txns("a1", -1)))
    b = ingest_paths([path], mapping=mapping(tmp_path, "sign: inflow_positive\n"))
    assert b.rejects == []
    assert amounts(b) == PLAID


def test_reverse_sign_refused_when_mapping_omits_sign(tmp_path: Path) -> None:
    path = write(tmp_path / "x.json", doc([account()], ledger_txns("a1", -1)))
    b = ingest_paths([path], mapping=mapping(tmp_path))
    assert {r.reason for r in b.rejects} == {
        "sign: account 'a1' writes income positive and spending negative (inflow_positive), "
        "not Plaid's outflow_positive; set `sign: inflow_positive` in the mapping"
    }


def test_unsigned_export_is_refused_then_converted_by_category(tmp_path: Path) -> None:
    path = write(tmp_path / "x.json", doc([account()], ledger_txns("a1", 1, unsigned=True)))
    refused = ingest_paths([path], mapping=mapping(tmp_path))
    assert len(refused.rejects) == 6
    assert "every amount positive, income included (by_category)" in refused.rejects[0].reason
    assert "`sign: by_category`" in refused.rejects[0].reason
    b = ingest_paths([path], mapping=mapping(tmp_path, "sign: by_category\n"))
    assert b.rejects == []
    assert amounts(b) == PLAID


def test_declared_reverse_on_plaid_data_is_refused(tmp_path: Path) -> None:
    """A mapping that would invert correctly signed money is refused, not obeyed."""
    path = write(tmp_path / "x.json", doc([account()], ledger_txns("a1", 1)))
    b = ingest_paths([path], mapping=mapping(tmp_path, "sign: inflow_positive\n"))
    assert b.frames["transactions"].height == 0
    assert b.rejects[0].reason == (
        "sign: account 'a1' writes money out positive and money in negative (outflow_positive), "
        "not inflow_positive as the mapping declares; set `sign: outflow_positive` in the mapping"
    )


def test_mixed_file_refuses_only_the_reversed_account(tmp_path: Path) -> None:
    card = account("c1", type="credit", subtype="credit card")
    card_txns = [
        txn(f"c1-{i}", "c1", amount=-(20.0 + i), personal_finance_category=GROCERY)
        for i in range(4)
    ]
    path = write(tmp_path / "x.json", doc([account(), card], ledger_txns("a1", 1) + card_txns))
    b = ingest_paths([path], mapping=mapping(tmp_path))
    assert amounts(b) == PLAID
    assert {r.position for r in b.rejects} == {f"transactions[{i}]" for i in range(6, 10)}
    assert {r.reason.split(";")[0] for r in b.rejects} == {
        "sign: account 'c1' writes income positive and spending negative (inflow_positive), "
        "not Plaid's outflow_positive"
    }
    by_type = ingest_paths([path], mapping=mapping(tmp_path, "sign: {credit: inflow_positive}\n"))
    assert by_type.rejects == []
    assert {k: v for k, v in amounts(by_type).items() if k.startswith("c1")} == {
        f"c1-{i}": 2000 + 100 * i for i in range(4)
    }


def test_account_with_little_evidence_is_judged_with_its_file(tmp_path: Path) -> None:
    """Two reversed purchases on a second account: too few alone, the file's reversal decides."""
    extra = [txn(f"b1-{i}", "b1", amount=-9.0, personal_finance_category=GROCERY) for i in range(2)]
    accounts = [account(), account("b1")]
    path = write(tmp_path / "x.json", doc(accounts, ledger_txns("a1", -1) + extra))
    b = ingest_paths([path], mapping=mapping(tmp_path))
    assert b.frames["transactions"].height == 0
    assert any("account 'b1' writes income positive" in r.reason for r in b.rejects)


def test_card_payment_is_money_in_on_the_card_by_category(tmp_path: Path) -> None:
    card = account("c1", type="credit", subtype="credit card")
    pay = {"primary": "LOAN_PAYMENTS", "detailed": "LOAN_PAYMENTS_CREDIT_CARD_PAYMENT"}
    txns = [
        *ledger_txns("a1", 1, unsigned=True),
        txn("a1-cc", "a1", amount=300.0, personal_finance_category=pay),
        txn("c1-cc", "c1", amount=300.0, personal_finance_category=pay),
        *[txn(f"c1-{i}", "c1", amount=15.0, personal_finance_category=GROCERY) for i in range(3)],
    ]
    path = write(tmp_path / "x.json", doc([account(), card], txns))
    got = amounts(ingest_paths([path], mapping=mapping(tmp_path, "sign: by_category\n")))
    assert (got["a1-cc"], got["c1-cc"], got["c1-0"], got["a1-p0"]) == (30000, -30000, 1500, -250000)


def test_cents_unit(tmp_path: Path) -> None:
    rows = [dict(t, amount=int(t["amount"] * 100)) for t in ledger_txns("a1", 1)]
    rows[3]["amount"] = 4150.5  # half a cent
    acct = account(balances={"current": 12345, "available": None, "iso_currency_code": "USD"})
    path = write(tmp_path / "x.json", doc([acct], rows))
    b = ingest_paths([path], mapping=mapping(tmp_path, "unit: cents\n"))
    assert b.frames["accounts"]["current_cents"].to_list() == [12345]
    assert {k: v for k, v in amounts(b).items()} == {k: v for k, v in PLAID.items() if k != "a1-g1"}
    assert [r.reason for r in b.rejects] == [
        "amount: 4150.5 is not a whole number of cents (the mapping says unit: cents)"
    ]


def test_mapping_without_lists_reads_plaid_shapes_with_its_sign(tmp_path: Path) -> None:
    path = write(tmp_path / "u1.json", bundle(transactions=ledger_txns("a1", -1)))
    m = tmp_path / "sign.yaml"
    m.write_text("sign: inflow_positive\n")
    b = ingest_paths([path], mapping=m)
    assert b.rejects == []
    assert amounts(b) == PLAID
    assert b.frames["users"]["user_id"].to_list() == ["u1"]


def test_sign_evidence_ignores_rejected_rows(tmp_path: Path) -> None:
    """Rows already rejected (bad dates) do not count as evidence either way."""
    rows = ledger_txns("a1", 1)
    bad = [
        txn(f"x{i}", "a1", amount=-5.0, date="never", personal_finance_category=GROCERY)
        for i in range(9)
    ]
    b = ingest_paths([write(tmp_path / "u1.json", bundle(transactions=rows + bad))])
    assert amounts(b) == PLAID
    assert {r.reason.split(":")[0] for r in b.rejects} == {"date"}
    assert pl.Series([r.table for r in b.rejects]).unique().to_list() == ["transactions"]
