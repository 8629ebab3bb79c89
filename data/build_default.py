"""Build the default demo data: ``data/us_accounts.csv`` and ``data/us_reps.csv``.

Run from the repository root with ``python data/build_default.py``. The script reads only
the two files in ``data/raw/`` and writes the same bytes on every run.

``us_accounts.csv`` contains the accounts of two roles in one table:

- Enterprise: the 500 Fortune 500 headquarters (HIFLD Open layer, Fortune 2017 list),
  placed at their geocoded latitude and longitude.
- Commercial: one row per US county (3,142), sized by its County Business Patterns 2020
  establishments and placed by its county FIPS code, without latitude and longitude.

``us_reps.csv`` is a synthetic rep roster and hiring plan for both roles. Every name in
it is fictitious. ``data/README.md`` states every derivation and assumption below.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import numpy as np
import pandas as pd

logger = logging.getLogger("build_default")

DATA_DIR = Path(__file__).resolve().parent
RAW_DIR = DATA_DIR / "raw"
FORTUNE500_FILE = RAW_DIR / "fortune500_hq_hifld.csv.gz"
COUNTIES_FILE = RAW_DIR / "county_attributes.csv"
ACCOUNTS_FILE = DATA_DIR / "us_accounts.csv"
#: Synthetic current owners, written by ``data/build_current_owners.py``.
OWNERS_FILE = DATA_DIR / "us_current_owners.csv"
REPS_FILE = DATA_DIR / "us_reps.csv"

#: Enterprise potential: 0.05 % of annual revenue, an assumed yearly wallet for one
#: software vendor (USD 5 million for a company with USD 10 billion of revenue).
POTENTIAL_SHARE_OF_REVENUE = 0.0005

#: An Enterprise account is in the ideal customer profile when it has at least this many
#: employees.
ICP_MIN_EMPLOYEES = 10_000

#: Commercial potential: assumed addressable spend per year of one business
#: establishment, in USD.
POTENTIAL_PER_ESTABLISHMENT_USD = 2_000

#: Share of a county's establishments counted as ideal-customer-profile establishments.
ICP_SHARE_OF_ESTABLISHMENTS = 0.12

ACCOUNT_COLUMNS = [
    "account_id",
    "name",
    "segment",
    "latitude",
    "longitude",
    "county_fips",
    "zip",
    "employees",
    "revenue_musd",
    "establishments",
    "establishments_estimated",
    "potential_usd",
    "icp",
]

REP_COLUMNS = ["rep_id", "name", "role", "start_date", "end_date", "home_zip", "ramp_profile"]

# The HIFLD COUNTYFIPS code is wrong for these headquarters: it is truncated to the county
# part (Omaha), belongs to another county, or does not exist. The corrected code is the
# county whose 2016 Census boundary (1:500,000) contains the row's latitude and longitude,
# found by a point-in-polygon test. Each entry is (RANK, HIFLD code, corrected code).
COUNTY_FIPS_CORRECTIONS = [
    (2, "55", "31055"),  # Berkshire Hathaway: Douglas, NE
    (11, "42045", "42029"),  # AmerisourceBergen: Chester, PA
    (42, "36085", "36061"),  # MetLife: New York, NY
    (62, "26111", "26145"),  # Dow Chemical: Saginaw, MI (the geocode lies south-east of Midland)
    (69, "34019", "34039"),  # Merck: Union, NJ
    (75, "25023", "25025"),  # Liberty Mutual: Suffolk, MA
    (143, "55", "31055"),  # Union Pacific: Douglas, NE
    (171, "51087", "51075"),  # Performance Food Group: Goochland, VA
    (186, "8005", "08035"),  # Dish Network: Douglas, CO
    (197, "55", "31055"),  # Conagra Foods: Douglas, NE
    (208, "34121", "34017"),  # Newell Brands: Hudson, NJ
    (238, "51159", "51760"),  # Dominion Resources: Richmond city, VA
    (243, "36059", "36103"),  # Henry Schein: Suffolk, NY
    (259, "48037", "48113"),  # Jacobs Engineering Group: Dallas, TX
    (263, "22055", "22071"),  # Entergy: Orleans, LA
    (266, "36085", "36061"),  # Voya Financial: New York, NY
    (269, "8005", "08035"),  # Liberty Interactive: Douglas, CO
    (271, "25023", "25025"),  # State Street: Suffolk, MA
    (292, "51161", "51770"),  # Advance Auto Parts: Roanoke city, VA
    (295, "27097", "27099"),  # Hormel Foods: Mower, MN
    (302, "6201", "06059"),  # Pacific Life: Orange, CA
    (324, "55", "31055"),  # Peter Kiewit Sons': Douglas, NE
    (342, "55", "31055"),  # Mutual of Omaha: Douglas, NE
    (353, "13125", "13121"),  # PulteGroup: Fulton, GA
    (366, "34027", "34017"),  # Quest Diagnostics: Hudson, NJ
    (374, "47187", "47037"),  # LifePoint Health: Davidson, TN (on the Williamson border)
    (409, "13135", "13121"),  # NCR: Fulton, GA
    (410, "13121", "13135"),  # Asbury Automotive Group: Gwinnett, GA
    (449, "25023", "25025"),  # American Tower: Suffolk, MA
    (455, "36049", "36029"),  # M&T Bank: Erie, NY
    (471, "55101", "55133"),  # Fiserv: Waukesha, WI
    (478, "8005", "08035"),  # Western Union: Douglas, CO
    (491, "8005", "08035"),  # Liberty Media: Douglas, CO
    (494, "8005", "08035"),  # CH2M Hill: Douglas, CO
    (500, "36047", "36061"),  # ABM Industries: New York, NY
]

# Census legal/statistical area codes (LSAD) of the county-equivalents in the source, and
# the word the Census Bureau appends to the name. Code 00 (District of Columbia, Carson
# City) has none. With the suffix, "Baltimore County" and "Baltimore city" stay apart.
LSAD_SUFFIXES = {
    "00": "",
    "03": "City and Borough",
    "04": "Borough",
    "05": "Census Area",
    "06": "County",
    "12": "Municipality",
    "15": "Parish",
    "25": "city",
}

# Short words of company names that are words, not acronyms, so they are title-cased.
# Every other word of at most 3 letters (IBM, CVS, M&T) stays upper-case.
SHORT_WORDS = {
    "AID", "AIR", "BED", "BIG", "BUY", "CO", "COS", "DOW", "DR", "ELI", "FOR", "FOX",
    "GAP", "INS", "LAM", "LAS", "MAC", "MAE", "NEW", "OLD", "ONE", "ST", "YUM",
}  # fmt: skip
LOWERCASE_WORDS = {"OF", "AND", "THE"}
# Acronyms of 4 letters or more in the source, and initials such as "J.B." or "U.S.".
LONG_ACRONYMS = {"CBRE", "TIAA", "USAA"}
DOTTED_INITIALS = re.compile(r"(?:[A-Z]\.)+")

# The plan is written around 2027-02-01, the design date of scenarios/us_default.yaml.
# It has reps who started years ago and are fully ramped, and two planned hires with a
# blank id: an Enterprise hire already ramping and a Commercial hire starting later.
# E06 leaves after the design date, E08 left before it, and E07 is an experienced hire
# on the `experienced` ramp profile.
REPS = [
    # rep_id, name, role, start_date, end_date, home_zip, ramp_profile
    ("E01", "Maya Lindqvist", "ENT", "2019-03-04", "", "", ""),
    ("E02", "Daniel Okafor", "ENT", "2020-06-01", "", "", ""),
    ("E03", "Priya Raman", "ENT", "2021-01-11", "", "", ""),
    ("E04", "Tomás Ferreira", "ENT", "2022-04-04", "", "", ""),
    ("E05", "Grace Whitfield", "ENT", "2023-09-05", "", "", ""),
    ("E06", "Samuel Brandt", "ENT", "2018-07-09", "2027-06-30", "", ""),
    ("E07", "Hannah Kowalski", "ENT", "2027-01-11", "", "", "experienced"),
    ("E08", "Marcus Bell", "ENT", "2020-02-03", "2026-11-30", "", ""),
    ("", "Planned Enterprise hire", "ENT", "2026-12-14", "", "", ""),
    ("C01", "Olivia Chen", "COM", "2018-05-07", "", "02110", ""),
    ("C02", "Jamal Washington", "COM", "2019-08-12", "", "60601", ""),
    ("C03", "Sofia Marino", "COM", "2020-01-13", "", "30303", ""),
    ("C04", "Ethan Novak", "COM", "2020-10-05", "", "75201", ""),
    ("C05", "Aisha Rahman", "COM", "2021-03-01", "", "94105", ""),
    ("C06", "Lucas Meyer", "COM", "2021-09-13", "", "", ""),
    ("C07", "Chloe Dubois", "COM", "2022-02-07", "", "", ""),
    ("C08", "Noah Andersen", "COM", "2022-11-14", "", "", ""),
    ("C09", "Isabella Costa", "COM", "2023-05-08", "", "", ""),
    ("C10", "Ryan Gallagher", "COM", "2024-01-08", "", "", ""),
    ("C11", "Mei Tanaka", "COM", "2026-11-16", "", "", ""),
    ("", "Planned Commercial hire", "COM", "2027-04-05", "", "", ""),
]


def read_fortune500(path: Path) -> pd.DataFrame:
    """Read the HIFLD Fortune 500 headquarters with every code column as text."""
    text = {"ZIP": str, "COUNTYFIPS": str, "NAME": str}
    return pd.read_csv(path, dtype=text, keep_default_na=False)


def read_counties(path: Path) -> pd.DataFrame:
    """Read the county attributes with the FIPS and LSAD codes as text."""
    text = {"geoid": str, "state_fips": str, "county_fips": str, "lsad": str}
    return pd.read_csv(path, dtype=text)


def enterprise_accounts(hq: pd.DataFrame, county_ids: pd.Series) -> pd.DataFrame:
    """Build one Enterprise account per Fortune 500 headquarters.

    Parameters
    ----------
    hq
        The HIFLD table as :func:`read_fortune500` returns it.
    county_ids
        Every valid 5-digit county FIPS code, to check the corrected codes against.
    """
    county_fips = correct_county_fips(hq)
    unknown = sorted(set(county_fips) - set(county_ids))
    if unknown:
        raise ValueError(f"headquarters in unknown counties after corrections: {unknown}")

    revenue_usd = hq["REVENUES"].astype("int64") * 1_000_000
    accounts = pd.DataFrame(
        {
            "account_id": "F500-" + hq["RANK"].astype(int).astype(str).str.zfill(3),
            "name": hq["NAME"].map(title_case),
            "segment": "Enterprise",
            "latitude": hq["LATITUDE"],
            "longitude": hq["LONGITUDE"],
            "county_fips": county_fips,
            "zip": hq["ZIP"].str.zfill(5),
            "employees": hq["EMPLOYEES"].astype("int64"),
            "revenue_musd": hq["REVENUES"].astype("int64"),
            # A headquarters is one business site, so it counts as one establishment.
            "establishments": 1,
            "establishments_estimated": 0,
            "potential_usd": round_half_up(revenue_usd * POTENTIAL_SHARE_OF_REVENUE),
            "icp": (hq["EMPLOYEES"] >= ICP_MIN_EMPLOYEES).astype("int64"),
        }
    )
    return accounts


def correct_county_fips(hq: pd.DataFrame) -> pd.Series:
    """Pad COUNTYFIPS to 5 digits and apply :data:`COUNTY_FIPS_CORRECTIONS`.

    Raises ValueError when a corrected row does not hold the HIFLD code the correction
    expects, which means the raw file is not the one the corrections were made for.
    """
    codes = hq["COUNTYFIPS"].copy()
    position = {rank: i for i, rank in enumerate(hq["RANK"].astype(int))}
    for rank, hifld_code, corrected in COUNTY_FIPS_CORRECTIONS:
        found = codes.iloc[position[rank]]
        if found != hifld_code:
            raise ValueError(f"RANK {rank}: expected COUNTYFIPS {hifld_code!r}, found {found!r}")
        codes.iloc[position[rank]] = corrected

    return codes.str.zfill(5)


def commercial_accounts(counties: pd.DataFrame) -> pd.DataFrame:
    """Build one Commercial account per county, sized by its business establishments.

    Counties without County Business Patterns 2020 counts get establishments and
    employees estimated from their 2020 population at the national per-resident rates,
    and ``establishments_estimated`` is 1 for them.
    """
    establishments, estimated = estimate_from_population(
        counties["cbp2020_establishments"], counties["pop_2020"]
    )
    employees, _ = estimate_from_population(counties["cbp2020_employees"], counties["pop_2020"])

    accounts = pd.DataFrame(
        {
            "account_id": "CNTY-" + counties["geoid"],
            "name": county_names(counties),
            "segment": "Commercial",
            "latitude": np.nan,
            "longitude": np.nan,
            "county_fips": counties["geoid"],
            "zip": "",
            "employees": employees,
            "revenue_musd": pd.NA,
            "establishments": establishments,
            "establishments_estimated": estimated.astype("int64"),
            "potential_usd": establishments * POTENTIAL_PER_ESTABLISHMENT_USD,
            "icp": round_half_up(establishments * ICP_SHARE_OF_ESTABLISHMENTS),
        }
    )
    return accounts


def estimate_from_population(
    counts: pd.Series, population: pd.Series
) -> tuple[pd.Series, pd.Series]:
    """Fill missing ``counts`` with ``population`` times the national count per resident.

    The rate is the sum of ``counts`` over the sum of ``population`` of the rows that have
    a count. An estimate is rounded to the nearest whole number and is at least 1.

    Returns
    -------
    tuple of pandas.Series
        The filled counts (int64) and a boolean mask of the estimated rows.
    """
    missing = counts.isna()
    rate = counts[~missing].sum() / population[~missing].sum()
    estimates = round_half_up(population * rate).clip(lower=1)
    filled = counts.where(~missing, estimates).astype("int64")
    return filled, missing


def county_names(counties: pd.DataFrame) -> pd.Series:
    """Return "<name> <LSAD suffix>, <state>", such as "Autauga County, AL"."""
    unknown = sorted(set(counties["lsad"]) - set(LSAD_SUFFIXES))
    if unknown:
        raise ValueError(f"LSAD codes without a suffix in LSAD_SUFFIXES: {unknown}")

    base = counties["name"].map(fix_mojibake)
    suffix = counties["lsad"].map(LSAD_SUFFIXES)
    full = (base + " " + suffix).str.strip()
    return full + ", " + counties["state"]


def fix_mojibake(text: str) -> str:
    """Repair UTF-8 text that was decoded as Latin-1 ("DoÃ±a Ana" becomes "Doña Ana")."""
    try:
        return text.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return text


def title_case(name: str) -> str:
    """Title-case an upper-case company name, keeping acronyms such as IBM and J.B."""
    words = []
    for position, word in enumerate(name.split()):
        letters = "".join(ch for ch in word if ch.isalpha())
        if position > 0 and word in LOWERCASE_WORDS:
            words.append(word.lower())
        elif _is_acronym(word, letters):
            words.append(word)
        else:
            words.append("-".join(_capitalize(part) for part in word.split("-")))
    return " ".join(words)


def _is_acronym(word: str, letters: str) -> bool:
    """Tell whether a word of a company name is an acronym or code to keep upper-case."""
    if any(ch.isdigit() for ch in word) or "&" in word:
        return True
    if DOTTED_INITIALS.fullmatch(word) or letters in LONG_ACRONYMS:
        return True
    return len(letters) <= 3 and letters not in SHORT_WORDS


def _capitalize(word: str) -> str:
    """Capitalize one word, with the Mc and O' prefixes of surnames and a lower-case .com."""
    if word.endswith(".COM"):
        return word[:-4].capitalize() + ".com"
    if word.startswith("MC") and len(word) > 3:
        return "Mc" + word[2:].capitalize()
    if word.startswith("O'") and len(word) > 2:
        return "O'" + word[2:].capitalize()
    return word.capitalize()


