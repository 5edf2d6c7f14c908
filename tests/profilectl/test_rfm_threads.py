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

A file is read on the direct path (ids and orders packed into 64 bits,
each chunk ingested into its own states, merged at the end); standard input
on the row-table path, which the direct path gives way to when an id or
order does not pack or the library refuses a batch. So every file is also
read from standard input, and the two must agree (the file name in
messages aside): ids that are prefixes of each other, longer than 8 bytes
or holding NUL, empty orders, amounts at many scales, and amounts that do
not fit the common scale or sum past the turnover limit in any chunk.
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


def run(path, threads, extra=(), stdin=False):
    args = [PC, "rfm", "--as-of", AS_OF, "--id-col", "id", "--ts-col", "ts",
            "--order-col", "order", "--threads", str(threads)] + list(extra)
    if not stdin:
        p = subprocess.run(args + [path], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           check=False)
        return p.returncode, p.stdout, p.stderr
    with open(path, "rb") as f:
        p = subprocess.run(args + ["-"], stdin=f, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, check=False)
    # Messages name the file as "-": name it as the file run does.
    return p.returncode, p.stdout, p.stderr.replace(b" -:", b" " + path.encode() + b":")


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
    got = run(path, 1, extra, stdin=True)
    if got != ref:
        failures.append("%s: standard input differs from the file (exit %d vs %d)\n%r\n%r"
                        % (label, got[0], ref[0], got[2][:300], ref[2][:300]))
    return ref


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

        # Ids the packing must order as bytes: prefixes, spaces, high bytes,
        # exactly 8 bytes; empty order ids; amounts with 0 to 5 places.
        rng = random.Random(9)
        ids = ["a", "a0", "ab", "a ", " a", "\u00e4", "\u00e4b", "zzzzzzzz", "zzzzzzz", "0",
               "00", "9", "A", "~~", "abcd", "abcde", "abcdef", "abc", "\u00ff\u00ff\u00ff\u00ff"]
        rr = []
        for i in range(4000):
            places = rng.randrange(5)
            amount = "%d" % rng.randrange(-50, 500)
            if places:
                amount += "." + "".join(rng.choice("0123456789") for _ in range(places))
            rr.append([rng.choice(ids), "2023-%02d-%02dT10:00:00Z" % (1 + rng.randrange(12),
                                                                     1 + rng.randrange(28)),
                       amount, rng.choice(["", "o1", "o2", "o%d" % rng.randrange(900)]),
                       "plain"])
        rr[3900][2] = "0.00001"  # the largest scale comes late
        path = os.path.join(d, "packed.csv")
        write(path, rr, 8)
        out = same_as_one(path, "ids in byte order, many scales", expect_rc=0)
        got = [line.split(b",")[0] for line in out[1].splitlines()[1:]]
        if got != sorted(got) or len(got) != len(ids):
            failures.append("packed ids: rows not in byte order of the ids: %r" % got)
        # Ids or orders that do not pack, from the first row or only late
        # (the direct path gives way mid-file, in one chunk or another).
        for label, col, at, value in [("long ids", 0, None, "customer-%05d"),
                                      ("one long id late", 0, 3700, "a-long-customer-id"),
                                      ("one long order early", 3, 30, "order-1234567"),
                                      ("NUL in an id late", 0, 3000, "a\x00b"),
                                      ("NUL in a 6-byte id", 0, 3100, "abc\x00de"),
                                      ("NUL ending an 8-byte order", 3, 2000, "o123456\x00")]:
            r2 = [list(r) for r in rr]
            for i, r in enumerate(r2):
                if at is None:
                    r[col] = value % (i % 97)
                elif i == at:
                    r[col] = value
            write(path, r2, 9)
            same_as_one(path, label, expect_rc=0)
        # Amounts that fit alone but not at the common scale: the first such
        # row in file order is named, wherever the larger scale comes from.
        for label, big_at, small_at in [("rescale overflow late", 3500, 100),
                                        ("rescale overflow early", 20, 3800)]:
            r2 = [list(r) for r in rr]
            for r in r2:
                r[2] = r[2].split(".")[0]
            r2[big_at][2] = "1000000000000000000"
            r2[big_at + 1][2] = "-1000000000000000000"
            r2[small_at][2] = "0.5"
            starts = write(path, r2, 10)
            same_as_one(path, label, expect_rc=1, expect_line=starts[big_at])
        # The turnover limit, passed only by rows in different chunks.
        r2 = [list(r) for r in rr]
        r2[10][2] = r2[3990][2] = "4611686018427387904"
        write(path, r2, 11)
        same_as_one(path, "turnover passed across chunks", expect_rc=1)

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
