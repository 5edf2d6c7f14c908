"""Installs offline with Debian's python3 and its setuptools:
``pip install ./bindings/python`` (no pyproject.toml on purpose: pip then
builds with the installed setuptools instead of downloading one into an
isolated environment). The package is pure Python; the shared library is
found at run time next to the package, through LIBPROFILE_PATH, or the
system's (docs/python.md)."""
from setuptools import setup

setup(
    name="libprofile",
    version="1.2.0",
    description="Python binding (ctypes) of libprofile: identity graph, RFM, CLV, tags, k-means",
    long_description=open("README.md", encoding="utf-8").read(),
    license="MIT",
    python_requires=">=3.7",
    packages=["libprofile"],
    package_data={"libprofile": ["py.typed", "*.so*"]},
    extras_require={"numpy": ["numpy"], "pandas": ["pandas", "numpy"]},
    zip_safe=False,
)
