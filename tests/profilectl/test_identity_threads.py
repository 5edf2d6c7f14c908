#!/usr/bin/env python3
"""`profilectl identity --threads N` gives the bytes `--threads 1` gives.

Usage: test_identity_threads.py PROFILECTL

With N threads the command reads its file in chunks (--chunk-size bytes):
one chunk starts where the one before ended, the others at guessed line
starts that are kept only when they were right. The files below put quoted
fields full of line endings (LF and CRLF), commas and doubled quotes on
every chunk boundary (chunk sizes down to one byte), a quoted field longer
than many chunks, empty lines, a byte order mark at the start of the file
and one at the start of a record in the middle (data there, not a mark),
and data errors in the first, a late and several chunks: a bad timestamp, a
field count, a quote inside an unquoted field (which throws any quote
counting off), an unterminated quote at the end, a source the graph refuses
(found when the event is applied, after the rows before it). For every file
stdout, stderr and the exit status must equal the one-thread run, and the
line an error names is checked against the line counted here. The events
are applied in time order within windows (--time-window): every window size,
file order (0) included, must give those same bytes too.
"""
import csv
import io
import os
import random
import subprocess
import sys
import tempfile

PC = sys.argv[1]
THREADS = [2, 3, 4, 7]
CHUNKS = [1, 7, 100, 999, 4096, 1 << 20]
# LP_TEST_QUICK (the sanitizer setup, emulated cross builds): two thread
# counts and every other chunk size above one byte, the largest kept (a
# one-byte chunk costs seconds a run there); the native builds run the
# whole matrix.
QUICK = os.environ.get("LP_TEST_QUICK", "0") not in ("", "0")
if QUICK:
    THREADS = [2, 7]


def chunk_sizes(chunks):
    if not QUICK or len(chunks) <= 2:
        return chunks
    return sorted(set([c for c in chunks if c > 1][::2] + [chunks[-1]]))


failures = []
runs = 0

HEADER = ["user_id", "ts", "source", "email", "phone", "cookie"]


def run(path, threads, chunk, extra=(), stdin=None):
    global runs
    runs += 1
    args = [PC, "identity", "--threads", str(threads), "--chunk-size", str(chunk)] + list(extra)
    args.append(path)
    data = None
    if stdin:
        with open(stdin, "rb") as f:
            data = f.read()
    p = subprocess.run(args, input=data, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       check=False)
    return p.returncode, p.stdout, p.stderr


def quoted(rng, big=False):
    """A quoted value with commas, doubled quotes and line endings."""
    pieces = ["a", "b", ",", '""', " ", "\n", "\r\n", "xyz" * 5]
    n = rng.randrange(4000 if big else 12)
    return '"' + "".join(rng.choice(pieces) for _ in range(n)) + '"'


