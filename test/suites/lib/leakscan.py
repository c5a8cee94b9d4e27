#!/usr/bin/env python3
"""Looks for API keys, whole or in part, in files.

usage: LEAK_KEYS=$'key1\nkey2' leakscan.py [--window N] [--offset FILE:BYTES]... FILE...
A line leaks when it contains a key or any N-character piece of one (default 12), so a key
cut short by a truncated message or a 128-byte buffer still counts.  Prints each leaking line
as "FILE:LINE: text" with every piece of a key masked, and exits 1; exits 0 when nothing
leaks.  --offset FILE:BYTES starts reading FILE at that byte (a server log window).
Files that do not exist are skipped.
"""
import os
import sys


def pieces(keys, n):
    out = set()
    for k in keys:
        if len(k) <= n:
            out.add(k)
        else:
            for i in range(len(k) - n + 1):
                out.add(k[i:i + n])
    return sorted(out, key=len, reverse=True)


def mask(line, keys, pats):
    """Every character covered by a key or a piece of one becomes part of a <KEY...> mark."""
    covered = [False] * len(line)
    whole = [False] * len(line)
    for p in list(keys) + list(pats):
        start = line.find(p)
        while start >= 0:
            for i in range(start, start + len(p)):
                covered[i] = True
                if p in keys:
                    whole[i] = True
            start = line.find(p, start + 1)
    out, i = [], 0
    while i < len(line):
        if not covered[i]:
            out.append(line[i])
            i += 1
            continue
        j = i
        while j < len(line) and covered[j]:
            j += 1
        out.append("<KEY>" if all(whole[i:j]) else "<%d CHARACTERS OF A KEY>" % (j - i))
        i = j
    return "".join(out)


def main():
    args = sys.argv[1:]
    n = 12
    offsets = {}
    files = []
    while args:
        a = args.pop(0)
        if a == "--window":
            n = int(args.pop(0))
        elif a == "--offset":
            f, off = args.pop(0).rsplit(":", 1)
            offsets[f] = int(off)
        else:
            files.append(a)
    keys = [k for k in os.environ.get("LEAK_KEYS", "").splitlines() if k]
    if not keys:
        sys.exit("leakscan: LEAK_KEYS is empty")
    pats = pieces(keys, n)
    found = 0
    for fn in files:
        if not os.path.exists(fn):
            continue
        with open(fn, "rb") as f:
            f.seek(offsets.get(fn, 0))
            data = f.read().decode("utf-8", "replace")
        for i, line in enumerate(data.splitlines(), 1):
            if any(p in line for p in pats):
                found += 1
                if found <= 20:
                    m = mask(line, keys, pats)
                    at = max(m.find("<KEY>"), m.find(" CHARACTERS OF A KEY>"), 0)
                    if len(m) > 200 and at > 110:      # show where the key is
                        m = m[:50] + " ... " + m[at - 50:]
                    print("%s:%d: %s" % (os.path.basename(fn), i, m[:240]))
    if found > 20:
        print("... %d leaking lines in all" % found)
    sys.exit(1 if found else 0)


if __name__ == "__main__":
    main()
