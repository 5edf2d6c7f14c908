#!/usr/bin/env python3
"""End-to-end tests of `profilectl tags` and `profilectl audience` on small
files whose expected output is worked out by hand in the comments.

Usage: test_tags_cli.py PROFILECTL
"""
import os
import subprocess
import sys
import shutil
import tempfile

EXE = sys.argv[1]
TMP = tempfile.mkdtemp(prefix="tags_cli_")
FAILS = []


def write(name, text):
    path = os.path.join(TMP, name)
    with open(path, "w", newline="") as f:
        f.write(text)
    return path


def run(*args):
    p = subprocess.run([EXE, *args], capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr


def expect(cond, what):
    if not cond:
        FAILS.append(what)
        print("FAIL:", what)


TAX = write("tax.ini", """# demo taxonomy
[tag vip]
category = value/crm

[tag high_value]
category = value/rfm
rule = spend >= 100 and not churned

[tag churned]
type = flag
expires_after = 90d

[tag city]
type = string
merge = latest

[tag ltv]
type = decimal
scale = 2
rule = spend

[tag email_ok]
consent = email

[tag sms_target]
purpose = sms
rule = vip
""")
PROF = write("prof.csv", "profile_id,spend,segment\n1,150.00,gold\n2,99.99,silver\n10,100,gold\n3,,bronze\n")
FACTS = write("facts.csv", """profile_id,tag,value,expires_at
1,vip,1,
2,vip,1,2025-01-01
1,city,Paris,
3,city,"Lyon, FR",
10,churned,1,2025-06-01T00:00:00Z
1,email_ok,1,
""")
INPUTS = ["--taxonomy", TAX, "--profiles", PROF, "--facts", FACTS]

# Wide table at 2024-12-01: rows by profile_id as text (1, 10, 2, 3).
#   1: vip, spend 150 >= 100 and not churned -> high_value, city Paris, ltv 150.00
#   10: churned until 2025-06-01 -> no high_value although spend 100
#   2: vip until 2025-01-01; spend 99.99 < 100
#   3: no spend -> no ltv; city with a comma is quoted
rc, out, err = run("tags", *INPUTS, "--as-of", "2024-12-01")
expect(rc == 0, "tags rc %d %s" % (rc, err))
expect(out == "profile_id,vip,high_value,churned,city,ltv,email_ok,sms_target\n"
       "1,1,1,,Paris,150.00,1,1\n"
       "10,,,1,,100.00,,\n"
       "2,1,,,,99.99,,1\n"
       "3,,,,\"Lyon, FR\",,,\n", "wide table:\n" + out)
expect("7 tags, 4 profiles" in err, "summary: " + err)
# Without --as-of the reference is the epoch: nothing has expired, and the
# output does not depend on the clock (same table as at 2024-12-01 here).
rc2, out2, err2 = run("tags", *INPUTS)
expect(rc2 == 0 and out2 == out, "default as_of:\n" + out2)

# Long list at 2025-02-01: 2's vip has expired (as_of >= expires_at).
rc, out, err = run("tags", *INPUTS, "--as-of", "2025-02-01", "--format", "long",
                   "--save", os.path.join(TMP, "st.bin"))
expect(rc == 0, "long rc %d %s" % (rc, err))
expect(out == "profile_id,tag,value\n"
       "1,city,Paris\n1,email_ok,1\n1,high_value,1\n1,ltv,150.00\n1,sms_target,1\n1,vip,1\n"
       "10,churned,1\n10,ltv,100.00\n"
       "2,ltv,99.99\n"
       "3,city,\"Lyon, FR\"\n", "long list:\n" + out)

STATE = os.path.join(TMP, "st.bin")
# The saved state answers as the inputs do, at any as_of.
for q, when, want in [
        ("vip", "2024-12-01", "1\n2\n"),
        ("vip", "2025-02-01", "1\n"),
        ("vip | churned", "2025-02-01", "1\n10\n"),
        ("not vip", "2025-02-01", "10\n2\n3\n"),
        ("segment in (\"gold\", \"bronze\") & !churned", "2025-07-01", "1\n10\n3\n"),
        ("high_value", "2025-07-01", "1\n10\n"),      # 10's churned expired
        ("city == \"Lyon, FR\"", "2024-12-01", "3\n"),
        ("spend > 99.995", "2024-12-01", "1\n10\n"),
]:
    for src in (["--state", STATE], INPUTS):
        rc, out, err = run("audience", *src, "--query", q, "--as-of", when)
        expect(rc == 0 and out == want, "audience %s %s at %s: rc %d out %r err %s" % (src[0], q, when, rc, out, err))
    rc, out, err = run("audience", "--state", STATE, "--query", q, "--as-of", when, "--count")
    expect(rc == 0 and out == "%d\n" % want.count("\n"), "count %s: %r %s" % (q, out, err))

# Consent: sms_target has purpose sms and nobody holds an sms consent tag;
# --purpose email keeps profiles holding email_ok.
rc, out, err = run("audience", "--state", STATE, "--query", "sms_target", "--as-of", "2024-12-01")
expect(rc == 0 and out == "", "no consent for sms: %r %s" % (out, err))
rc, out, err = run("audience", "--state", STATE, "--query", "vip", "--purpose", "email", "--as-of", "2024-12-01")
expect(rc == 0 and out == "1\n", "purpose email: %r %s" % (out, err))

# Minimum size: refused, exit 1, no count printed.
rc, out, err = run("audience", "--state", STATE, "--query", "vip", "--as-of", "2024-12-01", "--min-size", "3", "--count")
expect(rc == 1 and out == "" and "minimum size of 3" in err, "min-size: rc %d %r %s" % (rc, out, err))
rc, out, err = run("audience", "--state", STATE, "--query", "vip", "--as-of", "2024-12-01", "--min-size", "2", "--count")
expect(rc == 0 and out == "2\n", "min-size met: %r" % out)

# Explain.
rc, out, err = run("audience", "--state", STATE, "--query", "vip and not churned", "--as-of", "2025-02-01",
                   "--explain", "2")
expect(rc == 0 and "vip: false; value expires_at 1735689600 (expired at as_of 1738368000)" in out
       and "profile 2 is not in the audience" in out, "explain: %r %s" % (out, err))

# Usage errors (2) and data errors naming FILE:LINE (1).
for args, why in [
        (["audience", "--state", STATE, "--query", "vip &"], "syntax"),
        (["audience", "--state", STATE, "--query", "nosuch"], "unknown name"),
        (["audience", "--query", "vip"], "no input"),
        (["audience", "--state", STATE, "--taxonomy", TAX, "--query", "vip"], "two inputs"),
        (["tags", "--taxonomy", TAX], "missing --profiles"),
        (["tags", *INPUTS, "--format", "tall"], "bad format"),
]:
    rc, out, err = run(*args)
    expect(rc == 2, "%s: rc %d %s" % (why, rc, err))

bad_tax = write("bad.ini", "[tag a]\ntype = flag\n\n[tag b]\ntype = number\n")
rc, out, err = run("tags", "--taxonomy", bad_tax, "--profiles", PROF)
expect(rc == 1 and bad_tax + ":5:" in err, "bad type: %s" % err)
bad_rule = write("badrule.ini", "[tag a]\n\n[tag b]\nrule = a and spend > \"x\"\n")
rc, out, err = run("tags", "--taxonomy", bad_rule, "--profiles", PROF)
expect(rc == 1 and bad_rule + ":3:" in err and "different types" in err, "bad rule: %s" % err)
cyc = write("cycle.ini", "[tag a]\nrule = b\n[tag b]\nrule = a\n")
rc, out, err = run("tags", "--taxonomy", cyc, "--profiles", PROF)
expect(rc == 1 and "depend on itself" in err, "cycle: %s" % err)
bad_facts = write("badfacts.csv", "profile_id,tag,value,expires_at\n1,vip,1,\n2,nosuch,1,\n")
rc, out, err = run("tags", "--taxonomy", TAX, "--profiles", PROF, "--facts", bad_facts)
expect(rc == 1 and bad_facts + ":3:" in err, "bad fact: %s" % err)
bad_val = write("badval.csv", "profile_id,tag,value,expires_at\n1,ltv,1.5,\n")
rc, out, err = run("tags", "--taxonomy", TAX, "--profiles", PROF, "--facts", bad_val)
expect(rc == 1 and bad_val + ":2:" in err and "computed" in err, "fact on a computed tag: %s" % err)
bad_id = write("badid.csv", "profile_id,spend\nx,1\n")
rc, out, err = run("tags", "--taxonomy", TAX, "--profiles", bad_id)
expect(rc == 1 and bad_id + ":2:" in err, "bad id: %s" % err)
clash = write("clash.ini", "[tag spend]\n")
rc, out, err = run("tags", "--taxonomy", clash, "--profiles", PROF)
expect(rc == 1 and clash + ":1:" in err, "name clash: %s" % err)

if FAILS:
    sys.exit(1)
print("ok")
shutil.rmtree(TMP)  # kept only when a check failed, for a look at its files
