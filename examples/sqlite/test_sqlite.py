#!/usr/bin/env python3
"""Runs examples/sqlite/profiles_sqlite on a `profilectl run` of the demo
data, then checks the database with Python's own sqlite3 module: the BLOB
holds exactly the saved store, the profiles table holds every row of
profiles.csv, and erasing a person rewrites the BLOB without them.

Usage: test_sqlite.py PROFILES_SQLITE PROFILECTL
"""
import csv
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile

EXAMPLE, PC = sys.argv[1:3]
TMP = tempfile.mkdtemp(prefix="sqlite_example_")
KEY = "sqlite example key"


def check(cond, what):
    if not cond:
        print("FAIL:", what)
        sys.exit(1)
    print("ok:", what)


def sh(*argv):
    p = subprocess.run(list(argv), capture_output=True, text=True)
    if p.returncode != 0:
        print(p.stdout, p.stderr)
    return p


gen, out = os.path.join(TMP, "gen"), os.path.join(TMP, "out")
check(sh(PC, "demo", "--people", "300", "--seed", "9", "--out-dir", gen).returncode == 0,
      "demo data")
r = sh(PC, "run", "--events", os.path.join(gen, "events.csv"), "--orders",
       os.path.join(gen, "orders.csv"), "--as-of", "2024-12-31", "--raw", "--key", KEY,
       "--out-dir", out)
check(r.returncode == 0, "profilectl run --raw")
state, profiles = os.path.join(out, "state.lps"), os.path.join(out, "profiles.csv")
db = os.path.join(TMP, "crm.db")

r = sh(EXAMPLE, db, KEY, state, profiles)
check(r.returncode == 0, "the example runs")
print(r.stdout)
check("the same bytes" in r.stdout, "the store read back from the BLOB saves the same bytes")
with open(state, "rb") as f:
    saved = f.read()
con = sqlite3.connect(db)
n, blob = con.execute("SELECT bytes, snapshot FROM store WHERE name = 'profiles'").fetchone()
check(n == len(saved) and bytes(blob) == saved, "the BLOB is byte for byte the run's state.lps")
with open(profiles, newline="") as f:
    rows = list(csv.DictReader(f))
check(con.execute("SELECT COUNT(*) FROM profiles").fetchone()[0] == len(rows),
      "the profiles table has every row of profiles.csv")
buyers = con.execute("SELECT COUNT(*) FROM profiles WHERE frequency > 0").fetchone()[0]
check(buyers == sum(1 for x in rows if int(x["frequency"]) > 0), "a CRM query counts the customers")
champs = con.execute("SELECT profile_id FROM profiles WHERE segment = 'champions' "
                     "ORDER BY clv DESC LIMIT 5").fetchall()
check(len(champs) > 0, "the champions with the highest CLV are one query away")
con.close()

ids = list(csv.DictReader(open(os.path.join(out, "identifiers.csv"), newline="")))
login = next(x for x in ids if x["type"] == "user_id")
victim = login["profile_id"]
values = [x["value"] for x in ids if x["profile_id"] == victim]
r = sh(EXAMPLE, db, KEY, state, profiles, "user_id:" + login["value"])
check(r.returncode == 0 and f"erased profile {victim}" in r.stdout, "the example erases a person")
con = sqlite3.connect(db)
blob = bytes(con.execute("SELECT snapshot FROM store WHERE name = 'profiles'").fetchone()[0])
check(not any(v.encode() in blob for v in values if len(v) >= 6),
      "the rewritten BLOB holds none of the person's identifier values")
check(con.execute("SELECT COUNT(*) FROM profiles WHERE profile_id = ?", (victim,)).fetchone()[0] == 0
      and con.execute("SELECT COUNT(*) FROM profiles").fetchone()[0] == len(rows) - 1,
      "their row left the profiles table, every other stays")
con.close()
erased = os.path.join(TMP, "erased.lps")
with open(erased, "wb") as f:
    f.write(blob)
ev = os.path.join(TMP, "events.csv")
od = os.path.join(TMP, "orders.csv")
with open(ev, "w") as f:
    f.write("ts,source,user_id,email,phone,device_id,cookie\n")
with open(od, "w") as f:
    f.write("order_id,ts,id_type,id,amount\n")
r = sh(PC, "run", "--events", ev, "--orders", od, "--as-of", "2024-12-31", "--key", KEY,
       "--state", erased, "--out-dir", os.path.join(TMP, "after"))
after = list(csv.DictReader(open(os.path.join(TMP, "after", "profiles.csv"), newline="")))
check(r.returncode == 0 and len(after) == len(rows) - 1 and victim not in {x["profile_id"] for x in after},
      "profilectl run reads the BLOB as a store, without the person")
shutil.rmtree(TMP)
print("sqlite example passed")