def make_rows(seed, n, big_at=()):
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        person = rng.randrange(n // 4 + 1)
        user = "u%05d" % person if rng.random() < 0.4 else ""
        email = ("P%d@Example.com" % person) if rng.random() < 0.6 else ""
        phone = ("+44 7900 %06d" % person) if rng.random() < 0.3 else ""
        cookie = ("ck-%d" % rng.randrange(n)) if rng.random() < 0.5 else ""
        if rng.random() < 0.15:
            cookie = quoted(rng, big=i in big_at)  # quoted identifiers with line endings
        elif i in big_at:
            cookie = quoted(rng, big=True)
        source = quoted(rng) if rng.random() < 0.2 else rng.choice(["web", "crm", "store", ""])
        ts = "%d" % (1700000000 + rng.randrange(10 ** 7)) if rng.random() < 0.7 else \
            "2024-%02d-%02dT10:00:00Z" % (1 + rng.randrange(12), 1 + rng.randrange(28))
        rows.append([user, ts, source, email, phone, cookie])
    return rows


def write(path, rows, seed=0, bom=False):
    """Mixed LF/CRLF, some empty lines. Returns each row's first line."""
    rng = random.Random(seed)
    out = [("\ufeff" if bom else "") + ",".join(HEADER) + "\n"]
    line = 2
    starts = []
    for r in rows:
        if rng.random() < 0.03:
            out.append("\r\n" if rng.random() < 0.5 else "\n")
            line += 1
        starts.append(line)
        rec = ",".join(r) + ("\r\n" if rng.random() < 0.3 else "\n")
        out.append(rec)
        line += rec.count("\n")
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write("".join(out))
    return starts


def same_as_one(path, label, extra=(), expect_rc=None, expect_line=None, chunks=CHUNKS):
    ref = run(path, 1, 1 << 20, extra)
    if expect_rc is not None and ref[0] != expect_rc:
        failures.append("%s: exit %d, expected %d: %s" % (label, ref[0], expect_rc,
                                                         ref[2].decode(errors="replace")))
        return
    if expect_line is not None and (":%d: " % expect_line).encode() not in ref[2]:
        failures.append("%s: message %r does not name line %d" % (label, ref[2], expect_line))
    for t in THREADS:
        for c in chunk_sizes(chunks):
            got = run(path, t, c, extra)
            if got != ref:
                failures.append("%s: --threads %d --chunk-size %d differs from one thread "
                                "(exit %d vs %d)\n%s\n%s" % (
                                    label, t, c, got[0], ref[0],
                                    got[2].decode(errors="replace")[:300],
                                    ref[2].decode(errors="replace")[:300]))
                return


WINDOWS = [0, 1, 7, 1000]


def same_for_windows(path, label, extra=(), expect_line=None):
    ref = run(path, 1, 1 << 20, extra)
    if expect_line is not None and (":%d: " % expect_line).encode() not in ref[2]:
        failures.append("%s: message %r does not name line %d" % (label, ref[2], expect_line))
    for w in WINDOWS:
        for t in (1, 2):
            got = run(path, t, 4096, list(extra) + ["--time-window", str(w)])
            if got != ref:
                failures.append("%s: --time-window %d --threads %d differs from the default "
                                "(exit %d vs %d)\n%s\n%s" % (
                                    label, w, t, got[0], ref[0],
                                    got[2].decode(errors="replace")[:300],
                                    ref[2].decode(errors="replace")[:300]))
                return


def main():
    with tempfile.TemporaryDirectory() as d:
        good = os.path.join(d, "good.csv")
        rows = make_rows(1, 3000)
        write(good, rows, 1, bom=True)
        same_as_one(good, "good", expect_rc=0)
        same_as_one(good, "good, --raw", extra=["--raw"], expect_rc=0, chunks=[1, 100, 4096])
        same_for_windows(good, "good")
        same_for_windows(good, "good, --raw", extra=["--raw"])
        for extra in ([], ["--raw"]):
            ref = run(good, 2, 100, extra)
            out = list(csv.reader(io.StringIO(ref[1].decode("utf-8"), newline="")))[1:]
            if len(out) < 1000:
                failures.append("good %s: too few identifiers in the output (%d)" % (extra, len(out)))
            keys = [(r[0].encode(), r[1].encode()) for r in out]
            if keys != sorted(keys) or len(set(keys)) != len(keys):
                failures.append("good %s: rows not in (type, value) byte order" % extra)
        # --explain after a threaded read.
        same_as_one(good, "explain", extra=["--explain", "user_id:u00001", "email:p1@example.com"],
                    chunks=[7, 4096])

        # A record that starts with the bytes of a byte order mark: data.
        rr = [list(r) for r in rows[:400]]
        rr[200][0] = "\ufeffu-bom"
        path = os.path.join(d, "bom.csv")
        write(path, rr, 2)
        same_as_one(path, "mark at a record start", extra=["--raw"], expect_rc=0,
                    chunks=[1, 5, 50, 333])
        if "\ufeffu-bom".encode() not in run(path, 1, 1 << 20, ["--raw"])[1]:
            failures.append("mark at a record start: the value is not in the output")

        # Quoted fields longer than many chunks.
        big = os.path.join(d, "big.csv")
        write(big, make_rows(3, 1500, big_at={700, 701, 1400}), 3)
        same_as_one(big, "long quoted fields", expect_rc=0, chunks=[1, 100, 4096, 65536])

        # Tiny inputs: fewer chunks than threads, or none.
        small = os.path.join(d, "small.csv")
        write(small, make_rows(4, 3))
        same_as_one(small, "three rows", expect_rc=0)
        header = os.path.join(d, "header.csv")
        write(header, [])
        same_as_one(header, "header only", expect_rc=0)
        noids = os.path.join(d, "noids.csv")
        write(noids, [["", "1700000000", "web", "", "", ""]] * 50)
        same_as_one(noids, "rows without identifiers", expect_rc=0, chunks=[1, 30])

        # Data errors.
        rows = make_rows(5, 3000)
        for label, bad in [("late bad ts", [2700]), ("bad ts in three chunks", [900, 1800, 2700]),
                           ("early bad ts", [3])]:
            rr = [list(r) for r in rows]
            for b in bad:
                rr[b][1] = "2024-13-45"
            path = os.path.join(d, "bad.csv")
            starts = write(path, rr, 6)
            same_as_one(path, label, expect_rc=1, expect_line=starts[bad[0]])
        rr = [list(r) for r in rows]
        rr[2500] = rr[2500] + ["extra"]
        rr[2800][1] = "nope"
        path = os.path.join(d, "fields.csv")
        starts = write(path, rr, 7)
        same_as_one(path, "extra field late", expect_rc=1, expect_line=starts[2500])
        rr = [list(r) for r in rows]
        rr[1500][3] = 'ab"cd'  # a quote inside an unquoted field: quote parity is off after it
        rr[1600][1] = "bad"
        path = os.path.join(d, "stray.csv")
        starts = write(path, rr, 8)
        same_as_one(path, "quote inside an unquoted field", expect_rc=1,
                    expect_line=starts[1500])
        rr = [list(r) for r in rows]
        rr[2000][2] = "s" * 300  # longer than the graph takes: refused when applied
        rr[2600][1] = "bad"
        path = os.path.join(d, "source.csv")
        starts = write(path, rr, 9)
        same_as_one(path, "source refused by the graph", expect_rc=1, expect_line=starts[2000])
        same_for_windows(path, "source refused by the graph", expect_line=starts[2000])
        rr = [list(r) for r in rows]
        rr[2001][1] = "bad"  # a parse error right after the refused row: the refusal wins
        rr[2000][2] = "s" * 300
        starts = write(path, rr, 9)
        same_as_one(path, "refused row, then a bad ts", expect_rc=1, expect_line=starts[2000])
        same_for_windows(path, "refused row, then a bad ts", expect_line=starts[2000])
        rr = [list(r) for r in rows]
        starts = write(path, rr, 10)
        with open(path, "a", encoding="utf-8", newline="") as f:
            f.write('u1,1700000000,"web\nno end')
        same_as_one(path, "unterminated quote at the end", expect_rc=1)

        # Standard input is read on one thread whatever --threads says.
        ref = run(good, 1, 1 << 20)
        for t in [2, 4]:
            if run("-", t, 100, stdin=good) != ref:
                failures.append("standard input with --threads %d differs" % t)

        # The demo generator's data.
        demo = os.path.join(d, "demo")
        p = subprocess.run([PC, "demo", "--people", "3000", "--out-dir", demo],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
        if p.returncode != 0:
            failures.append("demo failed: %s" % p.stderr.decode(errors="replace"))
        else:
            same_as_one(os.path.join(demo, "events.csv"), "demo events",
                        extra=["--rules", os.path.join(demo, "rules.ini")], expect_rc=0,
                        chunks=[100, 8192, 1 << 20])
            same_for_windows(os.path.join(demo, "events.csv"), "demo events, windows",
                             extra=["--rules", os.path.join(demo, "rules.ini")])

    if failures:
        print("\n".join(failures))
        return 1
    print("identity --threads: output byte-identical to one thread in every case (%d runs)" % runs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
