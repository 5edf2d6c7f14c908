#!/usr/bin/env python3
"""End-to-end tests of `profilectl run` and `profilectl forget`.

A hand-made case whose figures are worked out in the comments, then the
demo generator's data: determinism, the daily increment (one run over
day 1 + day 2 gives the same bytes as day 1 then --state + day 2, by date
and by an arbitrary split of the rows), header-only inputs, --refit (kept models),
tags from a taxonomy and facts, rule-computed tags checked against the rules evaluated
in Python over the profiles' columns, erasure (the person leaves every output and the saved
bytes, and a replay of the inputs cannot bring them back), exit codes.

Usage: test_run.py PROFILECTL
"""
import csv
import io
import os
import random
import shutil
import stat
import subprocess
import sys
import tempfile
import threading

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "profiles"))
from prfs_payload import orders as saved_orders, saved_contains  # noqa: E402

EXE = sys.argv[1]
TMP = tempfile.mkdtemp(prefix="run_cli_")
PROFILE_COLUMNS = ("profile_id,identifiers,first_seen,last_seen,recency_days,frequency,"
                   "monetary,r,f,m,segment,lifecycle,p_alive,expected_purchases,clv,cluster")
OUTPUTS = ("profiles.csv", "identifiers.csv", "state.lps", "report.html")
VIEW_BLOCK_ROWS = 1024  # profiles per block of views in cmd_run.c


def path(*parts):
    return os.path.join(TMP, *parts)


def write(name, text):
    p = path(name)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, "w", newline="") as f:
        f.write(text)
    return p


# Under an emulator (meson's exe wrapper, e.g. qemu-user) a forked copy of
# a process with threads dies or hangs: every save there is in-process and
# the checks that need the child are left to native builds.
EMULATED = bool(os.environ.get("MESON_EXE_WRAPPER"))


def pc(*args, save=None):
    # save: PROFILECTL_TEST_SAVE for run's save ("in-process", "kill",
    # "exit"); the default saves in a child process
    env = dict(os.environ)
    env.pop("PROFILECTL_TEST_SAVE", None)
    if save is None and EMULATED:
        save = "in-process"
    if save is not None:
        env["PROFILECTL_TEST_SAVE"] = save
    return subprocess.run([EXE, *args], capture_output=True, text=True, env=env)


def check(cond, what):
    if not cond:
        print("FAIL:", what)
        sys.exit(1)
    print("ok:", what)


def run(out, events, orders, *extra, as_of="2024-12-31", save=None):
    r = pc("run", "--events", events, "--orders", orders, "--as-of", as_of,
           "--out-dir", path(out), *extra, save=save)
    if r.returncode != 0:
        print(r.stderr)
    return r


def read_bytes(out, name):
    with open(path(out, name), "rb") as f:
        return f.read()


def table(out, name="profiles.csv"):
    with open(path(out, name), newline="") as f:
        return list(csv.DictReader(f))


def same_outputs(a, b):
    return all(read_bytes(a, n) == read_bytes(b, n) for n in OUTPUTS)


# ---- a case worked out by hand ----
# Events: alice's login and e-mail seen together (one profile, 2 identifiers);
# bob's e-mail alone; carol's phone alone and never buys.
# Orders (as_of 2024-03-01):
#   alice: o1 2024-01-01 10.00 by login, o2 2024-02-20 25.50 by e-mail
#          (two lines of o2: 20.00 + 5.50 count as one order)
#          -> frequency 2, monetary 35.50, first 2024-01-01, last 2024-02-20 12:00,
#             recency 9.5 days, written as whole days: 9
#   bob:   o3 2024-02-29 12:00 -4.00 (a refund) -> frequency 1, monetary -4.00,
#          recency 0.5 days: 0
#   carol: prospect (no order): lifecycle "prospect", empty RFM cells
events = write("hand/events.csv",
               "ts,source,user_id,email,phone\n"
               "2024-01-01T09:00:00Z,web,alice,Alice@Example.com,\n"
               "2024-01-02T09:00:00Z,app,,bob@example.com,\n"
               "2024-01-03T09:00:00Z,store,,,+1 415 555 0100\n")
orders = write("hand/orders.csv",
               "order_id,ts,id_type,id,amount\n"
               "o1,2024-01-01T12:00:00Z,user_id,alice,10.00\n"
               "o2,2024-02-20T12:00:00Z,email,alice@example.com,20.00\n"
               "o2,2024-02-20T12:00:00Z,email,alice@example.com,5.50\n"
               "o3,2024-02-29T12:00:00Z,email,bob@example.com,-4\n")
r = run("hand-out", events, orders, "--raw", "--k", "0", as_of="2024-03-01")
check(r.returncode == 0, "run exits 0 on the hand-made case")
with open(path("hand-out", "profiles.csv"), newline="") as f:
    header = f.readline().rstrip("\n")
check(header == PROFILE_COLUMNS, "profiles.csv has the documented columns in order")
ids = table("hand-out", "identifiers.csv")
check([(x["type"], x["value"]) for x in ids] ==
      [("email", "alice@example.com"), ("email", "bob@example.com"), ("phone", "+14155550100"),
       ("user_id", "alice")],
      "identifiers.csv lists type,value sorted by type then value (normalised with --raw)")
pid = {x["value"]: x["profile_id"] for x in ids}
check(pid["alice"] == pid["alice@example.com"] and pid["alice"] != pid["bob@example.com"],
      "alice's login and e-mail are one profile, bob another")
