"""Keyword rules that give sandbox descriptions a merchant, a PFC v2 category and a channel.

Plaid sandbox configs carry only a free-text ``description``. The rules below
(documented in docs/ingest.md) are applied in order to the whole column; the
first match wins. A rule may apply only to money in (``"in"``) or out (``"out"``).
Unmatched descriptions get OTHER / OTHER_OTHER with confidence UNKNOWN.
"""

from __future__ import annotations

import polars as pl

# (regex, PFC v2 detailed, merchant or None, direction or None)
RULES: list[tuple[str, str, str | None, str | None]] = [
    (r"overdraft", "BANK_FEES_OVERDRAFT_FEES", None, None),
    (r"\bnsf\b|insufficient fund", "BANK_FEES_INSUFFICIENT_FUNDS", None, None),
    (r"payroll|direct dep|paycheck", "INCOME_SALARY", None, "in"),
    (r"(uber|lyft|doordash|instacart) payout", "INCOME_GIG_ECONOMY", None, "in"),
    (r"child support", "INCOME_CHILD_SUPPORT", None, "in"),
    (r"social security", "INCOME_OTHER", "Social Security Administration", "in"),
    (r"intrst pymnt|interest (payment|earned)", "INCOME_INTEREST_EARNED", None, "in"),
    (r"self payout|transfer into", "TRANSFER_IN_ACCOUNT_TRANSFER", None, "in"),
    (r"student loan", "LOAN_PAYMENTS_STUDENT_LOAN_PAYMENT", None, None),
    (r"mortgage", "LOAN_PAYMENTS_MORTGAGE_PAYMENT", None, None),
    (r"auto loan|car payment", "LOAN_PAYMENTS_CAR_PAYMENT", None, None),
    (r"sba loan", "LOAN_PAYMENTS_OTHER_PAYMENT", "Small Business Administration", None),
    (
        r"credit card( \d+)? payment|crd autopay|autopay|automatic payment|epayment|brex",
        "LOAN_PAYMENTS_CREDIT_CARD_PAYMENT",
        None,
        None,
    ),
    (r"\brent\b", "RENT_AND_UTILITIES_RENT", None, "out"),
    (r"uber\s+eats|doordash|postmates|grubhub", "FOOD_AND_DRINK_FAST_FOOD", None, None),
    (r"\buber\b", "TRANSPORTATION_TAXIS_AND_RIDE_SHARES", "Uber", None),
    (r"\blyft\b", "TRANSPORTATION_TAXIS_AND_RIDE_SHARES", "Lyft", None),
    (r"starbucks", "FOOD_AND_DRINK_COFFEE", "Starbucks", None),
    (r"dunkin|coffee", "FOOD_AND_DRINK_COFFEE", None, None),
    (r"mcdonald", "FOOD_AND_DRINK_FAST_FOOD", "McDonald's", None),
    (
        r"burger king|kfc|wendy|domino|papa john|jimmy john|taco bell",
        "FOOD_AND_DRINK_FAST_FOOD",
        None,
        None,
    ),
    (r"7-eleven|convenience", "GENERAL_MERCHANDISE_CONVENIENCE_STORES", None, None),
    (r"roadhouse|restaurant|grill|denny", "FOOD_AND_DRINK_RESTAURANT", None, None),
    (
        r"whole foods|frys food|safeway|kroger|grocer|food lion",
        "FOOD_AND_DRINK_GROCERIES",
        None,
        None,
    ),
    (
        r"\bshell\b|sunoco|\barco\b|chevron|exxon|wawa|gas station|^qt$",
        "TRANSPORTATION_GAS",
        None,
        None,
    ),
    (
        r"amazon web services|\baws\b|twilio|hubspot|typeform|calendly|linkedin|intuit|gusto",
        "GENERAL_SERVICES_OTHER_GENERAL_SERVICES",
        None,
        None,
    ),
    (r"amazon|amzn", "GENERAL_MERCHANDISE_ONLINE_MARKETPLACES", "Amazon", None),
    (r"wal-mart|walmart|sams club|sam's club", "GENERAL_MERCHANDISE_SUPERSTORES", None, None),
    (r"hulu|netflix|fandango|cinemark", "ENTERTAINMENT_TV_AND_MOVIES", None, None),
    (r"itunes|spotify", "ENTERTAINMENT_MUSIC_AND_AUDIO", None, None),
    (r"playstation|xbox|blizzard|nintendo|esports", "ENTERTAINMENT_VIDEO_GAMES", None, None),
    (r"airlines|american air|delta air", "TRAVEL_FLIGHTS", None, None),
    (r"\batt\b|at&t|verizon|t-mobile", "RENT_AND_UTILITIES_TELEPHONE", None, None),
    (r"health|hiscox|insurance", "GENERAL_SERVICES_INSURANCE", None, None),
    (
        r"labor&industries|\birs\b",
        "GOVERNMENT_AND_NON_PROFIT_GOVERNMENT_DEPARTMENTS_AND_AGENCIES",
        None,
        None,
    ),
    (r"home depot", "HOME_IMPROVEMENT_HARDWARE", "The Home Depot", None),
    (r"lowes", "HOME_IMPROVEMENT_HARDWARE", "Lowe's", None),
    (r"sally beauty|ulta", "PERSONAL_CARE_HAIR_AND_BEAUTY", None, None),
    (r"climbing|\bgym\b|fitness", "PERSONAL_CARE_GYMS_AND_FITNESS_CENTERS", None, None),
    (r"sparkfun|electronics", "GENERAL_MERCHANDISE_ELECTRONICS", None, None),
    (r"bicycle|sporting", "GENERAL_MERCHANDISE_SPORTING_GOODS", None, None),
    (r"usps|fedex|\bups\b", "GENERAL_SERVICES_POSTAGE_AND_SHIPPING", None, None),
    (r"send money|transfer|xfer|dave\.com", "TRANSFER_OUT_ACCOUNT_TRANSFER", None, "out"),
    (r"send money|transfer|xfer|dave\.com", "TRANSFER_IN_ACCOUNT_TRANSFER", None, "in"),
]

