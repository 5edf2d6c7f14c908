"""The erasure scan of a saved profile store (kind PRFS), for tests in Python.

Since store format 1.2 the graph's snapshot is written as consecutive IDGC
sections of 1 MiB, so a value of the graph that a chunk boundary cuts is not
in the file's bytes: the next section's 24-byte record header sits between
its two halves. A scan for erased values must therefore also look at the
graph's snapshot reassembled from its chunks:

    from prfs_payload import saved_contains
    assert not saved_contains(state_bytes, b"erased-value")

Run as a script (`python prfs_payload.py FILE PATTERN...`) it prints, for
each pattern, whether the file or the reassembled graph holds it (exit 1 if
any does). SPDX-License-Identifier: MIT
"""
import struct
import sys

MAGIC = b"\x89LPS\r\n\x1a\n"
HEADER = 32
RECORD = 24


def sections(data):
    """(type, payload) of every section before the end record."""
    if data[:8] != MAGIC or len(data) < HEADER:
        raise ValueError("not a libprofile snapshot")
    pos = HEADER
    while pos + RECORD <= len(data):
        stype, _flags, length = struct.unpack_from("<4sIQ", data, pos)
        if stype == b"\0\0\0\0":
            return
        start = pos + RECORD
        if start + length > len(data):
            raise ValueError("truncated section")
        yield stype, data[start:start + length]
        pos = start + length + (-length % 8)
    raise ValueError("no end record")


def graph_payload(data):
    """The graph's snapshot inside a saved store: its IDGC payloads
    concatenated (1.2), or its IDGR section (before 1.2)."""
    return b"".join(p for t, p in sections(data) if t in (b"IDGC", b"IDGR"))


def saved_contains(data, pattern, graph=None):
    """`pattern` is in the saved bytes or in the reassembled graph (pass
    `graph` = graph_payload(data) when scanning for many patterns)."""
    if pattern in data:
        return True
    return pattern in (graph if graph is not None else graph_payload(data))


def main(argv):
    if len(argv) < 3:
        print("usage: prfs_payload.py FILE PATTERN...", file=sys.stderr)
        return 2
    with open(argv[1], "rb") as f:
        data = f.read()
    graph = graph_payload(data)
    found = False
    for pat in argv[2:]:
        hit = saved_contains(data, pat.encode(), graph)
        found |= hit
        print(f"{pat}: {'found' if hit else 'absent'}")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
