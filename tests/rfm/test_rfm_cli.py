#!/usr/bin/env python3
"""End-to-end tests of `profilectl rfm` on small files whose expected output
is worked out by hand in the comments.

Usage: test_rfm_cli.py PROFILECTL
"""
import os
import subprocess
import sys
import shutil
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

# Bad input: each is an error naming FILE:LINE; nothing on stdout.
CASES = [
    ("customer_id,timestamp,amount\n,2024-01-01,1\n", ":2: missing customer_id", []),
    ("customer_id,timestamp,amount\nx,2024-01-01,NaN\n", ":2: amount", []),
    ("customer_id,timestamp,amount\nx,2024-01-01,\"1,000\"\n", ":2: amount", []),
    ("customer_id,timestamp,amount\nx,2024-01-01,1.005\n",
     ":2: amount: invalid decimal '1.005': more than 2 decimal places (the extra digits are "
     "not zero) (--scale 2)", ["--scale", "2"]),
    ("customer_id,timestamp,amount\nx,2024-01-01,99999999999999999999\n", ":2: amount", []),
    ("customer_id,timestamp,amount\nx,2024-13-01,1\n", ":2: timestamp", []),
    ("customer_id,timestamp,amount\nx,1e9,1\n", ":2: timestamp", []),
    ("customer_id,timestamp,amount\nx,2024-03-01,1\n",
     ":2: timestamp is after --as-of 2024-02-01T00:00:00Z", []),
    ("customer_id,timestamp\nx,2024-01-01\n", ": column 'amount' not found in the header", []),
    ("customer_id,timestamp,amount\nx,2024-01-01\n", ":2: expected 3 fields", []),
    # Two amounts that fit alone but not at the scale of the other (19 digits).
    ("customer_id,timestamp,amount\nx,2024-01-01,9000000000000000000\ny,2024-01-01,0.5\n",
     ":2: the amount does not fit 64 bits at 1 decimal places", []),
    ("id,ts,q,p\n7,2024-01-01,3,1.995\n", ":2: quantity x price", [
        "--id-col", "id", "--ts-col", "ts", "--qty-col", "q", "--price-col", "p",
        "--scale", "2"]),
]
for i, (text, msg, extra) in enumerate(CASES):
    path = write("bad%d.csv" % i, text)
    rc, out, err = run("--as-of", "2024-02-01", *extra, path)
    expect(rc == 1 and (path + msg) in err and out == "",
           "case %d: rc %d err %r out %r" % (i, rc, err, out))

# Money without guesswork. Automatic scale: the data's own decimals decide.
# 2 x 1.995 = 3.990 exactly (quantity places 0 + price places 3), and one
# row of 0.001 makes every monetary value print with 3 places.
QP3 = write("qp3.csv", "id,ts,q,p\n7,2024-01-01,2,1.995\n8,2024-01-01,1,0.001\n"
            "8,2024-01-02,3,2.5\n")
QPARGS = ["--id-col", "id", "--ts-col", "ts", "--qty-col", "q", "--price-col", "p"]
rc, out, err = run("--as-of", "2024-01-03", *QPARGS, QP3)
expect(rc == 0 and out.splitlines()[1].startswith("7,2,1,3.990,") and
       out.splitlines()[2].startswith("8,1,2,7.501,"), out + err)