rows = {x["profile_id"]: x for x in table("hand-out")}
check(len(rows) == 3, "three profiles")
a, b, c = rows[pid["alice"]], rows[pid["bob@example.com"]], rows[pid["+14155550100"]]
check((a["identifiers"], a["first_seen"], a["last_seen"], a["recency_days"], a["frequency"],
       a["monetary"]) == ("2", "2024-01-01T12:00:00Z", "2024-02-20T12:00:00Z", "9", "2", "35.50"),
      "alice: 2 identifiers, first/last order, 9 days, 2 orders, 35.50")
check((b["recency_days"], b["frequency"], b["monetary"]) == ("0", "1", "-4.00"),
      "bob: a refund counts as an order with negative spend")
check((c["lifecycle"], c["frequency"], c["r"], c["segment"], c["cluster"]) ==
      ("prospect", "0", "", "", ""), "carol is a prospect with empty RFM cells")
check(all(x["cluster"] == "" for x in rows.values()), "--k 0 leaves the cluster column empty")
check(r.stderr.count("\n") >= 2 and "4 order rows (4 kept" in r.stderr,
      "the summary on stderr counts the order rows")

# ---- the demo's data ----
g = pc("demo", "--people", "400", "--seed", "5", "--out-dir", path("gen"))
check(g.returncode == 0, "demo --out-dir writes the data set")
EV, OR = path("gen", "events.csv"), path("gen", "orders.csv")
r = run("full", EV, OR)
check(r.returncode == 0, "run exits 0 on the demo data")
for n in OUTPUTS:
    check(os.path.getsize(path("full", n)) > 0, f"run writes {n}")
for n in ("profiles.csv", "identifiers.csv"):
    c = pc("csv-check", path("full", n))
    check(c.returncode == 0 and "malformed: 0" in c.stdout, f"{n} is well-formed CSV")
full = table("full")
check(len({x["profile_id"] for x in full}) == len(full), "one row per profile")
check([int(x["profile_id"]) for x in full] == sorted(int(x["profile_id"]) for x in full),
      "rows ascend by profile_id")
idrows = table("full", "identifiers.csv")
check(all(len(x["value"]) == 32 and all(ch in "0123456789abcdef" for ch in x["value"])
          for x in idrows), "identifier values are keyed hashes in hex by default")
per = {}
for x in idrows:
    per[x["profile_id"]] = per.get(x["profile_id"], 0) + 1
check(all(per.get(x["profile_id"]) == int(x["identifiers"]) for x in full),
      "the identifiers column counts each profile's rows of identifiers.csv")
buyers = [x for x in full if int(x["frequency"]) > 0]
check(buyers and all(x["r"] and x["segment"] and x["cluster"] for x in buyers),
      "every customer has scores, a segment and a cluster")
check(all(0.0 <= float(x["p_alive"]) <= 1.0 for x in buyers if x["p_alive"]),
      "p_alive is a probability")
