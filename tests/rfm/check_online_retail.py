#!/usr/bin/env python3
"""Reference check of `profilectl rfm` on the UCI Online Retail file.

Runs the command end to end and recomputes every output column with an
independent implementation (Python standard library only: csv, decimal,
datetime, re, floats for the quantile edges the way numpy computes them),
then compares every row. Also checks figures computed once with pandas
(snippet below). Exits 77 (skip) when the data directory is absent.

Usage: check_online_retail.py PROFILECTL DATA_DIR
"""
import csv
import datetime as dt
import math
import os
import re
import subprocess
import sys
from collections import defaultdict
from decimal import Context, Decimal, Inexact

EXACT = Context(prec=40, traps=[Inexact])

AS_OF = "2011-12-10"
SEGMENT_RE = [  # the widely used pandas seg_map, transcribed from its regexes
    # (it spells "cant_loose"; libprofile names the segment "cant_lose")
    (r"[1-2][1-2]", "hibernating"), (r"[1-2][3-4]", "at_risk"), (r"[1-2]5", "cant_lose"),
    (r"3[1-2]", "about_to_sleep"), (r"33", "need_attention"), (r"[3-4][4-5]", "loyal_customers"),
    (r"41", "promising"), (r"51", "new_customers"), (r"[4-5][2-3]", "potential_loyalists"),
    (r"5[4-5]", "champions"),
]

# Computed once with pandas 1.5 (Debian 12) on the same file:
#   df = pd.read_csv(path, dtype={"InvoiceNo": str, "CustomerID": str})
#   df = df.dropna(subset=["CustomerID"])
#   df["amount"] = df.Quantity * df.UnitPrice
#   df["InvoiceDate"] = pd.to_datetime(df.InvoiceDate)
#   g = df.groupby("CustomerID").agg(last=("InvoiceDate", "max"),
#         frequency=("InvoiceNo", "nunique"), monetary=("amount", "sum"))
#   g["recency"] = (pd.Timestamp("2011-12-10") - g["last"]).dt.days
#   for c, lab in (("recency", [5,4,3,2,1]), ("frequency", [1,2,3,4,5]),
#                  ("monetary", [1,2,3,4,5])):
#       g[c[0]] = pd.qcut(g[c].rank(method="first"), 5, labels=lab).astype(int)
#   pd.__version__, len(df), len(g), round(df.amount.sum(), 2), g.frequency.sum(),
#   g.groupby(g.r.astype(str) + g.f.astype(str)).size()["55"]
#   -> 1.5.3 406829 4372 8300065.81 22190 424
PANDAS = {"rows_with_id": 406829, "customers": 4372, "revenue": "8300065.81",
          "orders": 22190, "rf55": 424}


def parse_ts(text):
    return int(dt.datetime.strptime(text, "%Y-%m-%d %H:%M:%S")
               .replace(tzinfo=dt.timezone.utc).timestamp())


def qcut_first(values, ids, bins):
    """pandas qcut(x.rank(method='first'), bins) + 1 with ids in sorted order."""
    order = sorted(range(len(values)), key=lambda i: (values[i], ids[i]))
    n = len(values)
    edges = []
    for k in range(bins + 1):
        q = k / bins  # numpy.linspace(0, 1, bins + 1)
        pos = (n - 1) * q
        lo = math.floor(pos)
        hi = min(lo + 1, n - 1)
        edges.append((lo + 1) + ((hi + 1) - (lo + 1)) * (pos - lo))
    out = [0] * n
    for r0, i in enumerate(order):
        r = r0 + 1
        out[i] = next(k for k in range(1, bins + 1) if r <= edges[k]) if n > 1 else 1
    return out


