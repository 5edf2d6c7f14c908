#!/usr/bin/env python3
"""End-to-end test of the built profilectl executable.

Usage: test_e2e.py PROFILECTL VERSION

Runs the program as a user would and checks stdout, stderr and the exit
status exactly (0 success, 1 data/runtime error, 2 usage error). Input files
are written to a temporary directory, which is also the working directory,
so reported paths are stable. Expected outputs were worked out by hand from
the inputs below.
"""
import os
import subprocess
import sys
import tempfile

EXE = os.path.abspath(sys.argv[1])
VERSION = sys.argv[2]
failures = []


def run(args, stdin=b"", cwd=None, stdout=subprocess.PIPE):
    p = subprocess.run([EXE] + args, input=stdin, stdout=stdout,
                       stderr=subprocess.PIPE, cwd=cwd, timeout=60)
    out = p.stdout.decode("utf-8", "replace") if p.stdout is not None else ""
    return p.returncode, out, p.stderr.decode("utf-8", "replace")


def check(name, got, want):
    if got != want:
        failures.append(f"{name}:\n  got:  {got!r}\n  want: {want!r}")


def check_run(name, args, rc, out=None, err=None, out_has=(), err_has=(), **kw):
    g_rc, g_out, g_err = run(args, **kw)
    check(name + " exit status", g_rc, rc)
    if out is not None:
        check(name + " stdout", g_out, out)
    if err is not None:
        check(name + " stderr", g_err, err)
    for s in out_has:
        if s not in g_out:
            failures.append(f"{name}: stdout lacks {s!r}; stdout was {g_out!r}")
    for s in err_has:
        if s not in g_err:
            failures.append(f"{name}: stderr lacks {s!r}; stderr was {g_err!r}")
    return g_out


def test_help_matches_parser():
    # Help and behaviour come from one table: every option the help lists is
    # known to the parser, and "CMD --help" is "help CMD".
    import re
    _, usage, _ = run(["help"])
    names = re.findall(r"^  ([a-z][a-z-]*) ", usage, flags=re.M)
    check("commands listed", len(names) >= 7, True)
    for name in names:
        rc1, text, err1 = run(["help", name])
        rc2, text2, err2 = run([name, "--help"])
        check("help " + name, (rc1, rc2, err1, err2, text == text2), (0, 0, "", "", True))
        for opt in re.findall(r"^  (?:-[a-zA-Z], )?(--[a-zA-Z][a-zA-Z-]*)", text, flags=re.M):
            if opt == "--help":
                continue
            rc, _, err = run([name, opt], stdin=b"")
            if "unknown option" in err:
                failures.append(f"{name}: the help lists {opt} but the parser refuses it")


def test_read_error_reason():
    # Reading /proc/self/mem at offset 0 fails with EIO: the message carries
    # the system's reason.
    if os.path.exists("/proc/self/mem"):
        check_run("read error", ["csv-check", "/proc/self/mem"], 1,
                  err_has=["/proc/self/mem:", "Input/output error"])


def test_version_and_help():
    check_run("version", ["version"], 0, out=f"profilectl {VERSION}\n", err="")
    check_run("--version", ["--version"], 0, out=f"profilectl {VERSION}\n", err="")
    check_run("version extra", ["version", "x"], 2, out="",
              err="profilectl: error: 'version' takes no arguments\n"
                  "Run 'profilectl help version' for usage.\n")

    usage = check_run("help", ["help"], 0, err="",
                      out_has=["usage: profilectl <command> [arguments]\n",
                               "\n  help ", "\n  version ", "\n  csv-check ",
                               "Exit status: 0 success, 1 data or runtime error, 2 usage error.\n"])
    check_run("--help", ["--help"], 0, out=usage, err="")
    check_run("-h", ["-h"], 0, out=usage, err="")
    # No command: the usage, on stderr, as a usage error.
    check_run("no args", [], 2, out="", err=usage)
    check_run("unknown", ["frobnicate"], 2, out="",
              err="profilectl: error: unknown command 'frobnicate'\n"
                  "Run 'profilectl help' for usage.\n")

    cmd_help = check_run("help csv-check", ["help", "csv-check"], 0, err="",
                         out_has=["usage: profilectl csv-check [options] FILE\n", "--no-header"])
    check_run("csv-check --help", ["csv-check", "--help"], 0, out=cmd_help, err="")
    check_run("csv-check x -h", ["csv-check", "x.csv", "-h"], 0, out=cmd_help, err="")
    check_run("help version", ["help", "version"], 0, err="",
              out="usage: profilectl version\n\nprint the version\n")
    check_run("help unknown", ["help", "nope"], 2, out="",
              err_has=["unknown command 'nope'"])
    check_run("help two", ["help", "a", "b"], 2, out="",
              err_has=["'help' takes at most one command name"])


