#!/usr/bin/env python3
"""`profilectl rfm --threads N` gives the bytes `--threads 1` gives.

Usage: test_rfm_threads.py PROFILECTL [ONLINE_RETAIL_CSV]

The command cuts its input at guessed record boundaries and reads the chunks
on N threads. The files below are built so that the guesses go wrong in
every way: quoted fields full of line endings (CRLF and LF) and commas
around the cut points, a quoted field longer than a whole chunk, empty
lines, orders and customers spread over every chunk, and data errors in
the first and the later chunks. For every file stdout, stderr and the exit
status must equal the one-thread run for N = 2..16, and the line an error
names is checked against the line counted here.
"""
import os
import random
import subprocess
import sys
import tempfile

PC = sys.argv[1]
RETAIL = sys.argv[2] if len(sys.argv) > 2 else ""
AS_OF = "2024-01-01"
THREADS = [2, 3, 4, 7, 16]
failures = []


def run(path, threads, extra=()):
    args = [PC, "rfm", "--as-of", AS_OF, "--id-col", "id", "--ts-col", "ts",
            "--order-col", "order", "--threads", str(threads)] + list(extra) + [path]
    p = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    return p.returncode, p.stdout, p.stderr


def note(rng, big=False, endings=True):
    """A description: quoted with commas, doubled quotes and line endings."""
    parts = []
    pieces = ["word", ",", '""', " ", "x" * 70] + (["\r\n", "\n"] if endings else [])
    for _ in range(rng.randrange(40 if not big else 4000)):
        parts.append(rng.choice(pieces))
    return '"' + "".join(parts) + '"'


def make_rows(seed, n, big_at=(), endings_every=1):
    """Rows; one quoted note in `endings_every` may hold line endings."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        cust = "c%04d" % rng.randrange(300)
        order = "o%05d" % rng.randrange(n // 3 + 1)  # orders recur across chunks
        day = 1 + rng.randrange(28)
        amount = "%d.%02d" % (rng.randrange(-5, 200), rng.randrange(100))
        text = (note(rng, big=i in big_at, endings=i % endings_every == 0)
                if rng.random() < 0.5 else "plain")
        rows.append([cust, "2023-%02d-%02dT10:00:00Z" % (1 + rng.randrange(12), day),
                     amount, order, text])
    return rows


def write(path, rows, endings_seed=0):
    """Header id,ts,amount,order,note; mixed LF/CRLF; some empty lines.
    Returns the physical line (1-based) each row starts on."""
    rng = random.Random(endings_seed)
    starts = []
    line = 1
    out = ["id,ts,amount,order,note\n"]
    line += 1
    for r in rows:
        if rng.random() < 0.02:
            out.append("\n")
            line += 1
        starts.append(line)
        rec = ",".join(r) + ("\r\n" if rng.random() < 0.3 else "\n")
        out.append(rec)
        line += rec.count("\n")
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write("".join(out))
    return starts


def same_as_one(path, label, extra=(), expect_rc=None, expect_line=None):
    ref = run(path, 1, extra)
    if expect_rc is not None and ref[0] != expect_rc:
        failures.append("%s: exit %d, expected %d: %s" % (label, ref[0], expect_rc,
                                                         ref[2].decode()))
        return
    if expect_line is not None:
        want = ":%d: " % expect_line
        if want.encode() not in ref[2]:
            failures.append("%s: message %r does not name line %d" % (label, ref[2], expect_line))
    for t in THREADS:
        got = run(path, t, extra)
        if got != ref:
            failures.append("%s: --threads %d differs from --threads 1 (exit %d vs %d)\n%s\n%s"
                            % (label, t, got[0], ref[0], got[2].decode()[:300],
                               ref[2].decode()[:300]))


def main():
    with tempfile.TemporaryDirectory() as d:
        good = os.path.join(d, "good.csv")
        rows = make_rows(1, 6000)
        write(good, rows)
        same_as_one(good, "good", expect_rc=0)
        same_as_one(good, "good, rfm11", extra=["--segments", "rfm11"], expect_rc=0)
        # Line endings in few quoted fields: most cuts hold.
        few = os.path.join(d, "few.csv")
        write(few, make_rows(5, 8000, endings_every=97), 5)
        same_as_one(few, "few quoted line endings", expect_rc=0)

        # A quoted field longer than a chunk: every cut in it is inside quotes.
        big = os.path.join(d, "big.csv")
        rows = make_rows(2, 3000, big_at={1500, 1501, 2700})
        write(big, rows, 2)
        same_as_one(big, "long quoted fields", expect_rc=0)

        # Only a few rows: chunks may be fewer than threads, or none.
        small = os.path.join(d, "small.csv")
        write(small, make_rows(3, 3))
        same_as_one(small, "three rows", expect_rc=0)
        header_only = os.path.join(d, "header.csv")
        write(header_only, [])
        same_as_one(header_only, "header only", expect_rc=0)

        # Data errors: in a late chunk, in two chunks (the first is the one
        # reported), in the first chunk; a malformed record late.
        rows = make_rows(4, 6000, endings_every=31)
        for label, bad in [("late bad amount", [5500]), ("two bad amounts", [2500, 5500]),
                           ("early bad amount", [40])]:
            rr = [list(r) for r in rows]
            for b in bad:
                rr[b][2] = "12.3x"
            path = os.path.join(d, "bad.csv")
            starts = write(path, rr, 4)
            same_as_one(path, label, expect_rc=1, expect_line=starts[bad[0]])
        rr = [list(r) for r in rows]
        rr[4800] = rr[4800] + ["extra"]
        path = os.path.join(d, "fields.csv")
        starts = write(path, rr, 5)
        same_as_one(path, "extra field late", expect_rc=1, expect_line=starts[4800])
        rr = [list(r) for r in rows]
        rr[5000][0] = ""
        starts = write(path, rr, 6)
        same_as_one(path, "missing id late", expect_rc=1, expect_line=starts[5000])
        same_as_one(path, "missing id dropped", extra=["--drop-missing-id"], expect_rc=0)
        rr[5100][1] = "2030-01-01"
        starts = write(path, rr, 7)
        same_as_one(path, "after --as-of late", extra=["--drop-missing-id"], expect_rc=1,
                    expect_line=starts[5100])

    if RETAIL and os.path.exists(RETAIL):
        args = ["--id-col", "CustomerID", "--ts-col", "InvoiceDate", "--qty-col", "Quantity",
                "--price-col", "UnitPrice", "--order-col", "InvoiceNo", "--drop-missing-id"]
        outs = []
        for t in [1, 2, 3]:
            p = subprocess.run([PC, "rfm", "--as-of", "2011-12-10", "--threads", str(t)] + args
                               + [RETAIL], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               check=False)
            outs.append((p.returncode, p.stdout, p.stderr))
        if outs[0][0] != 0 or any(o != outs[0] for o in outs):
            failures.append("Online Retail: --threads 2/3 differ from 1 (or failed)")
    else:
        print("Online Retail not available: that case skipped")

    if failures:
        print("\n".join(failures))
        return 1
    print("rfm --threads: output byte-identical to one thread in every case")
    return 0


if __name__ == "__main__":
    sys.exit(main())