def round_half_up(values: pd.Series) -> pd.Series:
    """Round to the nearest integer, with halves rounded up."""
    return np.floor(values.astype("float64") + 0.5).astype("int64")


def reps_table() -> pd.DataFrame:
    """Return the synthetic rep roster and hiring plan :data:`REPS` as a table."""
    return pd.DataFrame(REPS, columns=REP_COLUMNS)


def build_accounts(
    fortune500_file: Path, counties_file: Path, owners_file: Path | None = OWNERS_FILE
) -> pd.DataFrame:
    """Build the combined accounts table, sorted by ``account_id``.

    With ``owners_file``, the last column is each account's synthetic ``current_owner``.
    """
    counties = read_counties(counties_file)
    enterprise = enterprise_accounts(read_fortune500(fortune500_file), counties["geoid"])
    commercial = commercial_accounts(counties)

    accounts = pd.concat([enterprise, commercial], ignore_index=True)[ACCOUNT_COLUMNS]
    accounts = accounts.astype({"revenue_musd": "Int64"})
    if not accounts["account_id"].is_unique:
        raise ValueError("account_id values are not unique")
    if owners_file is not None and owners_file.is_file():
        owners = pd.read_csv(owners_file, dtype=str, keep_default_na=False)
        accounts = accounts.merge(owners, on="account_id", how="left", validate="one_to_one")
    return accounts.sort_values("account_id", kind="stable").reset_index(drop=True)


def write_csv(table: pd.DataFrame, path: Path) -> None:
    """Write ``table`` as UTF-8 CSV with Unix line ends, empty cells for missing values."""
    table.to_csv(path, index=False, lineterminator="\n", encoding="utf-8")
    logger.info("wrote %s: %d rows", path, len(table))


def log_largest_county(accounts: pd.DataFrame) -> None:
    """Log the share of all Commercial establishments that the largest county holds."""
    commercial = accounts[accounts["segment"] == "Commercial"]
    largest = commercial.loc[commercial["establishments"].idxmax()]
    share = largest["establishments"] / commercial["establishments"].sum()
    logger.info(
        "largest county: %s, %d establishments, %.1f%% of the Commercial total",
        largest["name"],
        largest["establishments"],
        100 * share,
    )


def main() -> None:
    """Build and write both default data files."""
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    accounts = build_accounts(FORTUNE500_FILE, COUNTIES_FILE)
    reps = reps_table()

    write_csv(accounts, ACCOUNTS_FILE)
    write_csv(reps, REPS_FILE)
    log_largest_county(accounts)


if __name__ == "__main__":
    main()
