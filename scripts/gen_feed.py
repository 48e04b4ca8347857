#!/usr/bin/env python3
"""Synthetic customer feeds for tokengate: tagging fixtures and benchmark inputs.

Every value is synthetic (random combinations of common given/family names, reserved example
domains, fictional 555-01xx phone numbers, documentation IP ranges): no real people. All card
numbers are Luhn-valid with a correct issuer prefix and length, SSNs satisfy the SSA rules (no
area 000/666/9xx, group 00, serial 0000, advertising numbers), IBANs carry correct mod-97 check
digits, ABA routing numbers pass the checksum with a valid prefix. Look-alike columns are built to
fail: order numbers fail Luhn, customer ids have no SSN header, and so on.

Usage:
  gen_feed.py --rows 300 --format csv --out Fixtures/feeds/customers.csv \
              --expected Fixtures/feeds/customers.expected.json
  gen_feed.py --rows 300 --format jsonl --out Fixtures/feeds/customers.jsonl
  gen_feed.py --bytes 1G --profile bench10 --format csv --out /tmp/bench.csv
Sizes take K, M, G suffixes (powers of 1024). Output is deterministic for a given --seed, profile,
format and size. Python 3 standard library only.
"""
import argparse
import json
import random
import sys

# ---------------------------------------------------------------------------------------------
# Check digits

