"""Plaid vocabularies: account types and subtypes, payment channels, PFC v1/v2."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

APR_TYPES: tuple[str, ...] = ("purchase_apr", "cash_apr", "balance_transfer_apr", "special")
"""Plaid's credit-card APR types (``aprs[].apr_type``); flattened exports name columns after them."""

ACCOUNT_TYPES: frozenset[str] = frozenset({"depository", "credit", "loan", "investment", "other"})

# Plaid's account subtypes (OpenAPI 2020-09-14), grouped by type.
ACCOUNT_SUBTYPES: dict[str, frozenset[str]] = {
    "depository": frozenset(
        {
            "checking",
            "savings",
            "hsa",
            "cd",
            "money market",
            "paypal",
            "prepaid",
            "cash management",
            "ebt",
            "other",
        }
    ),
    "credit": frozenset({"credit card", "paypal", "other"}),
    "loan": frozenset(
        {
            "auto",
            "business",
            "commercial",
            "construction",
            "consumer",
            "home equity",
            "loan",
            "mortgage",
            "line of credit",
            "overdraft",
            "student",
            "other",
        }
    ),
    "investment": frozenset(
        {
            "529",
            "401a",
            "401k",
            "403b",
            "457b",
            "brokerage",
            "cash isa",
            "crypto exchange",
            "education savings account",
            "fixed annuity",
            "gic",
            "health reimbursement arrangement",
            "hsa",
            "ira",
            "isa",
            "keogh",
            "lif",
            "life insurance",
            "lira",
            "lrif",
            "lrsp",
            "mutual fund",
            "non-custodial wallet",
            "non-taxable brokerage account",
            "other",
            "other annuity",
            "other insurance",
            "pension",
            "prif",
            "profit sharing plan",
            "qshr",
            "rdsp",
            "resp",
            "retirement",
            "rlif",
            "roth",
            "roth 401k",
            "rrif",
            "rrsp",
            "sarsep",
            "sep ira",
            "simple ira",
            "sipp",
            "stock plan",
            "tfsa",
            "trust",
            "ugma",
            "utma",
            "variable annuity",
        }
    ),
    "other": frozenset({"other"}),
}

SAVINGS_SUBTYPES: frozenset[str] = frozenset(
    {"savings", "money market", "cash management", "hsa", "cd"}
)
HOLDER_CATEGORIES: frozenset[str] = frozenset({"personal", "business", "unrecognized"})
PAYMENT_CHANNELS: frozenset[str] = frozenset({"online", "in store", "other"})
CONFIDENCE_LEVELS: frozenset[str] = frozenset({"VERY_HIGH", "HIGH", "MEDIUM", "LOW", "UNKNOWN"})
CONSENT_STATES: frozenset[str] = frozenset({"granted", "revoked", "none"})
# Demographic bands of a user (the generator draws from them; the API accepts only these).
AGE_BANDS: tuple[str, ...] = ("18-24", "25-34", "35-44", "45-54", "55-64", "65+")
GENDERS: tuple[str, ...] = ("female", "male", "nonbinary")
INCOME_TIERS: tuple[str, ...] = ("low", "lower_middle", "middle", "upper_middle", "high")
REGIONS: tuple[str, ...] = ("northeast", "midwest", "south", "west")


NEAR_SUFFIX = 3  # characters a category code may differ by at its end (see Taxonomy.near)


def code(value: str) -> str:
    """A category string as a code: upper case, runs of other characters as one ``_``."""
    return re.sub(r"[^A-Z0-9]+", "_", value.strip().upper()).strip("_")


@dataclass(frozen=True)
class Taxonomy:
    """Plaid personal finance categories: v2 primaries/detailed and the v1 -> v2 map."""

    v2_detailed_to_primary: dict[str, str]
    v1_detailed_to_v2: dict[str, str]
    v1_primary_to_v2: dict[str, str]

    @property
    def v2_primaries(self) -> frozenset[str]:
        return frozenset(self.v2_detailed_to_primary.values())

    def to_v2(self, primary: str | None, detailed: str | None) -> tuple[str, str] | None:
        """Map a (primary, detailed) pair in v1 or v2 to v2; None if unknown.

        A detailed string is read as a code (upper case, other characters as ``_``:
        "Food and Drink - Restaurants" is FOOD_AND_DRINK_RESTAURANTS), then matched exactly
        (v2, then v1), then as a code with a suffix difference (``near``), then as a
        primary alone or a code starting with a primary (that primary's OTHER detail).
        """
        if detailed:
            d = code(detailed)
            if d in self.v2_detailed_to_primary:
                return self.v2_detailed_to_primary[d], d
            if d in self.v1_detailed_to_v2:
                v2 = self.v1_detailed_to_v2[d]
                return self.v2_detailed_to_primary[v2], v2
            close = self.near(d)
            if close is not None:
                return self.v2_detailed_to_primary[close], close
        if primary:
            found = self._other(code(primary))
            if found is not None:
                return found
        if detailed:
            d = code(detailed)
            for p in sorted(self.v2_primaries | set(self.v1_primary_to_v2), key=len, reverse=True):
                if d == p or d.startswith(p + "_"):
                    return self._other(p)
        return None

    def _other(self, primary: str) -> tuple[str, str] | None:
        """A primary (v1 or v2) with its OTHER detailed code (else its last one)."""
        p = self.v1_primary_to_v2.get(primary, primary)
        if p not in self.v2_primaries:
            return None
        other = f"{p}_OTHER_{p}"
        if other in self.v2_detailed_to_primary:
            return p, other
        fallback = sorted(k for k, v in self.v2_detailed_to_primary.items() if v == p)
        return p, fallback[-1]

    def near(self, detailed: str) -> str | None:
        """The one v2 detailed code that differs from ``detailed`` only by a short suffix.

        One must be a prefix of the other with at most ``NEAR_SUFFIX`` characters more
        (RESTAURANTS / RESTAURANT, RIDE_SHARE / RIDE_SHARES, GAS_AND_ELECTRIC /
        GAS_AND_ELECTRICITY); None when no code or several codes are that close.
        """
        hits = [
            k
            for k in self.v2_detailed_to_primary
            if (k.startswith(detailed) or detailed.startswith(k))
            and abs(len(k) - len(detailed)) <= NEAR_SUFFIX
        ]
        return hits[0] if len(hits) == 1 else None


@cache
def taxonomy() -> Taxonomy:
    """Load the packaged copy of Plaid's PFC taxonomy (v2 columns 0-1, v1 columns 3-4)."""
    text = resources.files("spendsense.ledger").joinpath("data/plaid-pfc-taxonomy.csv").read_text()
    v2: dict[str, str] = {}
    v1_to_v2: dict[str, str] = {}
    v1_primary: dict[str, str] = {}
    for row in csv.reader(text.splitlines()[2:]):
        if len(row) < 2 or not row[0] or not row[1]:
            continue
        primary, detailed = row[0].strip(), row[1].strip()
        v2[detailed] = primary
        if len(row) >= 5 and row[4] and "/" not in row[4]:
            v1_to_v2[row[4].strip()] = detailed
            v1_primary.setdefault(row[3].strip(), primary)
    # v1 OTHER transfers map to the v2 OTHER_OTHER bucket only by primary
    v1_primary.setdefault("TRANSFER_IN", "TRANSFER_IN")
    v1_primary.setdefault("TRANSFER_OUT", "TRANSFER_OUT")
    return Taxonomy(v2, v1_to_v2, v1_primary)