# Vendors that mark an account as a business account (see ``business_accounts``).
BUSINESS_VENDORS: list[str] = [
    r"gusto",
    r"amazon web services|\baws\b",
    r"twilio",
    r"hubspot",
    r"typeform",
    r"calendly",
    r"brex",
    r"sba loan",
    r"intuit|quickbooks",
    r"hiscox",
    r"stripe",
]
BUSINESS_MIN_VENDORS = 2

_ONLINE = r"\.com|web id|online|paypal|epayment|\bach\b|autopay|hulu|itunes|netflix"
_IN_STORE = r"\bpos\b|card purchase|debit card|check card|card#|pin pos|purchase authorized"
_MERCHANT = r"(?i)merchant name:\s*(.+?)\s*$"


def _direction_ok(direction: str | None, amount: pl.Expr) -> pl.Expr:
    if direction == "in":
        return amount < 0
    if direction == "out":
        return amount > 0
    return pl.lit(True)


def categorize(name: pl.Expr, amount: pl.Expr) -> list[pl.Expr]:
    """merchant_name, pfc_detailed, pfc_confidence and payment_channel from description text."""
    low = name.str.to_lowercase()
    detailed: pl.Expr = pl.lit("OTHER_OTHER")
    merchant: pl.Expr = pl.lit(None, pl.String)
    matched: pl.Expr = pl.lit(False)
    for pattern, code, shop, direction in reversed(RULES):
        hit = low.str.contains(pattern) & _direction_ok(direction, amount)
        detailed = pl.when(hit).then(pl.lit(code)).otherwise(detailed)
        if shop:
            merchant = pl.when(hit).then(pl.lit(shop)).otherwise(merchant)
        matched = matched | hit
    explicit = name.str.extract(_MERCHANT, 1)
    channel = (
        pl.when(low.str.contains(_ONLINE))
        .then(pl.lit("online"))
        .when(low.str.contains(_IN_STORE))
        .then(pl.lit("in store"))
        .otherwise(pl.lit("other"))
    )
    return [
        pl.coalesce(explicit, merchant).alias("merchant_name"),
        detailed.alias("pfc_detailed"),
        pl.when(matched).then(pl.lit("LOW")).otherwise(pl.lit("UNKNOWN")).alias("pfc_confidence"),
        channel.alias("payment_channel"),
    ]


def business_accounts(txns: pl.DataFrame) -> pl.DataFrame:
    """Accounts (``_acct``) whose descriptions name at least two distinct business vendors."""
    low = pl.col("name").fill_null("").str.to_lowercase()
    flags = [
        low.str.contains(p).any().cast(pl.Int32).alias(f"v{i}")
        for i, p in enumerate(BUSINESS_VENDORS)
    ]
    if txns.height == 0:
        return pl.DataFrame(schema={"_acct": pl.String, "_business": pl.Boolean})
    per = txns.group_by("_acct").agg(flags)
    return per.select(
        "_acct",
        (pl.sum_horizontal(pl.exclude("_acct")) >= BUSINESS_MIN_VENDORS).alias("_business"),
    )