def luhn_check_digit(body: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = ord(ch) - 48
        if i % 2 == 0:  # these positions are doubled once the check digit is appended
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


def luhn_valid(number: str) -> bool:
    return luhn_check_digit(number[:-1]) == number[-1]


def iban_check(cc: str, bban: str) -> str:
    s = bban + cc + "00"
    r = 0
    for ch in s:
        r = (r * 10 + int(ch)) % 97 if ch.isdigit() else (r * 100 + ord(ch) - 55) % 97
    return "%02d" % (98 - r)


def aba_complete(first8: str) -> str:
    d = [int(c) for c in first8]
    s = 3 * (d[0] + d[3] + d[6]) + 7 * (d[1] + d[4] + d[7]) + (d[2] + d[5])
    return first8 + str((10 - s % 10) % 10)


ADVERTISING_SSNS = {"078051120", "219099999", "123456789"}

# ---------------------------------------------------------------------------------------------
# Value generators

FIRST = ["James", "Mary", "John", "Patricia", "Robert", "Jennifer", "Michael", "Linda", "William", "Elizabeth",
         "David", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah", "Charles", "Karen",
         "Daniel", "Nancy", "Matthew", "Lisa", "Anthony", "Betty", "Mark", "Sandra", "Paul", "Ashley", "Steven",
         "Emily", "Andrew", "Donna", "Joshua", "Michelle", "Kevin", "Carol", "Brian", "Amanda", "José", "Zoë",
         "Mary-Jane", "Jean-Luc", "Siobhan", "Aoife", "Hiroshi", "Priya", "Oluwaseun", "Ingrid"]
LAST = ["Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
        "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin",
        "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez", "Clark", "Ramirez", "Lewis", "Robinson",
        "O'Brien", "McDonald", "Nguyen", "García", "de la Cruz", "van der Berg", "Smith-Jones", "Müller",
        "Kowalski", "Okafor"]
STREETS = ["Maple", "Oak", "Cedar", "Elm", "Pine", "Washington", "Lake", "Hill", "Sunset", "Park", "Main", "Church",
           "Mill", "River", "Highland", "Willow", "Chestnut", "Lincoln", "Jefferson", "Spring"]
STREET_TYPES = ["St", "Street", "Ave", "Avenue", "Rd", "Road", "Blvd", "Ln", "Lane", "Dr", "Drive", "Ct", "Way", "Pl"]
EU_STREETS = ["Hauptstraße", "Lindenweg", "Bahnhofstrasse", "Keizersgracht", "Via Roma", "Calle Mayor"]
DOMAINS = ["example.com", "example.org", "example.net", "mail.example.com", "example.co.uk"]
NPAS = ["201", "202", "206", "212", "213", "305", "312", "404", "415", "503", "512", "617", "646", "702", "808", "917"]
PLAIN_MEMOS = ["Customer called about delivery", "Left voicemail", "Requested paper statement",
               "Address change requested", "VIP customer", "Prefers email contact", "Complaint resolved",
               "Account reviewed by support", "Asked about loyalty points", "Card replaced after expiry",
               "No answer on second attempt", "Promised callback next week"]
STATUSES = ["active", "pending", "closed", "suspended"]
COUNTRIES = ["US", "GB", "DE", "FR", "ES", "IT", "NL", "CA", "AU", "JP"]


def digits(rng, n):
    return "".join(rng.choice("0123456789") for _ in range(n))


# (issuer, prefix chooser, lengths with weights)
ISSUERS = [
    ("visa", lambda r: "4", [16] * 8 + [13, 19]),
    ("mastercard", lambda r: str(r.randint(51, 55)), [16]),
    ("mastercard2", lambda r: str(r.randint(2221, 2720)), [16]),
    ("amex", lambda r: r.choice(["34", "37"]), [15]),
    ("discover", lambda r: r.choice(["6011", "65", str(r.randint(644, 649))]), [16] * 4 + [19]),
    ("jcb", lambda r: str(r.randint(3528, 3589)), [16] * 3 + [19]),
    ("unionpay", lambda r: "62" + str(r.randint(1000, 9999)), [16, 16, 17, 18, 19]),
    ("diners", lambda r: r.choice(["36", "38", str(r.randint(300, 305))]), [14]),
    ("maestro", lambda r: r.choice(["5018", "5020", "5038", "6304", "6759", "6761"]), [12, 16, 19]),
    ("mir", lambda r: str(r.randint(2200, 2204)), [16, 16, 19]),
]


def pan_digits(rng, issuer=None):
    name, pref, lengths = issuer or rng.choice(ISSUERS)
    while True:
        n = rng.choice(lengths)
        p = pref(rng)
        body = p + digits(rng, n - 1 - len(p))
        number = body + luhn_check_digit(body)
        if len(set(number)) > 1:
            return name, number


def group_pan(number, issuer, sep):
    n = len(number)
    if issuer == "amex" and n == 15:
        parts = [number[:4], number[4:10], number[10:]]
    elif issuer == "diners" and n == 14:
        parts = [number[:4], number[4:10], number[10:]]
    else:
        parts = [number[i:i + 4] for i in range(0, n, 4)]
    return sep.join(parts)


def card_number(rng):
    issuer, number = pan_digits(rng)
    x = rng.random()
    if x < 0.7:
        return number
    return group_pan(number, issuer, " " if x < 0.85 else "-")


def ssn_digits(rng):
    while True:
        area = rng.randint(1, 899)
        if area == 666:
            continue
        s = "%03d%02d%04d" % (area, rng.randint(1, 99), rng.randint(1, 9999))
        if s not in ADVERTISING_SSNS:
            return s


def ssn(rng, dashed_share=0.6):
    s = ssn_digits(rng)
    return "%s-%s-%s" % (s[:3], s[3:5], s[5:]) if rng.random() < dashed_share else s


def ascii_name(s):
    return "".join(c for c in s.lower() if "a" <= c <= "z")


def email(rng, first, last):
    local = ascii_name(first) + rng.choice([".", "_", ""]) + ascii_name(last)
    if rng.random() < 0.5:
        local += str(rng.randint(1, 999))
    return local + "@" + rng.choice(DOMAINS)


def phone(rng):
    npa, line = rng.choice(NPAS), "01%02d" % rng.randint(0, 99)
    x = rng.random()
    if x < 0.2:
        return "(%s) 555-%s" % (npa, line)
    if x < 0.4:
        return "%s-555-%s" % (npa, line)
    if x < 0.5:
        return "%s.555.%s" % (npa, line)
    if x < 0.6:
        return "+1 %s 555 %s" % (npa, line)
    if x < 0.7:
        return "+1%s555%s" % (npa, line)
    if x < 0.75:
        return "%s-555-%s x%d" % (npa, line, rng.randint(10, 9999))
    if x < 0.85:
        return "+44 20 7946 0%03d" % rng.randint(0, 999)
    if x < 0.93:
        return "+49 30 %s" % digits(rng, 7)
    return "+33 1 %s %s %s %s" % (digits(rng, 2), digits(rng, 2), digits(rng, 2), digits(rng, 2))


REF_YEAR, REF_MONTH, REF_DAY = 2024, 6, 30


def date_of_birth(rng):
    y = REF_YEAR - rng.randint(18, 90)
    m = rng.randint(1, 12)
    d = rng.randint(1, [31, 29 if y % 4 == 0 and (y % 100 or y % 400 == 0) else 28, 31, 30, 31, 30, 31, 31, 30, 31,
                        30, 31][m - 1])
    x = rng.random()
    if x < 0.6:
        return "%04d-%02d-%02d" % (y, m, d)
    if x < 0.85:
        return "%02d/%02d/%04d" % (m, d, y)
    return "%02d.%02d.%04d" % (d, m, y)


def street_address(rng):
    if rng.random() < 0.08:
        return "%s %d" % (rng.choice(EU_STREETS), rng.randint(1, 200))
    a = "%d %s %s" % (rng.randint(1, 9999), rng.choice(STREETS), rng.choice(STREET_TYPES))
    if rng.random() < 0.25:
        a += " Apt %d" % rng.randint(1, 40)
    return a


def zip4(rng):
    return "%05d-%04d" % (rng.randint(501, 99950), rng.randint(1, 9999))


IBAN_FORMATS = {  # BBAN layout: n = digits, a = upper letters, c = upper alphanumerics
    "DE": "18n", "GB": "4a14n", "FR": "10n11c2n", "ES": "20n", "IT": "1a10n12c", "NL": "4a10n", "BE": "12n",
    "CH": "5n12c", "AT": "16n", "PL": "24n",
}


def bban(rng, layout):
    out, num = [], ""
    for ch in layout:
        if ch.isdigit():
            num += ch
            continue
        k, num = int(num), ""
        alphabet = {"n": "0123456789", "a": "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
                    "c": "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"}[ch]
        out.append("".join(rng.choice(alphabet) for _ in range(k)))
    return "".join(out)


def iban(rng):
    cc = rng.choice(sorted(IBAN_FORMATS))
    b = bban(rng, IBAN_FORMATS[cc])
    compact = cc + iban_check(cc, b) + b
    if rng.random() < 0.3:
        return " ".join(compact[i:i + 4] for i in range(0, len(compact), 4))
    return compact


ABA_PREFIXES = ["%02d" % p for p in list(range(1, 13)) + list(range(21, 33)) + list(range(61, 73)) + [80]]


def routing_number(rng):
    return aba_complete(rng.choice(ABA_PREFIXES) + digits(rng, 6))


def ip_address(rng):
    x = rng.random()
    h = lambda: "%x" % rng.randint(1, 0xffff)
    if x < 0.65:
        first = rng.choice([n for n in range(1, 224) if n not in (10, 127)])
        return "%d.%d.%d.%d" % (first, rng.randint(0, 255), rng.randint(0, 255), rng.randint(1, 254))
    if x < 0.75:
        return "2001:db8:%s:%s::%s" % (h(), h(), h())
    if x < 0.82:
        return "2001:0db8:85a3:0000:0000:8a2e:0370:%04x" % rng.randint(0, 0xffff)
    if x < 0.89:
        return "::ffff:192.0.2.%d" % rng.randint(1, 254)
    if x < 0.95:
        return "fe80::%s:%s%%eth0" % (h(), h())
    return "2001:db8::%s" % h()


def order_number(rng):
    body = rng.choice("45") + digits(rng, 14)
    good = luhn_check_digit(body)
    return body + str((int(good) + rng.randint(1, 9)) % 10)  # never the Luhn check digit


def uuid4(rng):
    b = rng.getrandbits(128)
    b = (b & ~(0xf << 76)) | (4 << 76)
    b = (b & ~(0x3 << 62)) | (0x2 << 62)
    s = "%032x" % b
    return "%s-%s-%s-%s-%s" % (s[:8], s[8:12], s[12:16], s[16:20], s[20:])


def timestamp(rng):
    return "%04d-%02d-%02dT%02d:%02d:%02dZ" % (rng.randint(2023, 2024), rng.randint(1, 12), rng.randint(1, 28),
                                               rng.randint(0, 23), rng.randint(0, 59), rng.randint(0, 59))


def amount(rng):
    return "%d.%02d" % (rng.randint(1, 5000), rng.randint(0, 99))


def app_version(rng):
    return "%d.%d.%d.%d" % (rng.randint(1, 3), rng.randint(0, 20), rng.randint(0, 50), rng.randint(0, 255))


def memo(rng, first, last, planted):
    """A memo; `planted` collects the tags of values planted in it (card, ssn, email)."""
    x = rng.random()
    if x < 0.10:
        issuer, number = pan_digits(rng)
        shown = number if rng.random() < 0.5 else group_pan(number, issuer, rng.choice([" ", "-"]))
        planted.add("pan")
        return rng.choice(["Please update card %s on file", "Customer read card %s over the phone",
                           "Charge card:%s next month", "Card (%s) declined twice"]) % shown
    if x < 0.18:
        planted.add("email")
        return rng.choice(["Send receipts to %s please", "Contact <%s> about renewal", "New address %s."]) % \
            email(rng, first, last)
    if x < 0.23:
        s = ssn_digits(rng)
        planted.add("ssn")
        return "Verified SSN %s-%s-%s by phone" % (s[:3], s[3:5], s[5:])
    if x < 0.25:
        issuer, number = pan_digits(rng)
        planted.update(["pan", "email"])
        return "Card %s belongs to %s" % (number, email(rng, first, last))
    if x < 0.55:  # look-alikes: must not be reported
        return rng.choice([
            lambda: "Order %s shipped on %s" % (order_number(rng), timestamp(rng)[:10]),
            lambda: "Zip %s confirmed" % zip4(rng),
            lambda: "Session %s expired" % uuid4(rng),
            lambda: "App %s installed" % app_version(rng),
            lambda: "Refund of $%s issued" % amount(rng),
            lambda: "Called %s and left a message" % phone(rng),
            lambda: "Customer %09d updated profile" % rng.randint(100000000, 999999999),
            lambda: "Ticket opened %s" % timestamp(rng),
            lambda: "IBAN on file %s" % " ".join((lambda c: [c[i:i + 4] for i in range(0, len(c), 4)])(
                iban(rng).replace(" ", ""))),
            lambda: "Tracking 9400 1000 0000 %s %s" % (digits(rng, 4), digits(rng, 2)),
            lambda: "Reference 1234-5678-%s" % digits(rng, 4),
        ])()
    return rng.choice(PLAIN_MEMOS)


# ---------------------------------------------------------------------------------------------
# Profiles

CUSTOMERS_EXPECTED = {
    "customer_id": None, "first_name": "person_name", "last_name": "person_name", "email": "email",
    "phone": "phone", "ssn": "ssn", "date_of_birth": "date_of_birth", "street_address": "street_address",
    "zip": None, "card_number": "pan", "iban": "iban", "routing_number": "aba_routing",
    "ip_address": "ip_address", "order_number": None, "session_id": None, "created_at": None, "amount": None,
    "account_ref": None, "app_version": None, "last_seen": None, "memo": None,
}


def customers_row(rng, i, planted):
    first, last = rng.choice(FIRST), rng.choice(LAST)
    return [
        "%09d" % rng.randint(100000000, 999999999),
        first, last, email(rng, first, last), phone(rng), ssn(rng), date_of_birth(rng), street_address(rng),
        zip4(rng), card_number(rng), iban(rng), routing_number(rng), ip_address(rng), order_number(rng),
        uuid4(rng), timestamp(rng), amount(rng), "%010d" % rng.randint(1000000000, 9999999999),
        app_version(rng), str(rng.randint(1_600_000_000, 1_750_000_000)), memo(rng, first, last, planted),
    ]


BENCH10_EXPECTED = {
    "row_id": None, "card_number": "pan", "email": "email", "ssn": "ssn", "created_at": None, "amount": None,
    "status": None, "country": None, "order_number": None, "memo": None,
}


def bench10_row(rng, i, planted):
    first, last = rng.choice(FIRST), rng.choice(LAST)
    return [str(i + 1), card_number(rng), email(rng, first, last), ssn(rng), timestamp(rng), amount(rng),
            rng.choice(STATUSES), rng.choice(COUNTRIES), order_number(rng), rng.choice(PLAIN_MEMOS)]


PROFILES = {
    "customers": (list(CUSTOMERS_EXPECTED), customers_row, CUSTOMERS_EXPECTED),
    "bench10": (list(BENCH10_EXPECTED), bench10_row, BENCH10_EXPECTED),
}

# ---------------------------------------------------------------------------------------------
# Output


def csv_field(v):
    if any(c in v for c in ',"\r\n'):
        return '"' + v.replace('"', '""') + '"'
    return v


def parse_size(s):
    s = s.strip().upper().rstrip("B")
    mult = 1
    if s and s[-1] in "KMG":
        mult = 1024 ** ("KMG".index(s[-1]) + 1)
        s = s[:-1]
    return int(float(s) * mult)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    size = ap.add_mutually_exclusive_group(required=True)
    size.add_argument("--rows", type=int, help="number of data rows")
    size.add_argument("--bytes", type=parse_size, help="approximate output size (K/M/G suffixes, powers of 1024)")
    ap.add_argument("--format", choices=["csv", "jsonl"], default="csv")
    ap.add_argument("--profile", choices=sorted(PROFILES), default="customers")
    ap.add_argument("--seed", type=int, default=20240630)
    ap.add_argument("--out", help="output file (default: standard output)")
    ap.add_argument("--expected", help="also write the expected tags and planted memo values as JSON here")
    args = ap.parse_args()

    header, make_row, expected = PROFILES[args.profile]
    rng = random.Random(args.seed)
    out = open(args.out, "w", encoding="utf-8", newline="") if args.out else sys.stdout
    written = 0
    chunk = []
    if args.format == "csv":
        line = ",".join(header) + "\n"
        chunk.append(line)
        written += len(line.encode("utf-8"))
    planted_rows = {"pan": 0, "ssn": 0, "email": 0}
    i = 0
    while (args.rows is not None and i < args.rows) or (args.bytes is not None and written < args.bytes):
        planted = set()
        row = make_row(rng, i, planted)
        for t in planted:
            planted_rows[t] += 1
        if args.format == "csv":
            line = ",".join(map(csv_field, row)) + "\n"
        else:
            line = json.dumps(dict(zip(header, row)), ensure_ascii=False) + "\n"
        chunk.append(line)
        written += len(line.encode("utf-8"))
        i += 1
        if len(chunk) >= 4096:
            out.write("".join(chunk))
            chunk = []
    out.write("".join(chunk))
    if args.out:
        out.close()
    if args.expected:
        with open(args.expected, "w", encoding="utf-8") as f:
            json.dump({"profile": args.profile, "seed": args.seed, "rows": i, "columns": expected,
                       "memo_embedded_rows": planted_rows if args.profile == "customers" else {}},
                      f, indent=2, ensure_ascii=False)
            f.write("\n")


if __name__ == "__main__":
    main()
