#!/usr/bin/env python3
"""End-to-end tests of `profilectl clv`: the output contract (param,value,se
rows then loglik, iterations, converged), weights standing for repeated rows,
the calibration/holdout split from transactions worked out by hand below,
the prediction and holdout files, and exit codes (2 usage, 1 data error
naming FILE:LINE).

Usage: test_clv_cli.py PROFILECTL
"""
import csv
import io
import os
import subprocess
import sys
import shutil
import tempfile

EXE = sys.argv[1]
TMP = tempfile.mkdtemp(prefix="clv_cli_")


def write(name, text):
    path = os.path.join(TMP, name)
    with open(path, "w", newline="") as f:
        f.write(text)
    return path


def run(*args):
    p = subprocess.run([EXE, "clv", *args], capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr


def expect(cond, what):
    if not cond:
        print("FAIL:", what)
        sys.exit(1)


def rows(text):
    return list(csv.DictReader(io.StringIO(text)))


def params(out):
    return {(r["model"], r["param"]): r for r in rows(out)}


# A small summary: 12 distinct customers, each row twice (24 customers).
BASE = [(0, 0, 30), (1, 5, 30), (2, 20, 31), (0, 0, 12), (3, 28, 30), (1, 2, 25),
        (4, 10, 40), (0, 0, 35), (2, 8, 9), (6, 29, 30), (1, 1, 5), (0, 0, 2)]
SPEND = [0, 12.5, 30, 0, 8.25, 20, 15, 0, 40, 11, 9.5, 0]
lines = ["id,frequency,recency,T,monetary_value"]
for k in range(2):
    for i, (x, tx, T) in enumerate(BASE):
        lines.append("c%d_%d,%d,%d,%d,%s" % (k, i, x, tx, T, SPEND[i]))
DOUBLED = write("doubled.csv", "\n".join(lines) + "\n")
weighted = ["frequency,recency,T,monetary_value,weights"]
for i, (x, tx, T) in enumerate(BASE):
    weighted.append("%d,%d,%d,%s,2" % (x, tx, T, SPEND[i]))
WEIGHTED = write("weighted.csv", "\n".join(weighted) + "\n")

# 1. Output contract; weights give the same fit as repeated rows.
rc, out, err = run("--model", "bgnbd", "--summary", DOUBLED)
expect(rc == 0, "bgnbd on a summary exits 0: %s" % err)
r = rows(out)
expect(list(r[0].keys()) == ["param", "value", "se", "model"], "header param,value,se,model")
expect([x["param"] for x in r] == ["r", "alpha", "a", "b", "loglik", "iterations", "converged"],
       "one row per parameter, then loglik, iterations, converged: %s" % [x["param"] for x in r])
expect(r[4]["se"] == "" and r[5]["se"] == "" and r[6]["se"] == "", "se empty where it does not apply")
expect(r[6]["value"] in ("0", "1"), "converged is 0 or 1")
rc2, out2, _ = run("--model", "bgnbd", "--summary", WEIGHTED)
expect(rc2 == 0 and out2 == out, "weights stand for repeated rows (same bits)")

# 2. Two models; predictions with value and CLV.
pred = os.path.join(TMP, "pred.csv")
rc, out, err = run("--model", "bgnbd,gg", "--summary", DOUBLED, "--predict-out", pred,
                   "--horizon", "10", "--discount-rate", "0.01")
expect(rc == 0, "bgnbd,gg exits 0: %s" % err)
p = params(out)
expect(("gg", "p") in p and ("gg", "spend_correlation") in p and ("bgnbd", "r") in p,
       "both models printed")
with open(pred, newline="") as f:
    pr = list(csv.DictReader(f))
expect(list(pr[0].keys()) == ["id", "frequency", "recency", "T", "p_alive",
                              "expected_purchases", "expected_value", "clv", "dert"], "prediction columns")
expect(len(pr) == 24 and pr[0]["id"] == "c0_0" and pr[12]["id"] == "c1_0", "one row per customer, ids kept")
for a, b in zip(pr[:12], pr[12:]):
    expect({k: v for k, v in a.items() if k != "id"} == {k: v for k, v in b.items() if k != "id"},
           "equal histories predict equally")
for row in pr:
    pa, e, v, c = (float(row[k]) for k in ("p_alive", "expected_purchases", "expected_value", "clv"))
    expect(0 <= pa <= 1 and e >= 0 and v > 0 and 0 <= c <= e * v, "prediction ranges: %s" % row)
expect(float(pr[0]["p_alive"]) == 1.0, "BG/NBD: no repeat purchase is alive")
# Without gg the value columns are empty.
rc, out, err = run("--model", "mbgnbd", "--summary", DOUBLED, "--predict-out", pred, "--horizon", "5")
with open(pred, newline="") as f:
    pr = list(csv.DictReader(f))
expect(rc == 0 and pr[3]["expected_value"] == "" and pr[3]["clv"] == "", "value columns need gg")

# 3. Transactions: calibration ends 2024-01-31, holdout ends 2024-03-01.
#   u1: days Jan 1, Jan 1 (same day: one purchase day), Jan 8, Jan 29 (cal);
#       Feb 5, Feb 5 (holdout: one day)
#       -> frequency 2, recency 28 days = 4 weeks, T 30 days = 30/7 weeks,
#          monetary = mean of Jan 8 (5) and Jan 29 (7 + 1) = 6.5; holdout 1
#   u2: Jan 15 only -> 0, 0, 16/7, 0; holdout 0
#   u3: first purchase in the holdout -> left out
#   u4: Jan 31 23:00 (the last calibration day counts) -> 0, 0, 0; Mar 1 -> holdout 1
TXNS = write("txns.csv",
             "customer_id,timestamp,amount\n"
             "u1,2024-01-01 09:00:00,3.00\n"
             "u1,2024-01-01 18:00:00,2.00\n"
             "u2,2024-01-15 12:00:00,4.00\n"
             "u1,2024-01-08 10:00:00,5.00\n"
             "u1,2024-01-29 10:00:00,7.00\n"
             "u1,2024-01-29 11:00:00,1.00\n"
             "u4,2024-01-31 23:00:00,2.00\n"
             "u1,2024-02-05 10:00:00,9.00\n"
             "u1,2024-02-05 12:00:00,9.00\n"
             "u3,2024-02-10 10:00:00,9.00\n"
             "u4,2024-03-01 08:00:00,1.00\n"
             "u4,2024-03-02 08:00:00,1.00\n")
hold = os.path.join(TMP, "hold.csv")
rc, out, err = run("--model", "bgnbd", "--transactions", TXNS, "--calibration-end", "2024-01-31",
                   "--holdout-end", "2024-03-01", "--predict-out", pred, "--horizon", "4",
                   "--holdout-report", hold, "--buckets", "3", "--max-iter", "3")
expect(rc == 0, "transactions exit 0: %s" % err)
with open(pred, newline="") as f:
    pr = {x["id"]: x for x in csv.DictReader(f)}
expect(sorted(pr) == ["u1", "u2", "u4"], "customers first seen after calibration are left out: %s" % sorted(pr))
expect((pr["u1"]["frequency"], pr["u1"]["recency"]) == ("2", "4"), "u1 frequency and recency")
expect(abs(float(pr["u1"]["T"]) - 30 / 7) < 1e-15, "u1 T in weeks")
expect(abs(float(pr["u2"]["T"]) - 16 / 7) < 1e-15 and pr["u2"]["frequency"] == "0", "u2")
expect(pr["u4"]["T"] == "0", "u4: the calibration end day is included")
with open(hold, newline="") as f:
    hr = list(csv.DictReader(f))
expect([x["frequency"] for x in hr] == ["0", "1", "2+", "total"], "holdout buckets: %s" % hr)
expect(hr[0]["customers"] == "2" and hr[0]["actual"] == "0.5", "bucket 0: u2 (0) and u4 (1)")
expect(hr[1]["customers"] == "0" and hr[1]["actual"] == "", "empty bucket")
expect(hr[2]["customers"] == "1" and hr[2]["actual"] == "1", "bucket 2+: u1, one holdout day")
expect(hr[3]["actual"] == "2" and float(hr[3]["mae"]) >= 0 and float(hr[3]["rmse"]) >= float(hr[3]["mae"]),
       "totals, MAE, RMSE")
expect("did not converge" in err, "a fit stopped by --max-iter warns")
expect(params(out)[("bgnbd", "converged")]["value"] == "0", "and reports converged 0")
# gg from transactions: monetary is the mean of the repeat days (u1: 6.5).
rc, out, err = run("--model", "bgnbd,gg", "--transactions", TXNS, "--calibration-end", "2024-01-31",
                   "--predict-out", pred, "--horizon", "4", "--period", "day")
expect(rc != 2, "gg from transactions runs: %s" % err)

# 4. Usage errors exit 2.
for args, what in [
        ((), "no --model"),
        (("--model", "bgnbd"), "no input"),
        (("--model", "xyz", "--summary", DOUBLED), "unknown model"),
        (("--model", "bgnbd,pnbd", "--summary", DOUBLED), "two purchase models"),
        (("--model", "bgnbd", "--summary", DOUBLED, "--transactions", TXNS), "both inputs"),
        (("--model", "bgnbd", "--transactions", TXNS), "no --calibration-end"),
        (("--model", "bgnbd", "--summary", DOUBLED, "--predict-out", pred), "no --horizon"),
        (("--model", "bgnbd", "--summary", DOUBLED, "--holdout-report", hold), "holdout without split"),
        (("--model", "gg", "--summary", DOUBLED, "--predict-out", pred, "--horizon", "3"), "gg alone predicts"),
        (("--model", "bgnbd", "--transactions", TXNS, "--calibration-end", "2024-02-01",
          "--holdout-end", "2024-01-01"), "holdout before calibration"),
        (("--model", "bgnbd", "--summary", DOUBLED, "--penalizer", "-1"), "negative penalizer"),
        (("--model", "bgnbd", "--summary", DOUBLED, "extra"), "operand"),
]:
    rc, out, err = run(*args)
    expect(rc == 2, "%s: exit 2, got %d (%s)" % (what, rc, err.strip()))

# 5. Data errors exit 1 and name FILE:LINE.
BAD = write("bad.csv", "frequency,recency,T\n1,2,10\n2,x,10\n")
rc, out, err = run("--model", "bgnbd", "--summary", BAD)
expect(rc == 1 and "bad.csv:3:" in err, "bad number names its line: %s" % err)
BAD2 = write("bad2.csv", "frequency,recency,T\n1,2,10\n0,0,5\n2,12,10\n")
rc, out, err = run("--model", "bgnbd", "--summary", BAD2)
expect(rc == 1 and "bad2.csv:4:" in err and "recency" in err, "recency > T names its line: %s" % err)
rc, out, err = run("--model", "bgnbd", "--summary", write("nocol.csv", "frequency,T\n1,2\n"))
expect(rc == 1 and "recency" in err, "missing column: %s" % err)
rc, out, err = run("--model", "bgnbd", "--summary", os.path.join(TMP, "missing.csv"))
expect(rc == 1, "unreadable file exits 1")
BADT = write("badt.csv", "customer_id,timestamp,amount\nu1,2024-01-01,1\nu1,yesterday,1\n")
rc, out, err = run("--model", "bgnbd", "--transactions", BADT, "--calibration-end", "2024-02-01")
expect(rc == 1 and "badt.csv:3:" in err, "bad timestamp names its line: %s" % err)

# 5b. The default id column is "id" in any letter case; --id-col still names one.
for name in ("ID", "Id"):
    up = write("up_%s.csv" % name, "\n".join([lines[0].replace("id,", name + ",", 1)] + lines[1:]) + "\n")
    rc, out, err = run("--model", "bgnbd", "--summary", up, "--predict-out", pred, "--horizon", "5")
    with open(pred, newline="") as f:
        pr = list(csv.DictReader(f))
    expect(rc == 0 and pr[0]["id"] == "c0_0" and pr[12]["id"] == "c1_0", "id column %s is the id: %s" % (name, err))
two = write("twoid.csv", "id,ID,frequency,recency,T\na,b,1,2,10\n")
rc, out, err = run("--model", "bgnbd", "--summary", two)
expect(rc == 1 and "--id-col" in err, "two id columns ask for --id-col: %s" % err)
rc, out, err = run("--model", "bgnbd", "--summary", two, "--id-col", "ID", "--predict-out", pred, "--horizon", "5")
with open(pred, newline="") as f:
    pr = list(csv.DictReader(f))
expect(rc == 0 and pr[0]["id"] == "b", "--id-col picks one of them: %s" % err)

# 6. help
rc, out, err = run("--help")
expect(rc == 0 and "--calibration-end" in out and "--holdout-report" in out, "help lists the options")
print("ok: profilectl clv")
shutil.rmtree(TMP)  # kept only when a check failed, for a look at its files
