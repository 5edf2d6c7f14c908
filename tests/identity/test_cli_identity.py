#!/usr/bin/env python3
"""End-to-end test of `profilectl identity`.

Usage: test_cli_identity.py PROFILECTL

The expected partitions were worked out by hand from the rules in
docs/identity.md (canonical order by timestamp; user_id unique; the
anchor is the highest-priority identifier). Profile ids are keyed hashes,
so the test checks which identifiers share an id, not the numbers, and
that every permutation of the input rows gives byte-identical output.
"""
import os
import random
import subprocess
import sys
import tempfile

EXE = os.path.abspath(sys.argv[1])
failures = []

HEADER = "ts,source,user_id,email,phone,device_id\n"
ROWS = [
    "2024-01-01T10:00:00Z,web,,Ann@Example.org,,dev-A\n",
    "1704110400,app,user-ann,,,dev-a\n",               # 12:00
    "2024-01-01T13:00:00Z,store,user-ann,,(020) 7946 0958,\n",
    "2024-01-01T09:00:00Z,web,,bob@example.org,,dev-b\n",
    "2024-01-01T11:30:00Z,app,user-bob,,,dev-a\n",
    "2024-01-01T08:00:00Z,crm,user-cy,cy@example.org,,null\n",
]
RULES = """# example rules
[type phone]
country_code = 44
[type device_id]
limit = 3
block = KIOSK-1
[graph]
quarantine_after = 5
"""

# In canonical order: cy's row (null is blocked); bob's e-mail + dev-b;
# ann's e-mail + dev-a; user-bob's row joins dev-a's profile (no user id
# there yet); user-ann's row cannot join dev-a (user-bob is there: refused);
# user-ann + phone.
GROUPS = [
    {"device_id,dev-a", "email,ann@example.org", "user_id,user-bob"},
    {"device_id,dev-b", "email,bob@example.org"},
    {"email,cy@example.org", "user_id,user-cy"},
    {"phone,+442079460958", "user_id,user-ann"},
]
SUMMARY = ("profilectl identity: 6 rows, 6 events, 9 identifiers, 4 profiles, 5 merges, "
           "1 conflicts refused, 1 blocked, 0 invalid, 0 quarantined\n")


def run(args, cwd):
    p = subprocess.run([EXE, "identity"] + args, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, cwd=cwd, timeout=60)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def check(name, got, want):
    if got != want:
        failures.append(f"{name}:\n  got:  {got!r}\n  want: {want!r}")


def groups_of(out):
    lines = out.splitlines()
    check("csv header", lines[0], "type,value,profile_id")
    by_pid = {}
    for line in lines[1:]:
        t, v, pid = line.split(",")
        by_pid.setdefault(pid, set()).add(f"{t},{v}")
    return sorted(by_pid.values(), key=lambda s: sorted(s))


