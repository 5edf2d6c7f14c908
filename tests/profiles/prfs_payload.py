"""The erasure scan of a saved profile store (kind PRFS), for tests in Python.

Since store format 1.2 the graph's snapshot is written as consecutive IDGC
sections of 1 MiB, so a value of the graph that a chunk boundary cuts is not
in the file's bytes: the next section's 24-byte record header sits between
its two halves. A scan for erased values must therefore also look at the
graph's snapshot reassembled from its chunks:

    from prfs_payload import saved_contains
    assert not saved_contains(state_bytes, b"erased-value")
    assert erased_order_id not in {o[1] for o in orders(state_bytes)}

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


def _varint(b, p):
    v = shift = 0
    while True:
        x = b[p]
        p += 1
        v |= (x & 0x7F) << shift
        shift += 7
        if x < 0x80:
            return v, p


def _unzigzag(u):
    return -(u >> 1) - 1 if u & 1 else u >> 1


def orders(data):
    """The order facts of a saved store as (hash, order_id or None, ts,
    amount) tuples, from ORDC (1.2: grouped by hash, varints) or ORDR (44
    bytes an order). Since 1.2 an order id or amount is not in the file as
    8 little-endian bytes, so an erasure test checks them here."""
    for t, b in sections(data):
        if t == b"ORDR":
            n = struct.unpack_from("<Q", b, 0)[0]
            out = []
            for i in range(n):
                h = b[8 + 44 * i:24 + 44 * i]
                flags, oid, ts, amount = struct.unpack_from("<IQqq", b, 24 + 44 * i)
                out.append((h, oid if flags & 1 else None, ts, amount))
            return out
        if t == b"ORDC":
            n = struct.unpack_from("<Q", b, 0)[0]
            out, p = [], 8
            while len(out) < n:
                h = b[p:p + 16]
                k, p = _varint(b, p + 16)
                ts = 0
                for j in range(k):
                    head, p = _varint(b, p)
                    ts = _unzigzag(head >> 1) if j == 0 else ts + (head >> 1)
                    oid = None
                    if head & 1:
                        oid, p = _varint(b, p)
                    amount, p = _varint(b, p)
                    out.append((h, oid, ts, _unzigzag(amount)))
            return out
    raise ValueError("no order section")


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