# The summary prints revenue and mean monetary with the same 3 places.
expect(err.count(" 3.990") == 2 and err.count(" 7.501") == 2, err)
# A fixed --scale 2 accepts 2 x 1.995 (3.99 is exact at 2 places) ...
QP2 = write("qp2.csv", "id,ts,q,p\n7,2024-01-01,2,1.995\n")
rc, out, err = run("--as-of", "2024-01-03", *QPARGS, "--scale", "2", QP2)
expect(rc == 0 and out.splitlines()[1].startswith("7,2,1,3.99,"), out + err)
# ... and --scale 4 pads.
rc, out, err = run("--as-of", "2024-01-03", *QPARGS, "--scale", "4", QP2)
expect(rc == 0 and out.splitlines()[1].startswith("7,2,1,3.9900,"), out + err)
# Integer amounts: automatic scale 0.
INTS = write("ints.csv", "customer_id,timestamp,amount\nx,2024-01-01,12\nx,2024-01-02,-2\n")
rc, out, err = run("--as-of", "2024-01-03", INTS)
expect(rc == 0 and out.splitlines()[1] == "x,1,2,10,5,1,1,new_customers,active", out + err)
# Written decimals count, zeros too: 1.50 has two places.
ZEROS = write("zeros.csv", "customer_id,timestamp,amount\nx,2024-01-01,1.50\n")
rc, out, err = run("--as-of", "2024-01-03", ZEROS)
expect(rc == 0 and out.splitlines()[1].startswith("x,2,1,1.50,"), out + err)
rc, out, err = run("--as-of", "2024-01-03", "--scale", "auto", ZEROS)
expect(rc == 0 and out.splitlines()[1].startswith("x,2,1,1.50,"), out + err)

# Sums that overflow 64 bits: one customer's monetary (the library refuses
# the transaction), or the revenue of a segment in the summary.
BIG = "4611686018427387904"  # 2^62
OVER1 = write("over1.csv", "customer_id,timestamp,amount\nx,2024-01-01,%s\nx,2024-01-01,%s\n"
              % (BIG, BIG))
rc, out, err = run("--as-of", "2024-01-03", OVER1)
expect(rc == 1 and out == "" and OVER1 + ":" in err, "monetary overflow: %d %r" % (rc, err))
OVER2 = write("over2.csv", "customer_id,timestamp,amount\nx,2024-01-01,%s\ny,2024-01-01,%s\n"
              % (BIG, BIG))
rc, out, err = run("--as-of", "2024-01-03", "--bins", "1", OVER2)
expect(rc == 1 and OVER2 + ": txns[1]: total turnover would exceed INT64_MAX" in err,
       "revenue overflow: %d %r" % (rc, err))
# Rules files: the segment column is required; a missing file names the reason.
NOSEG = write("noseg.csv", "name,r_min\nx,1\n")
rc, out, err = run("--as-of", "2024-02-01", "--segments", NOSEG, SAMPLE)
expect(rc == 1 and "column 'segment' not found" in err, err)
rc, out, err = run("--as-of", "2024-02-01", "--segments", os.path.join(TMP, "nope.csv"), SAMPLE)
expect(rc == 1 and "No such file or directory" in err, err)
BADBOUND = write("badbound.csv", "segment,r_min\nx,abc\n")
rc, out, err = run("--as-of", "2024-02-01", "--segments", BADBOUND, SAMPLE)
expect(rc == 1 and BADBOUND + ":2: invalid decimal 'abc'" in err, err)
BIGBOUND = write("bigbound.csv", "segment,r_max\nx,6\n")
rc, out, err = run("--as-of", "2024-02-01", "--segments", BIGBOUND, SAMPLE)
expect(rc == 1 and BIGBOUND + ":2: score bound 6 is outside 1..5" in err, err)

# Timestamps parse as in every command: Unix seconds in the column and in --as-of.
UNIX = write("unix.csv", "customer_id,timestamp,amount\nx,1704067200,1\n")
rc, out, err = run("--as-of", "1704153600", UNIX)
expect(rc == 0 and out.splitlines()[1].startswith("x,1,1,1,"), out + err)

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
             ["--as-of", "2024-02-01", "--frobnicate", SAMPLE],
             ["--as-of", "2024-02-01", "--scale", "19", SAMPLE],
             ["--as-of", "2024-02-01", "--scale", "two", SAMPLE],
             ["--as-of", "2024-02-01", "--scale", "", SAMPLE],
             ["--as-of", "2024-02-01", SAMPLE, SAMPLE]):
    rc, out, err = run(*args)
    expect(rc == 2, "usage %r: %d %s" % (args, rc, err))
rc, out, err = run("--as-of", "2024-02-01", os.path.join(TMP, "absent.csv"))
expect(rc == 1, "absent file")
print("profilectl rfm: all end-to-end checks passed")
shutil.rmtree(TMP)  # kept only when a check failed, for a look at its files
