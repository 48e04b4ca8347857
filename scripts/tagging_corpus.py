#!/usr/bin/env python3
"""Builds the labelled tagging corpus under Fixtures/tagging (CSV tables plus labels.json).

Sources: the Faker package (several locales, every card type it knows) and hand-written look-alike
columns independent of Faker and of the tagger. Reproducible: SEED below, Faker's version is
recorded in labels.json. Run with the project's venv:
    python3 -m venv .venv && .venv/bin/pip install faker
    .venv/bin/python scripts/tagging_corpus.py
Labels: file -> column -> expected tag (Sources/Tagging/Tag.swift raw values) or null.
"""
import csv, json, os, random, sys, uuid
import datetime as dt
import faker
from faker import Faker
from faker.providers.credit_card import Provider as CardProvider

SEED = 20240911
ROWS = 300
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Fixtures", "tagging")
rng = random.Random(SEED)
labels = {}


def fk(locale):
    f = Faker(locale)
    f.seed_instance(SEED)
    return f


def table(name, columns):
    """columns: list of (header, label, generator)."""
    rows = [[str(g()).replace("\n", ", ") for (_, _, g) in columns] for _ in range(ROWS)]
    with open(os.path.join(OUT, name), "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow([h for (h, _, _) in columns])
        w.writerows(rows)
    labels[name] = {h: l for (h, l, _) in columns}


# Fixed reference date (the test's `today`): Faker's relative dates would follow the clock.
REF = dt.date(2024, 9, 11)


def dob(f, lo, hi):
    return f.date_between_dates(REF.replace(year=REF.year - hi), REF.replace(year=REF.year - lo)).isoformat()


def stamp(f, years):
    start = dt.datetime(REF.year - years, REF.month, REF.day)
    return f.date_time_between_dates(start, dt.datetime(REF.year, REF.month, REF.day)).strftime("%Y-%m-%dT%H:%M:%SZ")


def digits(n):
    return "".join(rng.choice("0123456789") for _ in range(n))


def luhn_ok(s):
    d = [int(c) for c in s if c.isdigit()]
    tot = 0
    for i, x in enumerate(reversed(d)):
        if i % 2:
            x *= 2
            x -= 9 if x > 9 else 0
        tot += x
    return tot % 10 == 0


def failing_luhn(prefix, n):
    while True:
        s = prefix + digits(n - len(prefix))
        if not luhn_ok(s):
            return s


def ssn_digits():
    while True:
        a, g, s = rng.randint(1, 899), rng.randint(1, 99), rng.randint(1, 9999)
        if a != 666:
            return f"{a:03d}", f"{g:02d}", f"{s:04d}"


us = fk("en_US")

# People, en_US: phones with extensions, 001-/+1-/dotted forms; addresses with units.
table("people_en_US.csv", [
    ("first_name", "person_name", us.first_name),
    ("last_name", "person_name", us.last_name),
    ("email", "email", us.email),
    ("phone", "phone", us.phone_number),
    ("ssn", "ssn", us.ssn),
    ("dob", "date_of_birth", lambda: dob(us, 18, 95)),
    ("street_address", "street_address", lambda: us.street_address()),
    ("company", None, us.company),
    ("city", None, us.city),
    ("zip", None, us.zipcode_plus4),
    ("customer_id", None, lambda: str(us.random_number(digits=9, fix_len=True))),
    ("created_at", None, lambda: stamp(us, 3)),
    ("ip", "ip_address", us.ipv4),
    ("client_ipv6", "ip_address", us.ipv6),
    ("routing_number", "aba_routing", us.aba),
])

for loc in ["en_GB", "de_DE", "fr_FR", "es_ES", "ja_JP"]:
    f = fk(loc)
    table(f"people_{loc}.csv", [
        ("full_name", "person_name", f.name),
        ("email_address", "email", f.email),
        ("telephone", "phone", f.phone_number),
        ("address", "street_address", f.street_address),
        ("iban", "iban", f.iban),
        ("birth_date", "date_of_birth", lambda f=f: dob(f, 18, 90)),
        ("company_name", None, f.company),
        ("postcode", None, f.postcode),
        ("order_ref", None, lambda: "ORD-" + digits(8)),
    ])

# Every card type Faker knows, under varied headers; a bland header; cards failing Luhn.
card_headers = ["card_number", "pan", "cc_number", "credit_card", "card_no", "payment_card", "debit_card",
                "CardNumber", "ccnum", "card_pan", "primary_account_number", "card"]
cols = []
for k, t in enumerate(CardProvider.credit_card_types.keys()):
    cols.append((card_headers[k % len(card_headers)] + ("" if k < len(card_headers) else "_2") + f"_{t}", "pan",
                 lambda t=t: us.credit_card_number(card_type=t)))
cols.append(("value", "pan", lambda: us.credit_card_number(card_type="visa16")))
cols.append(("Card Number", "pan", lambda: failing_luhn("4", 16)))
cols.append(("order_number", None, lambda: failing_luhn("4", 16)))
cols.append(("card_brand", None, us.credit_card_provider))
cols.append(("card_expiry", None, lambda: f"{rng.randint(1, 12):02d}/{rng.randint(25, 32)}"))
table("cards.csv", cols)

# SSNs / TINs with and without separators under tax headers; EINs are not SSNs.
table("tax.csv", [
    ("tax_id", "ssn", lambda: "".join(ssn_digits())),
    ("tin", "ssn", lambda: " ".join(ssn_digits())),
    ("taxpayer_no", "ssn", lambda: "-".join(ssn_digits())),
    ("social_security", "ssn", lambda: "".join(ssn_digits())),
    ("SSN", "ssn", lambda: " " + "-".join(ssn_digits()) + " "),
    ("itin", "ssn", us.itin),
    ("employer_ein", None, us.ein),
    ("filing_year", None, lambda: str(rng.randint(2015, 2024))),
])

# Headers that lie, both ways.
table("lying_headers.csv", [
    ("customer_ref", "ssn", lambda: "-".join(ssn_digits())),
    ("created", "date_of_birth", lambda: dob(us, 20, 90)),
    ("field_7", "email", us.email),
    ("notes_key", "pan", lambda: us.credit_card_number(card_type="mastercard")),
    ("ssn", None, lambda: str(uuid.UUID(int=rng.getrandbits(128)))),
    ("card_number", None, lambda: "SKU-" + digits(6) + "-" + rng.choice("ABCDEFGH")),
    ("phone", None, lambda: f"{rng.randint(1, 9)}.{rng.randint(0, 30)}.{rng.randint(0, 99)}"),
    ("email", None, lambda: "ORD" + digits(10)),
    ("dob", None, lambda: stamp(us, 2)),
    ("first_name", None, lambda: f"{rng.randint(1, 5000)}.{rng.randint(0, 99):02d}"),
])

# Organisations vs people.
table("contacts.csv", [
    ("contact_name", "person_name", us.name),
    ("account_holder", "person_name", us.name),
    ("organization", None, us.company),
    ("vendor_name", None, us.company),
    ("mobile", "phone", lambda: "+1-" + us.msisdn()[3:6] + "-" + us.msisdn()[6:9] + "-" + digits(4)),
    ("billing_address", "street_address", lambda: us.street_address()),
    ("job_title", None, us.job),
])

# Hand-written look-alikes, independent of Faker.
def ts():
    return f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}Z"