MALFORMED = (b"id,amount,note\r\n"            # 1 header
             b"1,12.50,\"ok, fine\"\r\n"       # 2
             b"2,3.00\r\n"                     # 3 too few fields
             b"\r\n"                           # 4 empty line
             b"3,\"7.25\"x,bad\r\n"            # 5 text after a closing quote
             b"4,1.00,\"multi\r\nline\"\r\n"   # 6-7 fine
             b"5,2\"0,q\r\n"                   # 8 quote inside a field
             b"6,1.00,\"open\r\n"              # 9 never closed: runs to the end
             b"7,1,2\r\n")

def malformed_report(path):
    # Each malformed row as FILE:LINE: problem, like every data error.
    return (f"{path}:3: expected 3 fields, found 2\n"
            f"{path}:5: unexpected character after the closing quote of field 2\n"
            f"{path}:8: quote inside unquoted field 2\n"
            f"{path}:9: quoted field 3 is not closed before the end of input\n")


def summary(path, columns, rows, malformed, empty, size):
    return (f"file: {path}\ncolumns: {columns}\nrows: {rows}\nmalformed: {malformed}\n"
            f"empty_lines: {empty}\nbytes: {size}\n")


def test_csv_check(d):
    def write(name, data):
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)

    write("bad.csv", MALFORMED)
    want = malformed_report("bad.csv") + summary("bad.csv", 3, 2, 4, 1, len(MALFORMED))
    check_run("csv-check malformed", ["csv-check", "bad.csv"], 1, out=want, err="", cwd=d)
    # Deterministic: a second run prints the same.
    check_run("csv-check again", ["csv-check", "bad.csv"], 1, out=want, err="", cwd=d)
    # Options after the file, and standard input.
    check_run("csv-check stdin", ["csv-check", "-"], 1, stdin=MALFORMED, err="", cwd=d,
              out=malformed_report("-") + summary("-", 3, 2, 4, 1, len(MALFORMED)))
    check_run("csv-check max-report", ["csv-check", "bad.csv", "--max-report", "1"], 1, err="",
              cwd=d, out="bad.csv:3: expected 3 fields, found 2\n"
                         "(3 more malformed rows not listed)\n"
                         + summary("bad.csv", 3, 2, 4, 1, len(MALFORMED)))
    check_run("csv-check max-report=0", ["csv-check", "--max-report=0", "bad.csv"], 1, err="",
              cwd=d, out="(4 more malformed rows not listed)\n"
                         + summary("bad.csv", 3, 2, 4, 1, len(MALFORMED)))

    good = b"\xef\xbb\xbfid,ts,amount\n1,2024-01-01,\"1,000.00\"\n2,2024-01-02,3\n"
    write("good.csv", good)
    check_run("csv-check clean", ["csv-check", "good.csv", "--no-progress"], 0, err="", cwd=d,
              out=summary("good.csv", 3, 2, 0, 0, len(good)))
    check_run("csv-check -- name", ["csv-check", "--", "good.csv"], 0, err="", cwd=d,
              out=summary("good.csv", 3, 2, 0, 0, len(good)))
    # A forced progress line only ever touches stderr; stdout is unchanged.
    check_run("csv-check --progress", ["csv-check", "--progress", "good.csv"], 0, cwd=d,
              out=summary("good.csv", 3, 2, 0, 0, len(good)))

    # Without a header the first row sets the field count.
    semi = b"a;b\n1;2;3\n4;5\n"
    write("semi.csv", semi)
    check_run("csv-check no-header", ["csv-check", "--no-header", "-d", ";", "semi.csv"], 1,
              err="", cwd=d,
              out="semi.csv:2: expected 2 fields, found 3\n" + summary("semi.csv", 2, 2, 1, 0, len(semi)))
    tabs = b"a\tb\n1\t2\n"
    write("tabs.csv", tabs)
    check_run("csv-check tab", ["csv-check", "--delimiter=tab", "tabs.csv"], 0, err="", cwd=d,
              out=summary("tabs.csv", 2, 1, 0, 0, len(tabs)))

    # Empty input: no header is an error; without a header it is just empty.
    write("empty.csv", b"")
    check_run("csv-check empty", ["csv-check", "empty.csv"], 1, out="", cwd=d,
              err="profilectl: error: empty.csv: no header row: the input is empty\n")
    check_run("csv-check empty no-header", ["csv-check", "--no-header", "empty.csv"], 0, err="",
              cwd=d, out=summary("empty.csv", 0, 0, 0, 0, 0))

    # Limits are errors that stop the run (exit 1) and say which limit.
    big = b"id,text\n1,short\n2," + b"x" * 40 + b"\n"
    write("big.csv", big)
    check_run("csv-check record limit", ["csv-check", "--max-record-bytes", "20", "big.csv"], 1,
              out="", cwd=d,
              err="profilectl: error: big.csv:3: record longer than 20 bytes "
                  "(max_record_bytes)\n")
    check_run("csv-check field limit", ["csv-check", "--max-fields=1", "big.csv"], 1, out="",
              cwd=d, err="profilectl: error: big.csv:1: record has more than 1 fields "
                         "(max_fields)\n")

    # Files that cannot be read.
    check_run("csv-check missing", ["csv-check", "nope.csv"], 1, out="", cwd=d,
              err="profilectl: error: cannot open 'nope.csv': No such file or directory\n")
    check_run("csv-check dir", ["csv-check", "."], 1, out="", cwd=d,
              err="profilectl: error: cannot read '.': Is a directory\n")

    # Usage errors: exit 2, nothing on stdout, a pointer to the help.
    hint = "Run 'profilectl help csv-check' for usage.\n"
    for name, args, msg in [
            ("missing file", [], "missing FILE"),
            ("two files", ["a.csv", "b.csv"], "only one FILE may be given"),
            ("bad option", ["--bogus", "a.csv"], "unknown option '--bogus'"),
            ("no value", ["a.csv", "-d"], "option '-d' needs a value (C)"),
            ("long delimiter", ["-d", "ab", "a.csv"],
             "option '-d': the delimiter must be one character other than '\"' (or 'tab'), not 'ab'"),
            ("quote delimiter", ["-d", "\"", "a.csv"],
             "option '-d': the delimiter must be one character other than '\"' (or 'tab'), not '\"'"),
            ("bad count", ["--max-report", "x", "a.csv"],
             "option '--max-report': 'x' is not a whole number (at least 0)"),
            ("zero fields", ["--max-fields=0", "a.csv"],
             "option '--max-fields': 0 is out of range (1..16777216)")]:
        check_run("usage " + name, ["csv-check"] + args, 2, out="", cwd=d,
                  err=f"profilectl: error: {msg}\n{hint}")


def test_write_error():
    if not os.path.exists("/dev/full"):
        return
    with open("/dev/full", "wb") as full:
        rc, _, err = run(["version"], stdout=full)
    check("write error exit status", rc, 1)
    check("write error message", err.startswith("profilectl: error: cannot write the output"), True)


def main():
    test_version_and_help()
    with tempfile.TemporaryDirectory() as d:
        test_csv_check(d)
    test_write_error()
    test_read_error_reason()
    test_help_matches_parser()
    if failures:
        print("\n".join(failures))
        print(f"{len(failures)} check(s) failed")
        return 1
    print("all profilectl end-to-end checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
