"""Mapping files: every mistake is one error naming the place and the closest valid name."""

from __future__ import annotations

from pathlib import Path

import pytest

from spendsense.errors import ConfigError
from spendsense.ingest.mapping import load_mapping

BASE = "lists: {accounts: accounts, transactions: transactions}\n"


def mapping(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "m.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (BASE + "sigm: inflow_positive\n", "unknown key 'sigm'; did you mean 'sign'?"),
        (
            BASE + "sign: inflow_positiv\n",
            "sign: unknown convention 'inflow_positiv'; did you mean 'inflow_positive'?",
        ),
        (
            BASE + "sign: {credt: inflow_positive}\n",
            "sign: unknown account type 'credt'; did you mean 'credit'?",
        ),
        (BASE + "unit: cent\n", "unit: unknown unit 'cent'; did you mean 'cents'?"),
        (
            "lists: {transacions: transactions}\n",
            "lists: unknown table 'transacions'; did you mean 'transactions'?",
        ),
        (
            "lists: {transactions: {pth: 'accounts[].transactions'}}\n",
            "lists: transactions: unknown key 'pth'; did you mean 'path'?",
        ),
        (
            BASE + "rename: {acounts: {id: account_id}}\n",
            "rename: unknown table 'acounts'; did you mean 'accounts'?",
        ),
        (
            BASE + "account_types: {credit_card: credit/credit_card}\n",
            "account_types: credit_card: unknown subtype of credit 'credit_card'; "
            "did you mean 'credit card'?",
        ),
        (
            BASE + "account_types: {cc: crdit/credit card}\n",
            "account_types: cc: unknown type 'crdit'; did you mean 'credit'?",
        ),
        (
            BASE + "fill: {accounts: {balances_limit: {from: user.limit}}}\n",
            "fill: accounts.balances_limit: from: unknown table 'user'; did you mean 'users'?",
        ),
        (
            BASE + "fill: {accounts: {balances_limit: {from: users.limit, on: user_id}}}\n",
            "fill: accounts.balances_limit: unknown key 'True'; allowed: from, by, when "
            "(YAML reads a bare on, off, yes, no as true/false: quote it)",
        ),
        (
            BASE + "fill: {accounts: {balances_limit: {from: limit}}}\n",
            "fill: accounts.balances_limit: 'from' must be table.column (e.g. users.credit_limit)",
        ),
        (
            "files: {transaction: '*.csv'}\n",
            "files: unknown table 'transaction'; did you mean 'transactions'?",
        ),
        ("user: {id: customer}\n", "user: unknown key 'id'; allowed: key"),
    ],
)
def test_mapping_mistakes_name_the_fix(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_mapping(mapping(tmp_path, text))
    assert str(err.value) == f"mapping m.yaml: {message}"


def test_every_shipped_mapping_loads() -> None:
    root = Path(__file__).resolve().parents[2]
    paths = [
        *sorted((root / "mappings").glob("*.yaml")),
        *sorted((root / "tests" / "data" / "shapes").glob("*/mapping.yaml")),
    ]
    assert len(paths) >= 10
    for path in paths:
        load_mapping(path)
