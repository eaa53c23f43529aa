"""Embedded vocabularies for the generator: fake names, employers, merchants and their PFC v2 codes."""

from __future__ import annotations

# the demographic bands live with the ledger's vocabularies (the API validates against them)
from spendsense.ledger.vocab import AGE_BANDS as AGE_BANDS
from spendsense.ledger.vocab import GENDERS as GENDERS
from spendsense.ledger.vocab import INCOME_TIERS as INCOME_TIERS
from spendsense.ledger.vocab import REGIONS as REGIONS

# Fake people: common given names and surnames combined at random; no real person is described.
FIRST_NAMES: tuple[str, ...] = (
    "Avery", "Jordan", "Morgan", "Riley", "Casey", "Quinn", "Harper", "Rowan", "Emery", "Skyler",
    "Maya", "Liam", "Noah", "Emma", "Olivia", "Ava", "Sofia", "Mateo", "Lucas", "Amara",
    "Priya", "Wei", "Hiro", "Fatima", "Omar", "Elena", "Diego", "Nia", "Kofi", "Ingrid",
    "Tomas", "Leila", "Aarav", "Chloe", "Ethan", "Zoe", "Malik", "Grace", "Ivan", "Sana",
    "Theo", "Ruby", "Jasper", "Iris", "Felix", "Hazel", "Owen", "Nora", "Eli", "Lena",
)  # fmt: skip
LAST_NAMES: tuple[str, ...] = (
    "Alder", "Brightwater", "Castellan", "Dunmore", "Ellsworth", "Fairbanks", "Galloway",
    "Hollis", "Ingram", "Jarvis", "Kestrel", "Lindqvist", "Marlowe", "Northcott", "Okafor",
    "Pemberton", "Quill", "Ravensworth", "Sato", "Thorne", "Umber", "Vasquez", "Whitlock",
    "Xiong", "Yardley", "Zamora", "Ashgrove", "Bellamy", "Corwin", "Delacroix", "Everhart",
    "Finch", "Greer", "Hawthorne", "Iwata", "Jensen", "Kapoor", "Larkspur", "Moreau", "Nakamura",
)  # fmt: skip

EMPLOYERS: tuple[str, ...] = (
    "Acme Corp", "Globex", "Initech", "Umbrella Health", "Stark Logistics", "Wayne Foods",
    "Cyberdyne Systems", "Soylent Co", "Hooli", "Vandelay Industries", "Pied Piper",
    "Blue Sun Freight", "Tyrell Labs", "Wonka Confections", "Oceanic Air", "Dunder Paper",
    "Gringotts Credit", "Monarch Retail", "Prestige Worldwide", "Sterling Cooper",
)  # fmt: skip
GIG_PLATFORMS: tuple[str, ...] = ("Upwork", "Fiverr", "Doordash", "Uber", "Instacart", "Etsy")

BANKS: tuple[str, ...] = (
    "Harbor Bank", "Summit Credit Union", "Prairie National", "Bayview Savings", "Lakeshore Bank",
)  # fmt: skip
CARD_NAMES: tuple[str, ...] = (
    "Cash Rewards Visa",
    "Travel Mastercard",
    "Everyday Card",
    "Platinum Card",
)

# (merchant_name, transaction name, pfc_detailed, payment channel, candidate prices in cents)
Sub = tuple[str, str, str, str, tuple[int, ...]]
SUBSCRIPTIONS: tuple[Sub, ...] = (
    ("Netflix", "NETFLIX.COM", "ENTERTAINMENT_TV_AND_MOVIES", "online", (699, 1549, 2299)),
    ("Spotify", "SPOTIFY USA", "ENTERTAINMENT_MUSIC_AND_AUDIO", "online", (1099, 1699, 1999)),
    ("Hulu", "HULU 877-8244858", "ENTERTAINMENT_TV_AND_MOVIES", "online", (799, 1799)),
    ("Disney+", "DISNEY PLUS", "ENTERTAINMENT_TV_AND_MOVIES", "online", (999, 1399)),
    ("Adobe", "ADOBE *CREATIVE CLOUD", "GENERAL_SERVICES_OTHER_GENERAL_SERVICES", "online", (2299, 5999)),
    ("Iron Peak Gym", "IRON PEAK GYM DUES", "PERSONAL_CARE_GYMS_AND_FITNESS_CENTERS", "other", (2999, 4999)),
    ("The New York Times", "NYTIMES DIGITAL", "GENERAL_MERCHANDISE_BOOKSTORES_AND_NEWSSTANDS", "online", (400, 1700)),
    ("iCloud", "APPLE.COM/BILL ICLOUD", "GENERAL_SERVICES_OTHER_GENERAL_SERVICES", "online", (99, 299, 999)),
    ("HelloFresh", "HELLOFRESH MEAL KIT", "FOOD_AND_DRINK_OTHER_FOOD_AND_DRINK", "online", (5999, 7999)),
    ("YouTube Premium", "GOOGLE *YOUTUBE PREMIUM", "ENTERTAINMENT_TV_AND_MOVIES", "online", (1399,)),
    ("Xbox Game Pass", "MICROSOFT *XBOX GAME PASS", "ENTERTAINMENT_VIDEO_GAMES", "online", (1699, 1999)),
    ("Audible", "AUDIBLE MEMBERSHIP", "ENTERTAINMENT_MUSIC_AND_AUDIO", "online", (1495,)),
    ("Peloton", "PELOTON MEMBERSHIP", "PERSONAL_CARE_GYMS_AND_FITNESS_CENTERS", "online", (2400, 4400)),
    ("Dropbox", "DROPBOX PLUS", "GENERAL_SERVICES_OTHER_GENERAL_SERVICES", "online", (1199, 1999)),
    ("BarkBox", "BARKBOX SUBSCRIPTION", "GENERAL_MERCHANDISE_PET_SUPPLIES", "online", (2900, 3500)),
)  # fmt: skip

