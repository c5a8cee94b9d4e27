#!/usr/bin/env python3
"""A loopback TCP port where connect() never completes: a listener with listen(0) whose
accept queue is filled by a connection nobody accepts, so the kernel drops further SYNs and
the client stays in SYN_SENT until its own connect timeout.

usage: blackhole.py PORT_FILE   (writes the port once the queue is full; runs until killed,
and at most 300 s)
"""
import os
import signal
import socket
import sys
import time


def main():
    portfile = sys.argv[1]
    lst = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lst.bind(("127.0.0.1", 0))
    lst.listen(0)
    port = lst.getsockname()[1]
    fillers = []
    for _ in range(64):
        c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        c.settimeout(0.3)
        try:
            c.connect(("127.0.0.1", port))
            fillers.append(c)
        except (socket.timeout, OSError):
            c.close()
            break
    else:
        sys.exit("blackhole: the accept queue never filled")
    # the proof: one more connect must not complete
    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    probe.settimeout(0.5)
    try:
        probe.connect(("127.0.0.1", port))
        sys.exit("blackhole: a connect still completed")
    except (socket.timeout, OSError):
        probe.close()
    tmp = "%s.tmp" % portfile
    with open(tmp, "w") as f:
        f.write("%d\n" % port)
    os.replace(tmp, portfile)
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
    time.sleep(300)


if __name__ == "__main__":
    main()
