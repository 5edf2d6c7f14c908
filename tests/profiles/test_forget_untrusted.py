"""profilectl forget --untrusted-state (LP_PROFILES_TRUST_DERIVED 0): the
load ignores the stored profiles and replays the rules; on an honest file
the erasure then saves the same bytes as a trusting forget."""
import os
import subprocess
import sys
import shutil
import tempfile

EXE = sys.argv[1]
TMP = tempfile.mkdtemp(prefix="forget_untrusted_")


def expect(code, what, *args):
    """Run profilectl with args; fail unless it exits with `code`."""
    r = subprocess.run([EXE, *args], capture_output=True, text=True)
    if r.returncode != code:
        sys.exit(f"FAIL: {what}: exit {r.returncode}, expected {code}\n{r.stderr}")
    print("ok:", what)
    return r


def erased(err):
    return [line for line in err.splitlines() if "erased profile" in line]


def content(*parts):
    with open(os.path.join(TMP, *parts), "rb") as f:
        return f.read()


d = lambda *parts: os.path.join(TMP, *parts)  # noqa: E731
expect(0, "demo writes its data set", "demo", "--people", "200", "--out-dir", d("demo"))
expect(0, "run writes a store", "run", "--events", d("demo", "events.csv"), "--orders",
       d("demo", "orders.csv"), "--rules", d("demo", "rules.ini"), "--as-of", "2025-01-01",
       "--out-dir", d("run"))
state = d("run", "state.lps")
a = expect(0, "a trusting forget", "forget", "--state", state, "--id", "user_id:u0000001",
           "--out", d("trusted.lps"))
b = expect(0, "an untrusting forget", "forget", "--state", state, "--id", "user_id:u0000001",
           "--out", d("untrusted.lps"), "--untrusted-state", "--timings")
if len(erased(a.stderr)) != 1 or erased(a.stderr) != erased(b.stderr) or "time: load" not in b.stderr:
    sys.exit("FAIL: both must erase the same profile with the same counts")
print("ok: both erase the same profile with the same counts")
if content("trusted.lps") != content("untrusted.lps"):
    sys.exit("FAIL: the two forgets save different bytes")
print("ok: both save the same bytes")
before = content("run", "state.lps")
expect(2, "a usage error stays a usage error", "forget", "--state", state, "--id",
       "user_id:u0000001", "--untrusted-state", "--key", "")
if content("run", "state.lps") != before:
    sys.exit("FAIL: a usage error changed the state")
print("ok: and leaves the state alone")
print("all forget --untrusted-state tests passed")
shutil.rmtree(TMP)  # kept only when a check failed, for a look at its files