PHONE: tuple[Sub, ...] = (
    ("Verizon", "VERIZON WIRELESS PAYMENT", "RENT_AND_UTILITIES_TELEPHONE", "online", (4500, 6500, 8500)),
    ("T-Mobile", "T-MOBILE AUTOPAY", "RENT_AND_UTILITIES_TELEPHONE", "online", (4000, 6000, 9000)),
)  # fmt: skip
INTERNET: tuple[Sub, ...] = (
    ("Comcast", "COMCAST XFINITY", "RENT_AND_UTILITIES_INTERNET_AND_CABLE", "online", (5999, 7999)),
    ("Spectrum", "SPECTRUM INTERNET", "RENT_AND_UTILITIES_INTERNET_AND_CABLE", "online", (4999, 6999)),
)  # fmt: skip
ELECTRIC: tuple[Sub, ...] = (
    ("City Power & Light", "CITY POWER & LIGHT BILL", "RENT_AND_UTILITIES_GAS_AND_ELECTRICITY", "online", (8000, 12000, 16000)),
    ("Metro Gas Co", "METRO GAS CO PAYMENT", "RENT_AND_UTILITIES_GAS_AND_ELECTRICITY", "online", (6000, 9000)),
)  # fmt: skip
WATER: Sub = (
    "County Water District",
    "COUNTY WATER DISTRICT",
    "RENT_AND_UTILITIES_WATER",
    "online",
    (9000, 14000),
)
INSURANCE: Sub = (
    "Safeguard Auto Insurance",
    "SAFEGUARD INS PREMIUM",
    "GENERAL_SERVICES_INSURANCE",
    "online",
    (9800, 14500, 18900),
)
RENT: Sub = (
    "Parkview Property Mgmt",
    "PARKVIEW PROPERTY MGMT RENT",
    "RENT_AND_UTILITIES_RENT",
    "other",
    (),
)
MORTGAGE: Sub = (
    "Keystone Home Loans",
    "KEYSTONE HOME LOANS MTG PMT",
    "LOAN_PAYMENTS_MORTGAGE_PAYMENT",
    "other",
    (),
)
STUDENT: Sub = (
    "Pinnacle Loan Servicing",
    "PINNACLE STUDENT LN PMT",
    "LOAN_PAYMENTS_STUDENT_LOAN_PAYMENT",
    "other",
    (),
)
PRIME: Sub = (
    "Amazon Prime",
    "AMAZON PRIME MEMBERSHIP",
    "GENERAL_MERCHANDISE_ONLINE_MARKETPLACES",
    "online",
    (13900,),
)

BUSINESS_SUBS: tuple[Sub, ...] = (
    ("QuickBooks", "INTUIT *QUICKBOOKS", "GENERAL_SERVICES_ACCOUNTING_AND_FINANCIAL_PLANNING", "online", (3000, 5500)),
    ("Google Workspace", "GOOGLE *WORKSPACE", "GENERAL_SERVICES_OTHER_GENERAL_SERVICES", "online", (1440, 2880)),
    ("Slack", "SLACK TECHNOLOGIES", "GENERAL_SERVICES_OTHER_GENERAL_SERVICES", "online", (875, 1500)),
    ("Amazon Web Services", "AWS EMEA", "GENERAL_SERVICES_OTHER_GENERAL_SERVICES", "online", (4200, 11800)),
    ("Shopify", "SHOPIFY *SUBSCRIPTION", "GENERAL_SERVICES_OTHER_GENERAL_SERVICES", "online", (3900, 10500)),
)  # fmt: skip

