"""Build ``data/us_crm_ids.csv``: CRM ids for the accounts and reps of the default data.

Run from the repository root with ``python data/build_crm_ids.py`` after
``data/build_default.py``. It writes the same bytes on every run.

The default data comes from no CRM, so every id here is synthetic except the company
domains, which are the Fortune 500 websites of the HIFLD layer in ``data/raw/``:

- ``salesforce_id``: Account ids (prefix 001) and User ids (prefix 005), numbered in
  table order, in the 18-character form with the case checksum.
- ``hubspot_id``: company record ids, numbered from 9,000,000,001.
- ``domain``: the host of the headquarters' website, Enterprise accounts only.
- ``dynamics_id``: a UUID derived from the account id (UUID version 5).
- ``email``: ``first.last@example.com`` for each named rep. Planned hires get no id,
  because no CRM user exists for them yet.
"""

from __future__ import annotations

import re
import sys
import uuid
from pathlib import Path

import pandas as pd

DATA_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(DATA_DIR.parent))

from solver.export.ids import salesforce_id18  # noqa: E402

OUTPUT = DATA_DIR / "us_crm_ids.csv"
NAMESPACE = uuid.UUID("6f1c2a52-3b0e-4f7e-9d55-1f0b8c1a2e77")
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def synthetic_salesforce_id(prefix: str, number: int) -> str:
    """Return an 18-character id: the key prefix, a fixed pod part and ``number`` in base 62."""
    digits = ""
    while True:
        number, rest = divmod(number, 62)
        digits = _BASE62[rest] + digits
        if number == 0:
            break
    body = prefix + "Dn000" + digits.rjust(7, "0")
    return salesforce_id18(body)


def bare_domain(website: str) -> str | None:
    """Return the host of a website address in lower case, without ``www.``."""
    if not isinstance(website, str) or not website.strip():
        return None
    host = re.sub(r"^[a-z]+://", "", website.strip().lower()).split("/", 1)[0]
    return host.removeprefix("www.") or None


def main() -> None:
    accounts = pd.read_csv(DATA_DIR / "us_accounts.csv", dtype=str, keep_default_na=False)
    hq = pd.read_csv(DATA_DIR / "raw" / "fortune500_hq_hifld.csv.gz", dtype=str)
    websites = dict(
        zip("F500-" + hq["RANK"].astype(int).astype(str).str.zfill(3), hq["WEBSITE"], strict=True)
    )
    rows = []
    for number, account_id in enumerate(accounts["account_id"], start=1):
        rows.append(
            {
                "kind": "account",
                "id": account_id,
                "salesforce_id": synthetic_salesforce_id("001", number),
                "hubspot_id": str(9_000_000_000 + number),
                "domain": bare_domain(websites.get(account_id, "")),
                "dynamics_id": str(uuid.uuid5(NAMESPACE, account_id)),
                "email": None,
            }
        )

    reps = pd.read_csv(DATA_DIR / "us_reps.csv", dtype=str, keep_default_na=False)
    for number, rep in enumerate(reps.itertuples(), start=1):
        if not rep.rep_id:
            continue
        first, last = rep.name.split(" ", 1)
        email = f"{first}.{last}".lower().replace(" ", "").replace("á", "a") + "@example.com"
        rows.append(
            {
                "kind": "rep",
                "id": rep.rep_id,
                "salesforce_id": synthetic_salesforce_id("005", number),
                "hubspot_id": None,
                "domain": None,
                "dynamics_id": None,
                "email": email,
            }
        )
    pd.DataFrame(rows).to_csv(OUTPUT, index=False, lineterminator="\n")
    print(f"wrote {len(rows)} rows to {OUTPUT}")


if __name__ == "__main__":
    main()
