#!/usr/bin/env python3
"""End-to-end tests of `profilectl rfm` on small files whose expected output
is worked out by hand in the comments.

Usage: test_rfm_cli.py PROFILECTL
"""
import os
import subprocess
import sys
import tempfile

EXE = sys.argv[1]
TMP = tempfile.mkdtemp(prefix="rfm_cli_")


def write(name, text):
    path = os.path.join(TMP, name)
    with open(path, "w", newline="") as f:
        f.write(text)
    return path


def run(*args):
    p = subprocess.run([EXE, "rfm", *args], capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr


def expect(cond, what):
    if not cond:
        print("FAIL:", what)
        sys.exit(1)


HEADER = "profile_id,recency_days,frequency,monetary,r,f,m,segment,lifecycle\n"

# Three customers, as_of 2024-02-01. Ids sort by bytes: "a@x.com" < "b,c" < "b2".
#   a@x.com: one order o1 (two lines) on Jan 31 10:00 -> 0 days, F 1, 15.50
#   "b,c":   o2 on Jan 1 -> 31 days, F 1, 100.00
#   b2:      o4 Jan 10 08:00 (20.00) and o3 Jan 20 12:00 (-3.25) -> 11 days, F 2, 16.75
# 5 bins over n = 3: edges 1, 1.4, 1.8, 2.2, 2.6, 3 -> ranks 1, 2, 3 -> bins 1, 3, 5.
#   recency days 0, 31, 11 -> ranks a 1, b2 2, "b,c" 3 -> R (reversed) 5, 3, 1
#   frequency 1, 1, 2 -> ranks a 1, "b,c" 2 (tie broken by id), b2 3 -> F 1, 3, 5
#   monetary 15.50, 100.00, 16.75 -> M a 1, b2 3, "b,c" 5
# RF10: a "51" new_customers, "b,c" "13" at_risk, b2 "35" loyal_customers.
# Lifecycle: a and "b,c" are one-time buyers within 60 days -> new; b2 bought
# on 2 days 10 d 4 h apart -> active while recency <= 20 d 8 h -> active.
SAMPLE = write("sample.csv",
               "customer_id,timestamp,amount,order\n"
               "a@x.com,2024-01-31 10:00:00,10.00,o1\n"
               "a@x.com,2024-01-31 10:00:00,5.50,o1\n"
               "\"b,c\",2024-01-01 00:00:00,100,o2\n"
               "b2,2024-01-20T12:00:00Z,-3.25,o3\n"
               "b2,2024-01-10 08:00:00,20,o4\n")
rc, out, err = run("--as-of", "2024-02-01", "--order-col", "order", SAMPLE)
expect(rc == 0, "sample run: %d %s" % (rc, err))
expect(out == HEADER +
       "a@x.com,0,1,15.50,5,1,1,new_customers,new\n"
       "\"b,c\",31,1,100.00,1,3,5,at_risk,new\n"
       "b2,11,2,16.75,3,5,3,loyal_customers,active\n", "sample output:\n" + out)
expect("loyal_customers" in err and "segment" in err, "summary on stderr:\n" + err)

# Without an order column every line is an order: a@x.com has F 2.
rc, out, err = run("--as-of", "2024-02-01", SAMPLE)
expect(rc == 0 and out.splitlines()[1].startswith("a@x.com,0,2,15.50,"), out)

# Quantity x price, exact: 3 x 19.99 = 59.97 and -2 x 1.5 = -3.00 -> 56.97.
QP = write("qp.csv", "id,ts,q,p\n7,2024-01-01,3,19.99\n7,2024-01-02,-2,1.5\n")
rc, out, err = run("--as-of", "2024-01-03", "--id-col", "id", "--ts-col", "ts",
                   "--qty-col", "q", "--price-col", "p", QP)
expect(rc == 0 and out == HEADER + "7,1,2,56.97,5,1,1,new_customers,active\n", out + err)

# Segments from a file (first match) and rfm11.
RULES = write("rules.csv", "segment,r_min,r_max\nrecent,4,5\nolder,,\n")
rc, out, err = run("--as-of", "2024-02-01", "--order-col", "order", "--segments", RULES, SAMPLE)
segs = [line.split(",")[-2] for line in out.splitlines()[1:]]
expect(rc == 0 and segs == ["recent", "older", "older"], out + err)
rc, out, err = run("--as-of", "2024-02-01", "--order-col", "order", "--segments", "rfm11", SAMPLE)
expect(rc == 0 and "Potential Loyalist" in out, out + err)
BADRULES = write("badrules.csv", "segment,r_min\nx,0\n")
rc, out, err = run("--as-of", "2024-02-01", "--segments", BADRULES, SAMPLE)
expect(rc == 1 and "score bound" in err, err)

# Bad input: each is an error naming the line; nothing on stdout.
CASES = [
    ("customer_id,timestamp,amount\n,2024-01-01,1\n", "line 2: missing customer_id"),
    ("customer_id,timestamp,amount\nx,2024-01-01,NaN\n", "line 2: amount"),
    ("customer_id,timestamp,amount\nx,2024-01-01,\"1,000\"\n", "line 2: amount"),
    ("customer_id,timestamp,amount\nx,2024-01-01,1.005\n", "line 2: amount"),
    ("customer_id,timestamp,amount\nx,2024-01-01,99999999999999999999\n", "line 2: amount"),
    ("customer_id,timestamp,amount\nx,2024-13-01,1\n", "line 2: timestamp"),
    ("customer_id,timestamp,amount\nx,2024-03-01,1\n", "after --as-of"),
    ("customer_id,timestamp\nx,2024-01-01\n", "amount"),
    ("customer_id,timestamp,amount\nx,2024-01-01\n", "line 2"),
]
for i, (text, msg) in enumerate(CASES):
    path = write("bad%d.csv" % i, text)
    rc, out, err = run("--as-of", "2024-02-01", path)
    expect(rc == 1 and msg in err and out == "", "case %d: rc %d err %r out %r" % (i, rc, err, out))

# --drop-missing-id counts and reports the dropped rows.
MISSING = write("missing.csv", "customer_id,timestamp,amount\n,2024-01-01,1\n  ,2024-01-01,2\n"
                "z,2024-01-01,3\n")
rc, out, err = run("--as-of", "2024-02-01", "--drop-missing-id", MISSING)
expect(rc == 0 and "dropped 2 rows" in err and out.count("\n") == 2, out + err)

# Usage errors exit 2.
for args in (["--as-of", "2024-02-01"], [SAMPLE], ["--as-of", "nope", SAMPLE],
             ["--as-of", "2024-02-01", "--bins", "0", SAMPLE],
             ["--as-of", "2024-02-01", "--qty-col", "q", SAMPLE],
             ["--as-of", "2024-02-01", "--amount-col", "a", "--qty-col", "q", "--price-col", "p",
              SAMPLE],
             ["--as-of", "2024-02-01", "--frobnicate", SAMPLE]):
    rc, out, err = run(*args)
    expect(rc == 2, "usage %r: %d %s" % (args, rc, err))
rc, out, err = run("--as-of", "2024-02-01", os.path.join(TMP, "absent.csv"))
expect(rc == 1, "absent file")
print("profilectl rfm: all end-to-end checks passed")
