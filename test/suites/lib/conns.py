#!/usr/bin/env python3
"""List the TCP sockets connected to 127.0.0.x:PORT and the processes that own them.

usage: conns.py PORT [PORT...]
One line per (socket, owning pid): "pid comm state local_port remote_port".  Orphaned sockets
(closed by their process, e.g. FIN_WAIT2/TIME_WAIT) have no owner and are not listed: they
are not held by any backend.  Reads /proc only (no ss/netstat needed); run as root to see the
sockets of other users' processes.
"""
import os
import sys

STATES = {"01": "ESTABLISHED", "02": "SYN_SENT", "03": "SYN_RECV", "04": "FIN_WAIT1",
          "05": "FIN_WAIT2", "06": "TIME_WAIT", "07": "CLOSE", "08": "CLOSE_WAIT",
          "09": "LAST_ACK", "0A": "LISTEN", "0B": "CLOSING"}


def sockets(ports):
    out = {}
    for fn in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(fn) as f:
                lines = f.read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            parts = line.split()
            if len(parts) < 10:
                continue
            local, remote, st, inode = parts[1], parts[2], parts[3], parts[9]
            rport = int(remote.rsplit(":", 1)[1], 16)
            lport = int(local.rsplit(":", 1)[1], 16)
            if rport in ports and inode != "0":
                out[inode] = (STATES.get(st, st), lport, rport)
    return out


def owners(inodes):
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        fddir = "/proc/%s/fd" % pid
        try:
            fds = os.listdir(fddir)
        except OSError:
            continue
        for fd in fds:
            try:
                target = os.readlink("%s/%s" % (fddir, fd))
            except OSError:
                continue
            if target.startswith("socket:[") and target[8:-1] in inodes:
                try:
                    with open("/proc/%s/comm" % pid) as f:
                        comm = f.read().strip()
                except OSError:
                    comm = "?"
                found.append((int(pid), comm, target[8:-1]))
    return found


def main():
    ports = {int(p) for p in sys.argv[1:]}
    socks = sockets(ports)
    for pid, comm, inode in sorted(owners(set(socks))):
        st, lport, rport = socks[inode]
        print("%d %s %s %d %d" % (pid, comm, st, lport, rport))


if __name__ == "__main__":
    main()