def main():
    with tempfile.TemporaryDirectory() as d:
        with open(os.path.join(d, "rules.ini"), "w") as f:
            f.write(RULES)

        def write(rows, name="ev.csv"):
            with open(os.path.join(d, name), "w") as f:
                f.write(HEADER + "".join(rows))
            return name

        write(ROWS)
        rc, raw_out, err = run(["--rules", "rules.ini", "--raw", "ev.csv"], d)
        check("raw exit", rc, 0)
        check("summary", err, SUMMARY)
        check("partition", groups_of(raw_out), sorted(GROUPS, key=lambda s: sorted(s)))
        # sorted by type then value
        body = raw_out.splitlines()[1:]
        check("sorted", body, sorted(body, key=lambda l: (l.split(",")[0], l.split(",")[1])))
        rc, hashed_out, _ = run(["--rules", "rules.ini", "ev.csv"], d)
        check("hashed exit", rc, 0)
        check("hashed rows", len(hashed_out.splitlines()), 10)
        for line in hashed_out.splitlines()[1:]:
            check("hash width", len(line.split(",")[1]), 32)
        # Any permutation of the rows: the same bytes.
        rng = random.Random(7)
        for i in range(20):
            rows = ROWS[:]
            rng.shuffle(rows)
            write(rows, "shuffled.csv")
            for args, want in ((["--raw"], raw_out), ([], hashed_out)):
                rc, out, _ = run(["--rules", "rules.ini"] + args + ["shuffled.csv"], d)
                check(f"permutation {i} {args}", (rc, out), (0, want))
        # Explain
        rc, out, _ = run(["--rules", "rules.ini", "--raw", "--explain", "email:ann@example.org",
                          "user_id:user-bob", "ev.csv"], d)
        check("explain", (rc, out), (0,
              "step,from_type,from,to_type,to,ts,source\n"
              "1,email,ann@example.org,device_id,dev-a,2024-01-01T10:00:00Z,web\n"
              "2,device_id,dev-a,user_id,user-bob,2024-01-01T11:30:00Z,app\n"))
        rc, out, err = run(["--rules", "rules.ini", "--explain", "email:ann@example.org",
                            "user_id:user-ann", "ev.csv"], d)
        check("explain apart", rc, 1)
        check("explain apart message", "different profiles" in err, True)
        # Errors
        rc, _, err = run(["--bogus", "ev.csv"], d)
        check("unknown option", rc, 2)
        rc, _, err = run([], d)
        check("missing file", rc, 2)
        rc, _, err = run(["--explain", "email:x", "ev.csv"], d)
        check("explain needs two", rc, 2)
        with open(os.path.join(d, "nots.csv"), "w") as f:
            f.write("source,email\nweb,a@b.com\n")
        rc, _, err = run(["nots.csv"], d)
        check("no ts column", (rc, "no 'ts' column" in err), (1, True))
        with open(os.path.join(d, "badts.csv"), "w") as f:
            f.write("ts,email\n2024-13-01,a@b.com\n")
        rc, _, err = run(["badts.csv"], d)
        check("bad ts", (rc, "badts.csv:2: ts:" in err), (1, True))
        with open(os.path.join(d, "bad.ini"), "w") as f:
            f.write("[type email]\nlimit = many\n")
        rc, _, err = run(["--rules", "bad.ini", "ev.csv"], d)
        check("bad rules", (rc, "bad.ini:2:" in err), (1, True))
        # Rules files explain themselves: FILE:LINE, what is wrong, what is allowed.
        long_name = "t" * 64
        for text, want in [
            ("[type email]\nnormalizer = bogus\n",
             "bad.ini:2: normalizer = 'bogus' is unknown; allowed: generic, fold, email, "
             "email-gmail, phone\n"),
            ("[type email]\nlimit = 0\n", "bad.ini:2: limit = 0 is outside the allowed 1..255\n"),
            ("[type email]\nlimit = many\n",
             "bad.ini:2: limit = 'many' is not a whole number; allowed: 1..255\n"),
            ("# c\n[graph]\nquarantine_after = 99\n",
             "bad.ini:3: quarantine_after = 99 is outside the allowed 1..63\n"),
            ("[graph]\ndefault_blocklist = maybe\n",
             "bad.ini:2: default_blocklist = 'maybe' is not a yes/no value; allowed: yes, no, "
             "true, false, 1, 0\n"),
            ("[graph]\nbogus = 1\n",
             "bad.ini:2: unknown key 'bogus' in [graph]; allowed: quarantine_after, "
             "default_blocklist\n"),
            ("[type email]\ncolour = red\n",
             "bad.ini:2: unknown key 'colour' in [type email]; allowed: priority, limit, unique, "
             "normalizer, country_code, block\n"),
            ("[type email]\nunique = 2\n",
             "bad.ini:2: unique = '2' is not a yes/no value; allowed: yes, no, true, false, 1, 0\n"),
            ("[type phone]\ncountry_code = 1000\n",
             "bad.ini:2: country_code = 1000 is outside the allowed 1..999\n"),
            ("[type email]\npriority = 99999999999\n",
             "bad.ini:2: priority = 99999999999 is outside the allowed -2147483648..2147483647\n"),
            ("limit = 3\n",
             "bad.ini:1: 'limit = ...' before any section; put it under [type NAME] or [graph]\n"),
            ("[types email]\n",
             "bad.ini:1: unknown section '[types email]'; allowed: [graph] and [type NAME]\n"),
            ("[graph\n",
             "bad.ini:1: a section header is '[graph]' or '[type NAME]' alone on its line\n"),
            ("[type %s]\n" % long_name, "bad.ini:1: type name of 64 bytes; allowed: 1..63 bytes\n"),
            ("[type email]\njust words\n",
             "bad.ini:2: expected 'key = value' or a [section], not 'just words'\n"),
            ("[type email]\nblock =\n", "bad.ini:2: block value of 0 bytes; allowed: 1..1024 bytes\n"),
            ("[type email]\n# " + "x" * 3000 + "\n", "bad.ini:2: line longer than 2046 bytes\n"),
        ]:
            with open(os.path.join(d, "bad.ini"), "w") as f:
                f.write(text)
            rc, out, err = run(["--rules", "bad.ini", "ev.csv"], d)
            check("rules " + text[:40], (rc, out, err), (1, "", "profilectl: error: " + want))
        many = "".join("[type t%d]\n" % i for i in range(40))
        with open(os.path.join(d, "bad.ini"), "w") as f:
            f.write(many)
        rc, _, err = run(["--rules", "bad.ini", "ev.csv"], d)
        check("too many types", (rc, "more than 32 identifier types" in err), (1, True))
        rc, _, err = run(["--rules", "absent.ini", "ev.csv"], d)
        check("absent rules", (rc, "cannot open the rules file 'absent.ini': No such file" in err),
              (1, True))
        rc, _, err = run(["missing.csv"], d)
        check("missing input", (rc, "cannot open 'missing.csv': No such file or directory" in err),
              (1, True))
        rc, _, err = run(["--key", "", "ev.csv"], d)
        check("empty key", (rc, "--key must be 1 to 64 bytes" in err), (2, True))
        rc, _, err = run(["--key", "k" * 65, "ev.csv"], d)
        check("long key", rc, 2)
        rc, _, err = run(["--explain", "email", "user_id:x", "ev.csv"], d)
        check("explain no colon", (rc, "--explain expects TYPE:VALUE" in err), (2, True))
        rc, _, err = run(["--explain", "nosuch:x", "user_id:x", "ev.csv"], d)
        check("explain unknown type", (rc, "unknown identifier type 'nosuch'" in err), (1, True))
        rc, _, err = run(["ev.csv", "ev.csv"], d)
        check("two files", rc, 2)
        # A chain longer than any fixed buffer: 40 links n0-m0-n1-m1-...-n40 (80 steps).
        with open(os.path.join(d, "chain.csv"), "w") as f:
            f.write("ts,cn,cm\n")
            for i in range(40):
                f.write("%d,n%d,m%d\n%d,n%d,m%d\n" % (2 * i, i, i, 2 * i + 1, i + 1, i))
        rc, out, err = run(["--raw", "--explain", "cn:n0", "cn:n40", "chain.csv"], d)
        lines = out.splitlines()
        check("long chain", (rc, len(lines), lines[1].split(",")[:5], lines[-1].split(",")[:5]),
              (0, 81, ["1", "cn", "n0", "cm", "m0"], ["80", "cm", "m39", "cn", "n40"]))
        # One value over the length limit is counted invalid, not fatal for the file.
        with open(os.path.join(d, "longval.csv"), "w") as f:
            f.write("ts,email,cookie\n1,a@b.com,%s\n2,a@b.com,c1\n" % ("x" * 1025))
        rc, out, err = run(["--raw", "longval.csv"], d)
        check("long value", (rc, "1 invalid" in err, "cookie,c1," in out), (0, True, True))
        # Values that need quoting are quoted (RFC 4180).
        with open(os.path.join(d, "quote.csv"), "w") as f:
            f.write('ts,user_id\n1,"a,b"\n2,"q""x"\n')
        rc, out, err = run(["--raw", "quote.csv"], d)
        check("quoted values", (rc, '\nuser_id,"a,b",' in out, '\nuser_id,"q""x",' in out),
              (0, True, True))
        # Column problems.
        with open(os.path.join(d, "longcol.csv"), "w") as f:
            f.write("ts,%s\n1,x\n" % long_name)
        rc, _, err = run(["longcol.csv"], d)
        check("long column", (rc, "longcol.csv:1: column 2: identifier column names must be 1 to "
                                  "63 bytes" in err), (1, True))
        with open(os.path.join(d, "manycols.csv"), "w") as f:
            f.write("ts," + ",".join("c%d" % i for i in range(70)) + "\n")
        rc, _, err = run(["manycols.csv"], d)
        check("many columns", rc, 1)
        with open(os.path.join(d, "short.csv"), "w") as f:
            f.write("ts,email\n1\n")
        rc, _, err = run(["short.csv"], d)
        check("short row", (rc, "short.csv:2: expected 2 fields, found 1" in err), (1, True))
        # Bad bytes are invalid values, not a failed file: one 1,025-byte
        # cookie and one e-mail that is not UTF-8; the rows' other
        # identifiers still apply.
        with open(os.path.join(d, "badbytes.csv"), "wb") as f:
            f.write(b"ts,user_id,email,device_id\n1,u-1,ok@example.org," + b"c" * 1025 + b"\n"
                    b"2,u-2,a\xff@b\xc0.com,dev-2\n")
        rc, out, err = run(["--raw", "badbytes.csv"], d)
        check("bad bytes", (rc, "2 invalid" in err, "user_id,u-1" in out,
                            "email,ok@example.org" in out, "device_id,dev-2" in out),
              (0, True, True, True, True))
        # Without rules: built-in defaults by column name (phone has no
        # default country, so the national number is invalid).
        rc, out, err = run(["--raw", "ev.csv"], d)
        check("defaults", (rc, "1 invalid" in err, "user_id,user-ann" in out), (0, True, True))

    if failures:
        print("\n".join(failures))
        sys.exit(1)
    print("profilectl identity: all checks passed")


main()