table("lookalikes.csv", [
    ("order_id", None, lambda: failing_luhn(rng.choice("3456"), 16)),
    ("zip_plus4", None, lambda: digits(5) + "-" + digits(4)),
    ("request_uuid", None, lambda: str(uuid.UUID(int=rng.getrandbits(128)))),
    ("created_at", None, ts),
    ("amount", None, lambda: f"{rng.randint(1, 99999)}.{rng.randint(0, 99):02d}"),
    ("app_version", None, lambda: f"{rng.randint(1, 12)}.{rng.randint(0, 40)}.{rng.randint(0, 200)}"),
    ("sku", None, lambda: rng.choice(["AB", "XK", "QZ"]) + "-" + digits(5)),
    ("epoch_seconds", None, lambda: str(rng.randint(1_500_000_000, 1_750_000_000))),
    ("customer_id", None, lambda: digits(9)),
    ("tracking_number", None, lambda: "1Z" + digits(16)),
    ("sha_prefix", None, lambda: "%012x" % rng.getrandbits(48)),
    ("quantity", None, lambda: str(rng.randint(1, 500))),
    ("status", None, lambda: rng.choice(["open", "closed", "pending", "refunded"])),
    ("event_date", None, lambda: f"2023-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"),
])

with open(os.path.join(OUT, "labels.json"), "w") as fh:
    json.dump({"seed": SEED, "rows": ROWS, "faker": faker.VERSION, "tables": labels}, fh, indent=1, sort_keys=True)
print("wrote", len(labels), "tables to", os.path.normpath(OUT))