check(sum(1 for x in buyers if x["clv"]) > len(buyers) // 2, "most customers have a CLV")
with open(path("gen", "orders.csv"), newline="") as f:
    total = sum(round(float(x["amount"]) * 100) for x in csv.DictReader(f))
check(sum(round(float(x["monetary"]) * 100) for x in full) == total,
      "the profiles' monetary adds up to every order of the input")
html = read_bytes("full", "report.html").decode("utf-8")
for section in ("identity", "rfm", "lifecycle", "clv", "clusters", "tags"):
    check(f'<section id="{section}">' in html, f"the report has the {section} section")
check("<script" not in html and "http://" not in html and "https://" not in html,
      "the report has no script and nothing from the network")
check(html.count('<p class="what">') >= 8, "each figure has its sentence")
r2 = run("full2", EV, OR)
check(r2.returncode == 0 and same_outputs("full", "full2"), "a second run gives the same bytes")


# ---- the daily increment ----
def split_rows(src, day1, day2, keep):
    with open(src, newline="") as f:
        lines = f.read().splitlines(keepends=True)
    rows = list(csv.reader(io.StringIO("".join(lines))))
    ts = rows[0].index("ts")
    a, b = [lines[0]], [lines[0]]
    for i, row in enumerate(rows[1:], 1):
        (a if keep(i, int(row[ts])) else b).append(lines[i])
    for name, part in ((day1, a), (day2, b)):
        with open(name, "w", newline="") as f:
            f.write("".join(part))
    return len(a) - 1, len(b) - 1


CUT = 1733011200  # 2024-12-01: the last month is day 2
n1, n2 = split_rows(EV, path("d1e.csv"), path("d2e.csv"), lambda i, t: t < CUT)
m1, m2 = split_rows(OR, path("d1o.csv"), path("d2o.csv"), lambda i, t: t < CUT)
check(n2 > 0 and m2 > 0, f"day 2 holds {n2} events and {m2} orders")
r = run("day1", path("d1e.csv"), path("d1o.csv"), as_of="2024-12-01")
check(r.returncode == 0, "day 1 runs")
r = run("day2", path("d2e.csv"), path("d2o.csv"), "--state", path("day1", "state.lps"))
check(r.returncode == 0, "day 2 runs from day 1's state")
for n in OUTPUTS:
    check(read_bytes("day2", n) == read_bytes("full", n),
          f"day 1 then --state + day 2 gives the {n} of one run over both")

# The store is saved while profiles.csv and identifiers.csv are still
# being written, into a temporary file renamed once they are written.
check(not os.path.exists(path("day2", "state.lps.tmp")), "the daily job leaves no temporary file")

rng = random.Random(12)
picks = {}
split_rows(EV, path("r1e.csv"), path("r2e.csv"), lambda i, t: picks.setdefault(("e", i), rng.random() < 0.8))
split_rows(OR, path("r1o.csv"), path("r2o.csv"), lambda i, t: picks.setdefault(("o", i), rng.random() < 0.8))
r = run("rs1", path("r1e.csv"), path("r1o.csv"))
r = run("rs2", path("r2e.csv"), path("r2o.csv"), "--state", path("rs1", "state.lps"))
check(r.returncode == 0 and same_outputs("rs2", "full"),
      "a random 80/20 split of the rows (late events included) gives the same bytes")

HEAD_E = write("empty/events.csv", "ts,source,user_id,email,phone,device_id,cookie\n")
HEAD_O = write("empty/orders.csv", "order_id,ts,id_type,id,amount\n")
r = run("again", HEAD_E, HEAD_O, "--state", path("full", "state.lps"))
check(r.returncode == 0 and same_outputs("again", "full"),
      "header-only inputs with --state rewrite the same outputs")
os.makedirs(path("inplace"), exist_ok=True)
shutil.copy(path("full", "state.lps"), path("inplace", "state.lps"))
r = run("inplace", path("d2e.csv"), path("d2o.csv"), "--state", path("inplace", "state.lps"))
check(r.returncode == 0 and not os.path.exists(path("inplace", "state.lps.tmp")),
      "--state may be DIR/state.lps itself (the daily job), no temporary file is left")

# ---- --refit: keeping the saved store's models ----
r = run("keep", HEAD_E, HEAD_O, "--state", path("full", "state.lps"), "--refit", "never")
check(r.returncode == 0 and "CLV kept from the saved store (--refit never)" in r.stderr
      and "k-means kept from the saved store" in r.stderr, "--refit never keeps both models")
check(all(read_bytes("keep", n) == read_bytes("full", n)
          for n in ("profiles.csv", "identifiers.csv", "state.lps")),
      "with no new rows the kept models give the outputs of the run that fitted them")
khtml = read_bytes("keep", "report.html").decode("utf-8")
check("kept from the saved store" in khtml and "the mean of a cluster" in khtml,
      "the report says the models were kept and shows cluster means")
r = run("auto-big", path("d2e.csv"), path("d2o.csv"), "--state", path("day1", "state.lps"),
        "--refit", "auto", "--refit-threshold", "0")
check(r.returncode == 0 and "from the saved store" not in r.stderr
      and same_outputs("auto-big", "full"),
      f"--refit auto refits when the new rows ({n2 + m2}) exceed the threshold's share of the "
      "store, and gives the bytes of one run over both days")
r = run("auto-small", path("d2e.csv"), path("d2o.csv"), "--state", path("day1", "state.lps"),
        "--refit", "auto")
check(r.returncode == 0 and "CLV kept from the saved store (--refit auto)" in r.stderr,
      f"--refit auto keeps the models when the new rows ({n2 + m2}) are under 5 % of the store")
RFM = ("profile_id", "identifiers", "first_seen", "last_seen", "recency_days", "frequency",
       "monetary", "r", "f", "m", "segment", "lifecycle")
check([[x[c] for c in RFM] for x in table("auto-small")] == [[x[c] for c in RFM] for x in full],
      "kept models change no column but the models' (p_alive, expected_purchases, clv, cluster)")
check(read_bytes("auto-small", "identifiers.csv") == read_bytes("full", "identifiers.csv"),
      "kept models leave identifiers.csv as one run over both days")
r = run("nomodels", EV, OR, "--clv", "none", "--k", "0")
r = run("nomodels2", HEAD_E, HEAD_O, "--state", path("nomodels", "state.lps"), "--refit", "never")
check(r.returncode == 0 and "from the saved store" not in r.stderr and "k-means fitted" in r.stderr
      and same_outputs("nomodels2", "full"),
      "--refit never fits the models a saved store does not have (the outputs of one full run)")
r = run("dropped", HEAD_E, HEAD_O, "--state", path("full", "state.lps"), "--refit", "never",
        "--clv", "none", "--k", "0")
check(r.returncode == 0 and all(x["p_alive"] == "" and x["clv"] == "" and x["cluster"] == ""
                                for x in table("dropped")),
      "--clv none and --k 0 drop kept models")
r = run("x", HEAD_E, HEAD_O, "--state", path("full", "state.lps"), "--refit", "sometimes")
check(r.returncode == 2, "an unknown --refit is a usage error")

# ---- tags: taxonomy and facts by identifier ----
tax = write("tags/taxonomy.ini",
            "[tag vip]\ntype = flag\n\n[tag ltv_band]\ntype = string\nmerge = latest\n\n"
            "[tag credit]\ntype = decimal\nscale = 2\nmerge = sum\n")
with open(OR, newline="") as f:
    first = next(csv.DictReader(f))
facts = write("tags/facts.csv",
              "id_type,id,tag,value,expires_at,set_at\n"
              f"{first['id_type']},{first['id']},vip,1,2024-12-01,2024-06-01\n"
              f"{first['id_type']},{first['id']},credit,12.50,,2024-06-01\n"
              f"{first['id_type']},{first['id']},credit,7.25,,2024-06-02\n"
              f"{first['id_type']},{first['id']},ltv_band,gold,,2024-06-01\n")
r = run("tags", EV, OR, "--taxonomy", tax, "--facts", facts)
check(r.returncode == 0, "run with --taxonomy and --facts exits 0")
trows = table("tags")
check(list(trows[0].keys())[-3:] == ["vip", "ltv_band", "credit"],
      "one column per tag, in taxonomy order, after the fixed columns")
tagged = [x for x in trows if x["ltv_band"]]
check(len(tagged) == 1 and tagged[0]["ltv_band"] == "gold" and tagged[0]["credit"] == "7.25",
      "the facts reach the profile of their identifier; a later value of the same identifier "
      "replaces the earlier one")
check(tagged[0]["vip"] == "", "a value that expired on 2024-12-01 is not live on 2024-12-31")
check(all(not x["credit"] and not x["vip"] for x in trows if x is not tagged[0]),
      "no other profile has a tag")
bad_f = write("tags/bad.csv", "id_type,id,tag,value,expires_at\nemail,a@b.com,nosuch,1,\n")
r = run("x", EV, OR, "--taxonomy", tax, "--facts", bad_f)
check(r.returncode == 1 and "bad.csv:2:" in r.stderr, "an unknown tag in the facts names FILE:LINE")
thtml = read_bytes("tags", "report.html").decode("utf-8")
check("vip" in thtml and "ltv_band" in thtml, "the report's tag coverage names the tags")

# ---- rule-computed tags: over the view's attributes and over a host-set tag ----
rtax = write("rules/taxonomy.ini",
             "[tag vip]\ntype = flag\n\n"
             "[tag regular]\ntype = flag\nrule = frequency >= 2 and recency_days < 120\n\n"
             "[tag vip_spender]\ntype = flag\nrule = vip and monetary > 50\n\n"
             "[tag champion]\ntype = flag\nrule = segment == \"champions\" or r == 5\n\n"
             "[tag lapsing_vip]\ntype = flag\nrule = vip and not regular\n")
with open(OR, newline="") as f:
    some = list(csv.DictReader(f))[:40:2]
rfacts = write("rules/facts.csv", "id_type,id,tag,value,expires_at\n" +
               "".join(f"{o['id_type']},{o['id']},vip,1,\n" for o in some))
r = run("rules", EV, OR, "--taxonomy", rtax, "--facts", rfacts)
check(r.returncode == 0, "run with rule-computed tags exits 0")
rrows = table("rules")
check(list(rrows[0].keys())[-5:] == ["vip", "regular", "vip_spender", "champion", "lapsing_vip"],
      "rule-computed tags get columns too, in taxonomy order")


def num(x):
    return float(x) if x != "" else None


def expect(x):
    freq, rec, mon, r_ = num(x["frequency"]), num(x["recency_days"]), num(x["monetary"]), x["r"]
    vip = x["vip"] == "1"
    regular = freq is not None and freq >= 2 and rec is not None and rec < 120
    return {"regular": regular, "vip_spender": vip and mon is not None and mon > 50,
            "champion": x["segment"] == "champions" or r_ == "5",
            "lapsing_vip": vip and not regular}


bad = [x["profile_id"] for x in rrows
       if any((x[k] == "1") != v for k, v in expect(x).items())]
check(not bad, f"every computed value equals the rule evaluated here over the profile's columns "
               f"({len(bad)} differ)")
counts = {k: sum(1 for x in rrows if x[k] == "1") for k in ("vip", "regular", "vip_spender",
                                                             "champion", "lapsing_vip")}
check(all(counts[k] > 0 for k in counts) and counts["vip_spender"] < counts["vip"],
      f"the rules select some profiles, not all ({counts})")
check(all(x[k] in ("", "1") for x in rrows for k in counts), "flag cells are 1 or empty")
r = run("rules-d1", path("d1e.csv"), path("d1o.csv"), "--taxonomy", rtax, as_of="2024-12-01")
r = run("rules-d2", path("d2e.csv"), path("d2o.csv"), "--taxonomy", rtax, "--facts", rfacts,
        "--state", path("rules-d1", "state.lps"))
check(r.returncode == 0 and same_outputs("rules-d2", "rules"),
      "rule tags: day 1 then --state + day 2 gives the bytes of one run over both")
bad_rf = write("rules/bad_facts.csv", "id_type,id,tag,value,expires_at\n"
               f"{some[0]['id_type']},{some[0]['id']},regular,1,\n")
r = run("x", EV, OR, "--taxonomy", rtax, "--facts", bad_rf)
check(r.returncode == 1 and "bad_facts.csv:2:" in r.stderr and "rule" in r.stderr,
      "a fact for a rule-computed tag names FILE:LINE")
bad_rule = write("rules/bad_rule.ini", "[tag x]\ntype = flag\nrule = nosuch > 1\n")
r = run("x", EV, OR, "--taxonomy", bad_rule)
check(r.returncode == 1 and "bad_rule.ini" in r.stderr, "a rule over an unknown name is a data error")

# ---- forget ----
r = run("raw", EV, OR, "--raw")
check(r.returncode == 0, "run --raw")
rawids = table("raw", "identifiers.csv")
with open(OR, newline="") as f:
    orders_rows = list(csv.DictReader(f))
victim = next(o for o in orders_rows if o["id_type"] == "user_id")
vpid = next(x["profile_id"] for x in rawids if x["type"] == "user_id" and x["value"] == victim["id"])
vvalues = [x["value"] for x in rawids if x["profile_id"] == vpid]
check(len(vvalues) >= 2, f"the person to erase has {len(vvalues)} identifiers")
r = pc("forget", "--state", path("raw", "state.lps"), "--id", f"user_id:{victim['id']}",
       "--out", path("forgotten.lps"))
check(r.returncode == 0 and f"erased profile {vpid}" in r.stderr, "forget exits 0 and names the profile")
r = run("after", HEAD_E, HEAD_O, "--raw", "--state", path("forgotten.lps"))
check(r.returncode == 0, "run --state on the erased store")
after = table("after")
check(vpid not in {x["profile_id"] for x in after} and len(after) == len(table("raw")) - 1,
      "the profile is gone from profiles.csv, every other stays")
aids = read_bytes("after", "identifiers.csv").decode("utf-8")
check(not any(f",{v}," in aids for v in vvalues), "none of its identifiers is in identifiers.csv")
# The graph is saved in chunks (a value cut by a chunk boundary is not in
# the file's bytes) and orders as varints, so the scan reads the
# reassembled graph and the decoded orders; the same scan of the store
# before the forget must find them, or it proves nothing.
vorders = [o for o in orders_rows if o["id"] in vvalues]
check(vorders, "the person had orders")
voids = {int(o["order_id"]) for o in vorders}
scanned = [v for v in vvalues if len(v) >= 6]
raw_state = read_bytes("raw", "state.lps")
check(scanned and all(saved_contains(raw_state, v.encode()) for v in scanned)
      and voids <= {o[1] for o in saved_orders(raw_state)},
      "before the forget the scan finds its identifier values and order ids")
state = read_bytes("after", "state.lps")
check(not any(saved_contains(state, v.encode()) for v in scanned),
      "the saved bytes hold none of its identifier values")
check(not voids & {o[1] for o in saved_orders(state)}, "the saved orders hold none of its order ids")
before = {x["profile_id"]: x for x in table("raw")}
cents = lambda rows: sum(round(float(x["monetary"]) * 100) for x in rows)
check(cents(after) == cents(before.values()) - round(float(before[vpid]["monetary"]) * 100),
      "its orders left the RFM view, nobody else's did")
r = run("replay", EV, OR, "--raw", "--state", path("forgotten.lps"))
rids = read_bytes("replay", "identifiers.csv").decode("utf-8")
check(r.returncode == 0 and f"user_id,{victim['id']}," not in rids,
      "replaying every input cannot bring the erased login back (tombstone)")
r = pc("forget", "--state", path("full", "state.lps"), "--id", f"user_id:{victim['id']}",
       "--out", path("forgotten-hashed.lps"))
check(r.returncode == 0 and "erased profile" in r.stderr, "forget works on a hashed store too")
# A path that is not a regular file is written in place, not replaced by
# the save's rename (as root, `--out /dev/null` would otherwise turn
# /dev/null into a plain file): a FIFO stays a FIFO and carries the bytes.
def fifo_reader(name):
    """A FIFO at name and a started thread that reads it whole into got['bytes']."""
    os.mkfifo(name)
    got = {}

    def drain():
        with open(name, "rb") as f:
            got["bytes"] = f.read()

    t = threading.Thread(target=drain, daemon=True)
    t.start()
    return t, got


fifo = path("store.fifo")
reader, got = fifo_reader(fifo)
r = pc("forget", "--state", path("full", "state.lps"), "--id", f"user_id:{victim['id']}",
       "--out", fifo)
reader.join(120)
with open(path("forgotten-hashed.lps"), "rb") as f:
    check(r.returncode == 0 and stat.S_ISFIFO(os.stat(fifo).st_mode) and got.get("bytes") == f.read()
          and not os.path.exists(fifo + ".tmp"),
          "forget --out FIFO writes the store into the FIFO, which stays a FIFO")
# The same for run: DIR/state.lps a FIFO gets the store's bytes (saved
# after the outputs, not beside them: nothing is renamed over it).
os.makedirs(path("run-fifo"))
fifo_run = path("run-fifo", "state.lps")
reader, got_run = fifo_reader(fifo_run)
r = run("run-fifo", path("d2e.csv"), path("d2o.csv"), "--state", path("day1", "state.lps"))
reader.join(120)
check(r.returncode == 0 and stat.S_ISFIFO(os.stat(fifo_run).st_mode) and
      got_run.get("bytes") == read_bytes("day2", "state.lps") and
      read_bytes("run-fifo", "profiles.csv") == read_bytes("day2", "profiles.csv") and
      not os.path.exists(fifo_run + ".tmp"),
      "run with DIR/state.lps a FIFO writes the store into it, which stays a FIFO")
r = pc("forget", "--state", path("full", "state.lps"), "--id", "user_id:nobody-at-all",
       "--out", path("nobody.lps"))
check(r.returncode == 0 and "not in the store" in r.stderr,
      "forgetting an unknown identifier tombstones it and says so")

# ---- --threads: the events step parsed on worker threads ----
# Every output byte, message and exit status equals one thread's, for any
# thread count and chunk size (the chunks here are far smaller than a row
# block, so chunk starts land mid-record and inside quoted fields).
# The time windows too (--time-window: the events applied in time order a
# window at a time; 0 and 1 mean file order): the same bytes and messages.
THREADINGS = (("--threads", "2"), ("--threads", "5"), ("--threads", "2", "--chunk-size", "1"),
              ("--threads", "2", "--chunk-size", "997"), ("--threads", "5", "--chunk-size", "4096"),
              ("--time-window", "0"), ("--threads", "2", "--time-window", "1"),
              ("--threads", "2", "--chunk-size", "997", "--time-window", "3"))


def same_as_one_thread(name, events, orders, *extra, outputs=True):
    base = run(name + "-t1", events, orders, "--threads", "1", *extra)
    for i, t in enumerate(THREADINGS):
        r = run(f"{name}-t{i}", events, orders, *t, *extra)
        check(r.returncode == base.returncode and r.stderr == base.stderr and r.stdout == base.stdout,
              f"{name}: {' '.join(t)} exits and prints as one thread ({base.returncode})")
        if outputs and base.returncode == 0:
            check(same_outputs(f"{name}-t{i}", name + "-t1"),
                  f"{name}: {' '.join(t)} writes the bytes of one thread")
    return base


b = same_as_one_thread("thr", EV, OR)
check(b.returncode == 0 and same_outputs("thr-t1", "full"), "--threads 1 writes the default run's bytes")
b = same_as_one_thread("thr-state", path("d2e.csv"), path("d2o.csv"), "--state",
                       path("day1", "state.lps"))
check(b.returncode == 0 and same_outputs("thr-state-t1", "full"),
      "--state with threads gives the bytes of one run over both days")
with open(EV, newline="") as f:
    ev_rows = list(csv.reader(f))
ev_head = ev_rows[0]


def events_file(name, rows, crlf=False):
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n" if crlf else "\n").writerows([ev_head] + rows)
    return write(name, buf.getvalue())


# Quoted line endings and commas in the source, CRLF records, blank lines.
src_i = ev_head.index("source")
quoted = [list(x) for x in ev_rows[1:]]
for i, x in enumerate(quoted):
    if i % 3 == 0:
        x[src_i] = f"we\nb,{i % 7}\r\n\"x\""
qe = events_file("thr-q/events.csv", quoted, crlf=True)
with open(qe, "a", newline="") as f:
    f.write("\r\n\r\n")
same_as_one_thread("thr-q", qe, OR)
# Warm-up: the first rows leave a new store without an identifier (empty
# cells, over-long values), so the workers start later.
long_v = "v" * 2000
warm = [[x[0] if j == 0 else ("" if ev_head[j] != "email" else long_v) for j in range(len(x))]
        for x in ev_rows[1:60]]
for x in warm[:20]:
    x[ev_head.index("email")] = ""
we = events_file("thr-w/events.csv", warm + ev_rows[1:])
b = same_as_one_thread("thr-w", we, OR)
check(b.returncode == 0, "a file starting with rows that store no identifier runs")
# Data errors in a later chunk: a bad time, a malformed record, and the
# first of two errors wins.
late_ts = [list(x) for x in ev_rows[1:]]
late_ts[len(late_ts) * 4 // 5][0] = "not-a-time"
b = same_as_one_thread("thr-e1", events_file("thr-e1/events.csv", late_ts), OR, outputs=False)
check(b.returncode == 1 and f"events.csv:{len(late_ts) * 4 // 5 + 2}: ts:" in b.stderr,
      "a bad time in a later chunk names FILE:LINE with any thread count")
with open(events_file("thr-e2/events.csv", ev_rows[1:]), "a", newline="") as f:
    f.write('1717382727,"web,,,,,\n')
    f.write("not-a-time,web,,,,,ck-1\n")
b = same_as_one_thread("thr-e2", path("thr-e2", "events.csv"), OR, outputs=False)
check(b.returncode == 1 and f"events.csv:{len(ev_rows) + 1}:" in b.stderr,
      "an unterminated quote at the end names FILE:LINE with any thread count")
two = [list(x) for x in ev_rows[1:]]
two[len(two) // 2][0] = "2024-13-45"
two[len(two) - 3][0] = "nope"
b = same_as_one_thread("thr-e3", events_file("thr-e3/events.csv", two), OR, outputs=False)
check(b.returncode == 1 and f"events.csv:{len(two) // 2 + 2}:" in b.stderr,
      "the first of two errors is the one reported with any thread count")
r = run("thr-p", EV, OR, "--threads", "2", "--chunk-size", "2048", "--progress", "always")
check(r.returncode == 0 and same_outputs("thr-p", "full"),
      "--progress always with threads writes the same bytes")
for bad in (("--threads", "0x"), ("--threads", "-1"), ("--chunk-size", "0"), ("--time-window", "-1"),
            ("--time-window", str((1 << 24) + 1))):
    r = pc("run", "--events", EV, "--orders", OR, "--as-of", "2024-12-31", "--out-dir", path("x"), *bad)
    check(r.returncode == 2, f"{' '.join(bad)} is a usage error")

# ---- exit codes ----
r = pc("run", "--events", EV, "--orders", OR, "--out-dir", path("x"))
check(r.returncode == 2 and "--as-of" in r.stderr, "a missing --as-of is a usage error")
r = pc("run", "--events", EV, "--orders", OR, "--as-of", "2024-12-31", "--out-dir", path("x"), "--bogus")
check(r.returncode == 2, "an unknown option is a usage error")
r = pc("run", "--events", EV, "--orders", OR, "--as-of", "yesterday", "--out-dir", path("x"))
check(r.returncode == 2, "a bad --as-of is a usage error")
bad_e = write("bad/events.csv", "ts,email\n2024-01-01,a@b.com\nnot-a-time,c@d.com\n")
r = run("x", bad_e, HEAD_O)
check(r.returncode == 1 and "events.csv:3:" in r.stderr, "a bad event timestamp names FILE:LINE")
bad_o = write("bad/orders.csv", "order_id,ts,id_type,id,amount\n1,2024-01-01,email,a@b.com,1.005\n")
r = run("x", HEAD_E, bad_o)
check(r.returncode == 1 and "orders.csv:2:" in r.stderr and "amount" in r.stderr,
      "an amount with more decimals than --decimals names FILE:LINE")
bad_t = write("bad/orders_t.csv", "order_id,ts,id_type,id,amount\n1,2024-01-01,fax,123,1\n")
r = run("x", HEAD_E, bad_t)
check(r.returncode == 1 and "orders_t.csv:2:" in r.stderr and "fax" in r.stderr,
      "an unknown id_type names FILE:LINE")
late = write("bad/orders_late.csv", "order_id,ts,id_type,id,amount\n1,2025-06-01,email,a@b.com,1\n")
r = run("x", HEAD_E, late)
check(r.returncode == 1, "an order after --as-of is an error")
nocol = write("bad/orders_nocol.csv", "order_id,ts,id,amount\n")
r = run("x", HEAD_E, nocol)
check(r.returncode == 1 and "orders_nocol.csv:1:" in r.stderr, "a missing orders column names the header line")
r = run("x", path("nope.csv"), HEAD_O)
check(r.returncode == 1 and "nope.csv" in r.stderr, "a missing input is a data error")
r = run("x", HEAD_E, HEAD_O, "--state", path("bad", "events.csv"))
check(r.returncode == 1 and "cannot load" in r.stderr, "a state that is not a store is a data error")
r = run("x", HEAD_E, HEAD_O, "--state", path("full", "state.lps"), "--key", "another key")
check(r.returncode == 1, "a state made with another key is refused")
r = pc("forget", "--state", path("full", "state.lps"), "--id", "no-colon")
check(r.returncode == 2, "forget --id without TYPE: is a usage error")
r = pc("forget", "--id", "user_id:x")
check(r.returncode == 2, "forget without --state is a usage error")
r = pc("forget", "--state", path("full", "state.lps"), "--id", "fax:1", "--out", path("y.lps"))
check(r.returncode == 1 and "fax" in r.stderr, "forget of an unknown type is an error")

# ---- write errors ----
# Every output is written on a background thread; a failure is still exit 1
# with the message of a write on the main thread, naming the file, and a
# failed save leaves neither the store nor its temporary file.
if os.path.exists("/dev/full"):
    for name, msg in (("profiles.csv", "cannot write '{d}/profiles.csv': No space left on device"),
                      ("identifiers.csv", "cannot write '{d}/identifiers.csv': No space left on device"),
                      ("state.lps.tmp", "cannot save the store to '{d}/state.lps': No space left on device"),
                      ("report.html", "cannot write '{d}/report.html': No space left on device")):
        d = path("full-disk-" + name)
        os.makedirs(d)
        os.symlink("/dev/full", os.path.join(d, name))
        r = run("full-disk-" + name, EV, OR)
        check(r.returncode == 1 and r.stderr.count("error:") == 1 and msg.format(d=d) in r.stderr,
              f"a full disk under {name} is exit 1 naming the file")
        if name == "state.lps.tmp":
            check(not os.path.lexists(os.path.join(d, name)) and
                  not os.path.exists(os.path.join(d, "state.lps")),
                  "a failed save removes its temporary file and writes no store")
        if name in ("profiles.csv", "identifiers.csv"):
            check(not os.path.exists(os.path.join(d, "state.lps")) and
                  not os.path.exists(os.path.join(d, "state.lps.tmp")),
                  f"a failed {name} leaves no store and no temporary file (the save beside it is dropped)")
    # the same with --state: the daily job's save through the same writer
    d = path("full-disk-daily")
    os.makedirs(d)
    os.symlink("/dev/full", os.path.join(d, "state.lps.tmp"))
    r = run("full-disk-daily", HEAD_E, HEAD_O, "--state", path("full", "state.lps"))
    check(r.returncode == 1 and f"cannot save the store to '{d}/state.lps'" in r.stderr,
          "a full disk under the daily job's save is exit 1 naming the store")

# ---- the save in a child process ----
# run saves the store in a forked child while it writes the outputs; the
# in-process save (PROFILECTL_TEST_SAVE=in-process) is the reference:
# the same bytes in every mode (a new store, --state, kept models, models
# fitted or dropped after the child was started), the same messages.
for name, ev, orders, extra in (
        ("full", EV, OR, ()),
        ("day2", path("d2e.csv"), path("d2o.csv"), ("--state", path("day1", "state.lps"))),
        ("keep", HEAD_E, HEAD_O, ("--state", path("full", "state.lps"), "--refit", "never")),
        ("nomodels2", HEAD_E, HEAD_O, ("--state", path("nomodels", "state.lps"), "--refit", "never")),
        ("dropped", HEAD_E, HEAD_O, ("--state", path("full", "state.lps"), "--refit", "never",
                                     "--clv", "none", "--k", "0"))):
    r = run("inproc-" + name, ev, orders, *extra, save="in-process")
    check(r.returncode == 0 and same_outputs("inproc-" + name, name)
          and not os.path.exists(path("inproc-" + name, "state.lps.tmp")),
          f"{name}: the child's save writes the bytes of the in-process save")
if os.path.exists("/dev/full"):
    # the child's failed write: the in-process save's message and exit code
    got = {}
    for mode in ("in-process", None):
        d = path(f"full-disk-{mode}")
        os.makedirs(d)
        os.symlink("/dev/full", os.path.join(d, "state.lps.tmp"))
        got[mode] = run(f"full-disk-{mode}", HEAD_E, HEAD_O, "--state", path("full", "state.lps"),
                        save=mode)
        check(not os.path.lexists(os.path.join(d, "state.lps.tmp"))
              and not os.path.exists(os.path.join(d, "state.lps")),
              f"a failed save ({mode or 'child'}) leaves no store and no temporary file")
    a, b = got["in-process"], got[None]
    check(a.returncode == b.returncode == 1 and a.stderr.replace("-in-process", "-None") == b.stderr,
          "a failed save in the child gives the in-process save's message and exit code")
if EMULATED:
    print("skip: the child's save, killed or exiting, and its --timings lines "
          "(a forked child cannot run under the emulator: saves are in-process)")
else:
    # a child that exits without a report never saved (qemu-user cannot run a
    # forked copy of a process with threads): the store is saved in the
    # process instead, the same bytes
    r = run("child-exits", path("d2e.csv"), path("d2o.csv"), "--state", path("day1", "state.lps"),
            save="exit")
    check(r.returncode == 0 and same_outputs("child-exits", "day2")
          and not os.path.exists(path("child-exits", "state.lps.tmp")),
          "a child that exits without a report: the store is saved in the process, the same bytes")
    # a child killed before its report: an error naming the store; the old
    # store (the daily job's, read and written in place) is kept as it was
    d = path("killed")
    os.makedirs(d)
    shutil.copy(path("day1", "state.lps"), os.path.join(d, "state.lps"))
    r = run("killed", path("d2e.csv"), path("d2o.csv"), "--state", os.path.join(d, "state.lps"),
            save="kill")
    check(r.returncode == 1 and r.stderr.count("error:") == 1 and
          f"cannot save the store to '{d}/state.lps': the saving process was killed by signal 9"
          in r.stderr, "a killed saving process is exit 1 naming the store")
    check(read_bytes("killed", "state.lps") == read_bytes("day1", "state.lps")
          and not os.path.exists(os.path.join(d, "state.lps.tmp")),
          "a killed saving process leaves the old store and no temporary file")
    r = run("killed-new", EV, OR, save="kill")
    check(r.returncode == 1 and not os.path.exists(path("killed-new", "state.lps"))
          and not os.path.exists(path("killed-new", "state.lps.tmp")),
          "a killed saving process of a new store writes no store")
# an output that fails while the child saves: the child's store is dropped
d = path("child-out-fail")
os.makedirs(os.path.join(d, "profiles.csv"))
r = run("child-out-fail", path("d2e.csv"), path("d2o.csv"), "--state", path("day1", "state.lps"),
        "--refit", "never")
check(r.returncode == 1 and r.stderr.count("error:") == 1
      and f"cannot open '{d}/profiles.csv' for writing" in r.stderr
      and not os.path.exists(os.path.join(d, "state.lps"))
      and not os.path.exists(os.path.join(d, "state.lps.tmp")),
      "a failed output with the child saving leaves no store and no temporary file")
if not EMULATED:
    r = run("timed", path("d2e.csv"), path("d2o.csv"), "--state", path("day1", "state.lps"), "--timings")
    check(r.returncode == 0 and "time: fork for the save" in r.stderr
          and "cpu in a child process" in r.stderr and same_outputs("timed", "full"),
          "--timings reports the fork and the save in the child")

d = path("dir-in-the-way")
os.makedirs(os.path.join(d, "profiles.csv"))
r = run("dir-in-the-way", EV, OR)
check(r.returncode == 1 and f"cannot open '{d}/profiles.csv' for writing" in r.stderr,
      "an output that cannot be created is exit 1 naming it")

# ---- a larger store: outputs span many buffers of the writers and many
# blocks of views; they stay those of one thread (the same bytes twice, and
# every identifier of profiles.csv's counts in identifiers.csv) ----
g = pc("demo", "--people", "6000", "--seed", "9", "--out-dir", path("gen-big"))
check(g.returncode == 0, "demo --out-dir writes the larger data set")
EVB, ORB = path("gen-big", "events.csv"), path("gen-big", "orders.csv")
r1 = run("big1", EVB, ORB, "--raw")
r2 = run("big2", EVB, ORB, "--raw", "--threads", "1")
check(r1.returncode == 0 and r2.returncode == 0 and same_outputs("big1", "big2"),
      "a larger run gives the same bytes twice")
big = table("big1")
big_ids = table("big1", "identifiers.csv")
per_big = {}
for x in big_ids:
    per_big[x["profile_id"]] = per_big.get(x["profile_id"], 0) + 1
check(len(big) > VIEW_BLOCK_ROWS and all(per_big.get(x["profile_id"]) == int(x["identifiers"]) for x in big)
      and sum(per_big.values()) == len(big_ids),
      "every profile's identifier count matches identifiers.csv over several blocks")
keys = [(x["type"], x["value"].encode()) for x in big_ids]
check(keys == sorted(keys), "identifiers.csv is sorted by type, then value bytes")

shutil.rmtree(TMP)
print("all run/forget tests passed")
