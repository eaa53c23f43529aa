from __future__ import annotations

from pathlib import Path

from spendsense.ledger.vocab import ACCOUNT_SUBTYPES, taxonomy


def test_taxonomy_sizes_match_plaid() -> None:
    t = taxonomy()
    assert len(t.v2_detailed_to_primary) == 123
    assert len(t.v2_primaries) == 18
    assert len(t.v1_detailed_to_v2) == 104


def test_v1_maps_to_v2() -> None:
    t = taxonomy()
    assert t.to_v2("INCOME", "INCOME_WAGES") == ("INCOME", "INCOME_SALARY")
    assert t.to_v2("INCOME", "INCOME_OTHER_INCOME") == ("INCOME", "INCOME_OTHER")
    assert t.to_v2("TRANSFER_IN", "TRANSFER_IN_CASH_ADVANCES_AND_LOANS") == (
        "LOAN_DISBURSEMENTS",
        "LOAN_DISBURSEMENTS_OTHER_DISBURSEMENT",
    )
    assert t.to_v2("food_and_drink", "food_and_drink_coffee") == (
        "FOOD_AND_DRINK",
        "FOOD_AND_DRINK_COFFEE",
    )


def test_unknown_category_is_none_and_primary_only_falls_back() -> None:
    t = taxonomy()
    assert t.to_v2("NOT_A_THING", "NOPE") is None
    assert t.to_v2("ENTERTAINMENT", None) == ("ENTERTAINMENT", "ENTERTAINMENT_OTHER_ENTERTAINMENT")


def test_packaged_taxonomy_is_the_shared_copy(shared_data: Path) -> None:
    packaged = (
        Path(__file__).resolve().parents[2] / "src/spendsense/ledger/data/plaid-pfc-taxonomy.csv"
    )
    assert packaged.read_bytes() == (shared_data / "plaid-pfc-taxonomy.csv").read_bytes()


def test_subtypes_cover_savings_family() -> None:
    assert {"savings", "money market", "cd", "hsa", "cash management"} <= ACCOUNT_SUBTYPES[
        "depository"
    ]