def stage(first, last, prev, periods, as_of):
    day = 86400
    one_time = [60 * day, 180 * day, 240 * day]
    pct = [200, 400, 600]

    def bands(span, p):
        if p < 2:
            return one_time
        gap = max(span // (p - 1), day)
        return [gap * x // 100 for x in pct]

    def index(b, rec):
        return sum(1 for x in b if rec > x)

    i = index(bands(last - first, periods), as_of - last)
    if i > 0:
        return ["", "at_risk", "dormant", "churned"][i]
    if periods < 2:
        return "new"
    if index(bands(prev - first, periods - 1), last - prev) >= 2:
        return "reactivated"
    return "active"


def expected(path):
    as_of = int(dt.datetime.strptime(AS_OF, "%Y-%m-%d").replace(tzinfo=dt.timezone.utc).timestamp())
    cust = defaultdict(lambda: {"ts": [], "orders": set(), "money": Decimal(0)})
    rows = dropped = 0
    places = 0  # the data's own decimals: most quantity places + price places of a row
    with open(path, newline="", encoding="utf-8") as f:
        for rec in csv.DictReader(f):
            if rec["CustomerID"].strip() == "":
                dropped += 1
                continue
            rows += 1
            c = cust[rec["CustomerID"]]
            c["ts"].append(parse_ts(rec["InvoiceDate"]))
            c["orders"].add(rec["InvoiceNo"])
            q, p = Decimal(rec["Quantity"]), Decimal(rec["UnitPrice"])
            places = max(places, -min(q.as_tuple().exponent, 0) - min(p.as_tuple().exponent, 0))
            c["money"] += q * p
    ids = sorted(cust, key=lambda s: s.encode())
    assert ids == sorted(cust, key=float), "byte order differs from numeric order"
    rec_s = [as_of - max(cust[i]["ts"]) for i in ids]
    freq = [len(cust[i]["orders"]) for i in ids]
    money = [cust[i]["money"] for i in ids]
    rbin = qcut_first([x // 86400 for x in rec_s], list(range(len(ids))), 5)
    fbin = qcut_first(freq, list(range(len(ids))), 5)
    mbin = qcut_first(money, list(range(len(ids))), 5)
    out = {}
    for k, i in enumerate(ids):
        ts = cust[i]["ts"]
        days = sorted({t // 86400 for t in ts})
        last = max(ts)
        prev = max((t for t in ts if t // 86400 < days[-1]), default=None)
        r, fq, m = 6 - rbin[k], fbin[k], mbin[k]
        seg = next(name for rx, name in SEGMENT_RE if re.fullmatch(rx, "%d%d" % (r, fq)))
        # Exact: the sum at `places` decimals, with no rounding (quantize
        # would raise Inexact otherwise).
        exact = money[k].quantize(Decimal(1).scaleb(-places), context=EXACT)
        out[i] = [i, str(rec_s[k] // 86400), str(freq[k]), str(exact), str(r), str(fq),
                  str(m), seg, stage(min(ts), last, prev, len(days), as_of)]
    return out, rows, dropped, places


def main():
    exe, data = sys.argv[1], sys.argv[2]
    path = os.path.join(data, "online_retail", "online_retail_spark_tdg.csv")
    if not os.path.exists(path):
        print("SKIP: %s not found (the shared reference data is not available)" % path)
        return 77
    cmd = [exe, "rfm", "--as-of", AS_OF, "--id-col", "CustomerID", "--ts-col", "InvoiceDate",
           "--qty-col", "Quantity", "--price-col", "UnitPrice", "--order-col", "InvoiceNo",
           "--drop-missing-id", path]  # no --scale: the data's own decimals decide
    run = subprocess.run(cmd, capture_output=True, text=True)
    if run.returncode != 0:
        print("profilectl failed:", run.stderr)
        return 1
    got = list(csv.reader(run.stdout.splitlines()))
    want, rows, dropped, places = expected(path)
    # UCI Online Retail has prices of 0.001 and whole quantities: 3 places.
    assert places == 3, places
    assert got[0] == ["profile_id", "recency_days", "frequency", "monetary", "r", "f", "m",
                      "segment", "lifecycle"], got[0]
    body = got[1:]
    assert [r[0] for r in body] == sorted(want, key=lambda s: s.encode()), "ids or order differ"
    bad = [(r, want[r[0]]) for r in body if r != want[r[0]]]
    for g, w in bad[:10]:
        print("mismatch: got", g, "want", w)
    assert not bad, "%d rows differ" % len(bad)
    assert "dropped %d rows without CustomerID" % dropped in run.stderr, run.stderr
    # pandas figures
    assert rows == PANDAS["rows_with_id"], rows
    assert len(body) == PANDAS["customers"], len(body)
    total = sum(Decimal(r[3]) for r in body)
    assert round(total, 2) == Decimal(PANDAS["revenue"]), total
    assert sum(int(r[2]) for r in body) == PANDAS["orders"]
    assert sum(1 for r in body if r[4] == "5" and r[5] == "5") == PANDAS["rf55"]
    # Every monetary value has exactly the data's 3 decimals.
    assert all(re.fullmatch(r"-?[0-9]+\.[0-9]{3}", r[3]) for r in body)
    print("online retail: %d rows, %d dropped, %d customers, revenue %s (exact to 0.001, no "
          "--scale): all columns match" % (rows, dropped, len(body), total))
    return 0


if __name__ == "__main__":
    sys.exit(main())
