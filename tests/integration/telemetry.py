#!/usr/bin/env python3
"""Ask a running DPDK process one telemetry command and print the JSON answer.

Usage: telemetry.py <file-prefix> <command>   e.g. telemetry.py pg123_gw /paygate/stats
The socket is /var/run/dpdk/<prefix>/dpdk_telemetry.v2 (DPDK's runtime dir as
root); the protocol is DPDK's: connect (SOCK_SEQPACKET), read the greeting,
send the command, read one JSON reply.
"""
import json
import os
import socket
import sys


def query(prefix, command):
    runtime = os.environ.get("XDG_RUNTIME_DIR") if os.getuid() != 0 else None
    base = os.path.join(runtime or "/var/run", "dpdk", prefix)
    path = os.path.join(base, "dpdk_telemetry.v2")
    with socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) as s:
        s.connect(path)
        greeting = json.loads(s.recv(16384).decode())
        s.send(command.encode())
        reply = s.recv(greeting.get("max_output_len", 16384)).decode()
    return json.loads(reply)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    print(json.dumps(query(sys.argv[1], sys.argv[2])))
