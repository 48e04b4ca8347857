"""Writes a Parquet file whose card numbers are stored as DOUBLE (a 16-digit Visa number fits a
double exactly), beside floating-point columns that hold no sensitive values.

    make_float_cards.py OUT.parquet [ROWS]

Columns: card_double (DOUBLE, Luhn-valid 16-digit numbers starting with 4), amount (DOUBLE,
cents), score (FLOAT in [0, 1)), city (STRING)."""
import random
import sys

import pyarrow as pa
import pyarrow.parquet as pq


def luhn_complete(body):
    for d in range(10):
        s = body + str(d)
        total = 0
        for i, c in enumerate(reversed(s)):
            x = int(c)
            if i % 2 == 1:
                x = x * 2 - 9 if x * 2 > 9 else x * 2
            total += x
        if total % 10 == 0:
            return s
    raise AssertionError(body)


def main():
    out = sys.argv[1]
    rows = int(sys.argv[2]) if len(sys.argv) > 2 else 500
    rng = random.Random(16)
    cards = [float(luhn_complete("4" + "".join(str(rng.randrange(10)) for _ in range(14)))) for _ in range(rows)]
    assert all(c == int(c) and c < 2**53 for c in cards)
    amounts = [rng.randrange(1, 10**7) / 100 + 0.005 for _ in range(rows)]
    scores = [rng.random() for _ in range(rows)]
    cities = [rng.choice(["Lyon", "Austin", "Osaka", "Porto", "Tartu"]) for _ in range(rows)]
    table = pa.table({
        "card_double": pa.array(cards, pa.float64()),
        "amount": pa.array(amounts, pa.float64()),
        "score": pa.array(scores, pa.float32()),
        "city": pa.array(cities, pa.string()),
    })
    pq.write_table(table, out, compression="snappy", row_group_size=200)


if __name__ == "__main__":
    main()