# Variable spending: (pfc_detailed, payment channel, merchant pool, median cents, log sigma)
Spend = tuple[str, str, tuple[str, ...], int, float]
GROCERY: Spend = (
    "FOOD_AND_DRINK_GROCERIES", "in store",
    ("Fresh Basket Market", "Green Valley Grocers", "Corner Harvest", "Sunrise Foods", "Maple Street Market"),
    9000, 0.35,
)  # fmt: skip
FUEL: Spend = (
    "TRANSPORTATION_GAS", "in store",
    ("Quickfuel", "Roadway Gas", "Northstar Fuel", "Pinnacle Petro", "Express Fill"),
    4200, 0.35,
)  # fmt: skip
DISCRETIONARY: tuple[tuple[Spend, float], ...] = (  # (category, visits per 30 days at middle income)
    (("FOOD_AND_DRINK_RESTAURANT", "in store", (
        "Luigi's Trattoria", "Golden Dragon", "Blue Plate Diner", "Taqueria Sol", "The Oak Room",
        "Saffron House", "Harbor Grill", "Noodle Bar 88", "Bistro Verde", "Smoke & Barrel BBQ",
        "Pho Saigon", "Casa Bonita Cafe"), 3800, 0.25), 4.0),
    (("FOOD_AND_DRINK_FAST_FOOD", "in store", (
        "Burger Barn", "Taco Rocket", "Cluck Shack", "Sub Station", "Pizza Planet", "Wrap It Up"),
        1300, 0.25), 4.0),
    (("FOOD_AND_DRINK_COFFEE", "in store", (
        "Daily Grind", "Bean There", "Morning Ritual Coffee", "Brew Lab", "Cup & Saucer"), 650, 0.25), 5.0),
    (("GENERAL_MERCHANDISE_ONLINE_MARKETPLACES", "online", (
        "Amazon", "eBay", "Etsy", "Wish Market"), 3500, 0.25), 3.0),
    (("GENERAL_MERCHANDISE_SUPERSTORES", "in store", ("Target", "Walmart", "Costco"), 6000, 0.25), 2.0),
    (("GENERAL_MERCHANDISE_CLOTHING_AND_ACCESSORIES", "in store", (
        "Thread & Needle", "Urban Closet", "Summit Outfitters"), 5500, 0.25), 0.8),
    (("TRANSPORTATION_TAXIS_AND_RIDE_SHARES", "online", ("Uber", "Lyft"), 2200, 0.25), 1.5),
    (("MEDICAL_PHARMACIES_AND_SUPPLEMENTS", "in store", ("CVS", "Walgreens", "Rite Aid"), 2400, 0.25), 0.8),
    (("ENTERTAINMENT_SPORTING_EVENTS_AMUSEMENT_PARKS_AND_MUSEUMS", "online", (
        "Ticketmaster", "City Museum", "Funland Park"), 6000, 0.25), 0.4),
    (("PERSONAL_CARE_HAIR_AND_BEAUTY", "in store", ("Style Studio", "Fresh Cuts"), 4500, 0.25), 0.5),
    (("HOME_IMPROVEMENT_HARDWARE", "in store", ("Home Depot", "Lowe's", "Ace Hardware"), 4800, 0.25), 0.5),
)  # fmt: skip

ARCHETYPES: tuple[str, ...] = (
    "high_utilization",
    "cash_flow_stressed",
    "variable_income",
    "subscription_heavy",
    "savings_builder",
    "stable",
)  # in persona priority order: the first of a user's archetypes is the primary
ARCHETYPE_PERSONA: dict[str, int | None] = {
    "high_utilization": 1,
    "variable_income": 2,
    "subscription_heavy": 3,
    "savings_builder": 4,
    "cash_flow_stressed": 5,
    "stable": None,
}
"""Each archetype -> the persona its users should get (None: STABLE); the one copy of this map."""
MIXES: tuple[tuple[str, str], ...] = (
    ("high_utilization", "subscription_heavy"),
    ("high_utilization", "cash_flow_stressed"),
    ("high_utilization", "variable_income"),
    ("cash_flow_stressed", "subscription_heavy"),
    ("variable_income", "subscription_heavy"),
    ("variable_income", "savings_builder"),
    ("subscription_heavy", "savings_builder"),
)
# Monthly take-home pay range per income tier, cents.
TIER_INCOME: tuple[tuple[int, int], ...] = (
    (180000, 260000),
    (260000, 380000),
    (380000, 550000),
    (550000, 850000),
    (850000, 1500000),
)
