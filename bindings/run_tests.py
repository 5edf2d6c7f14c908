#!/usr/bin/python3
"""Runs one binding test against a build's shared library (bindings/meson.build).

usage: run_tests.py {pytest,install,readme,go-vet,go-test,dask}
           --lib SO --profilectl EXE --source SRCDIR --build BUILDDIR

Exit 77 (skipped, with the reason on stdout) when a needed tool or Debian
package is missing. Nothing is written to the source tree: pip builds from
a copy, Go's cache and module paths live under BUILDDIR.
"""
import argparse
import importlib.util
import os
import re
import shutil
import subprocess
import sys

SKIP = 77


def skip(reason):
    print("SKIP:", reason)
    sys.exit(SKIP)


def need_modules(*names):
    missing = [n for n in names if importlib.util.find_spec(n) is None]
    if missing:
        skip(f"{sys.executable} lacks {', '.join(missing)} (Debian: apt-get install "
             + " ".join("python3-" + {"sklearn": "sklearn"}.get(m, m) for m in missing) + ")")


def base_env(a):
    env = dict(os.environ)
    env["LIBPROFILE_PATH"] = a.lib
    env["PROFILECTL"] = a.profilectl
    env["PYTHONPATH"] = os.path.join(a.source, "bindings", "python")
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def go_env(a):
    gobin = shutil.which("go") or ("/usr/lib/go-1.19/bin/go" if os.path.exists("/usr/lib/go-1.19/bin/go") else None)
    if gobin is None:
        skip("go not found (Debian: apt-get install golang-go)")
    env = base_env(a)
    root = os.path.join(a.build, "go")
    libdir = os.path.dirname(a.lib)
    env.update({
        "GOCACHE": os.path.join(root, "cache"), "GOPATH": os.path.join(root, "path"),
        "GOTOOLCHAIN": "local", "GOPROXY": "off", "GOFLAGS": "-mod=mod", "GO111MODULE": "on",
        "CGO_ENABLED": "1",
        "CGO_CFLAGS": "-I" + os.path.join(a.source, "include"),
        "CGO_LDFLAGS": f"-L{libdir} -lprofile -Wl,-rpath,{libdir}",
        "LD_LIBRARY_PATH": libdir + os.pathsep + env.get("LD_LIBRARY_PATH", ""),
    })
    return gobin, env


def run(cmd, env, cwd=None):
    print("+", " ".join(cmd), flush=True)
    return subprocess.call(cmd, env=env, cwd=cwd)


def readme_blocks(source):
    text = open(os.path.join(source, "README.md"), encoding="utf-8").read()
    m = re.search(r"^## Python and Go\n(.*?)(?=^## |\Z)", text, re.S | re.M)
    if not m:
        raise SystemExit("README.md has no '## Python and Go' section")
    return dict(re.findall(r"```(python|go)\n(.*?)```", m.group(1), re.S))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("what")
    for opt in ("--lib", "--profilectl", "--source", "--build"):
        p.add_argument(opt, required=True)
    a = p.parse_args()
    py = os.path.join(a.source, "bindings", "python")
    if a.what == "pytest":
        need_modules("pytest", "numpy", "pandas", "sklearn")
        env = base_env(a)
        return run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                    "-o", "cache_dir=" + os.path.join(a.build, "pytest-cache"),
                    os.path.join(py, "tests")], env, cwd=a.build)
    if a.what == "install":
        if importlib.util.find_spec("pip") is None or importlib.util.find_spec("setuptools") is None:
            skip("pip or setuptools missing (Debian: python3-pip python3-setuptools)")
        src = os.path.join(a.build, "pysrc")
        dst = os.path.join(a.build, "pyinstall")
        for d in (src, dst):
            shutil.rmtree(d, ignore_errors=True)
        shutil.copytree(py, src, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__", "tests"))
        env = base_env(a)
        env.pop("PYTHONPATH")
        rc = run([sys.executable, "-m", "pip", "install", "--no-index", "--no-deps",
                  "--disable-pip-version-check", "--no-cache-dir", "-q", "--target", dst, src],
                 env, cwd=a.build)
        if rc:
            return rc
        # Found next to the package: copy the library in, no LIBPROFILE_PATH.
        shutil.copy(a.lib, os.path.join(dst, "libprofile", "libprofile.so.1"))
        env.pop("LIBPROFILE_PATH")
        env["PYTHONPATH"] = dst
        check = ("import libprofile, os; p = libprofile.library_path; "
                 f"assert p.startswith({dst!r}), p; r = libprofile.RFM(); "
                 "r.add([1], [0], [5]); assert len(r) == 1; print('installed, library', p)")
        return run([sys.executable, "-c", check], env, cwd=a.build)
    if a.what == "readme":
        blocks = readme_blocks(a.source)
        files = {"python": os.path.join(py, "examples", "readme.py"),
                 "go": os.path.join(a.source, "bindings", "go", "readme_example.txt")}
        for lang, path in files.items():
            want = open(path, encoding="utf-8").read()
            if blocks.get(lang) != want:
                print(f"README.md's {lang} example differs from {os.path.relpath(path, a.source)}:")
                print(blocks.get(lang))
                return 1
        go_src = open(os.path.join(a.source, "bindings", "go", "example_readme_test.go"), encoding="utf-8").read()
        body = "".join("\t" + line + "\n" if line else "\n" for line in blocks["go"].splitlines())
        if body not in go_src:
            print("bindings/go/example_readme_test.go does not contain README.md's Go lines")
            return 1
        env = base_env(a)
        return run([sys.executable, files["python"]], env, cwd=a.build)
    if a.what in ("go-vet", "go-test"):
        gobin, env = go_env(a)
        cwd = os.path.join(a.source, "bindings", "go")
        if a.what == "go-vet":
            return run([gobin, "vet", "./..."], env, cwd=cwd)
        return run([gobin, "test", "-count=1", "-v", "./..."], env, cwd=cwd)
    if a.what == "dask":
        need_modules("numpy", "distributed", "dask")
        env = base_env(a)
        return run([sys.executable, os.path.join(a.source, "examples", "dask", "scale_out.py"),
                    "--check", "--transactions", os.environ.get("LP_DASK_TRANSACTIONS", "1000000"),
                    "--workdir", os.path.join(a.build, "dask")], env, cwd=a.build)
    raise SystemExit(f"unknown test {a.what}")


if __name__ == "__main__":
    sys.exit(main())
