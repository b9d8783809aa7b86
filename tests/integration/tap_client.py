#!/usr/bin/env python3
"""A kernel UDP client of the gateway (run inside the test's namespace):
sends a network echo (0800/301), a 0100 with a bad card number, a valid 0100,
its reversal and a reversal repeat, and checks the answers. The kernel has to resolve the gateway's
MAC by ARP first, which the gateway answers.

Usage: tap_client.py <gateway ip> <port>
"""
import socket
import struct
import sys


def field_bytes(spec):
    """spec: {field: value}; fields <= 64 or with a secondary bitmap."""
    fields = sorted(spec)
    secondary = any(f > 64 for f in fields)
    bits = [0] * 128
    if secondary:
        bits[0] = 1
    for f in fields:
        bits[f - 1] = 1
    n = 128 if secondary else 64
    bitmap = int("".join(map(str, bits[:n])), 2).to_bytes(n // 8, "big")
    body = b""
    llvar = {2: 2, 32: 2}  # the LLVAR fields used here
    for f in fields:
        v = spec[f].encode()
        if f in llvar:
            body += b"%02d" % len(v)
        body += v
    return bitmap + body


def message(mti, spec):
    m = mti.encode() + field_bytes(spec)
    return struct.pack(">H", len(m)) + m


def parse_answer(data):
    (length,) = struct.unpack(">H", data[:2])
    msg = data[2:2 + length]
    return msg[:4].decode(), msg


def main():
    gw, port = sys.argv[1], int(sys.argv[2])
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(3)
    s.bind(("0.0.0.0", 0))
    checks = []

    echo = message("0800", {7: "1125120000", 11: "000001", 41: "T0000001", 70: "301"})
    s.sendto(echo, (gw, port))
    mti, msg = parse_answer(s.recv(2048))
    checks.append(("echo answered 0810", mti == "0810"))
    checks.append(("echo code 00", b"00" in msg[-20:]))

    bad = message("0100", {2: "4000000000079197", 3: "000000", 4: "000000001000",
                           7: "1125120000", 11: "000002", 14: "2812",
                           41: "T0000001", 42: "M00000000000001", 49: "826"})
    s.sendto(bad, (gw, port))
    mti, msg = parse_answer(s.recv(2048))
    checks.append(("auth answered 0110", mti == "0110"))
    checks.append(("bad Luhn answered 14", b"14T0000001" in msg))

    # An approval, then its reversal (0400 with 90 = original MTI, STAN and
    # time) and a repeat (0401): the bank credits it back once.
    auth = {2: "4000000000079196", 3: "000000", 4: "000000002500", 7: "1125120001",
            11: "000003", 14: "2812", 41: "T0000001", 42: "M00000000000001", 49: "826"}
    s.sendto(message("0100", auth), (gw, port))
    mti, msg = parse_answer(s.recv(2048))
    checks.append(("valid card approved (0110, 38 + 00)", mti == "0110" and b"00T0000001" in msg))
    rev = dict(auth)
    rev.update({7: "1125120002", 11: "000004",
                90: "0100" + "000003" + "1125120001" + "0" * 22})
    del rev[14]
    s.sendto(message("0400", rev), (gw, port))
    mti, msg = parse_answer(s.recv(2048))
    checks.append(("reversal answered 0410 00", mti == "0410" and b"00T0000001" in msg))
    rev.update({7: "1125120003", 11: "000005"})
    s.sendto(message("0401", rev), (gw, port))
    mti, msg = parse_answer(s.recv(2048))
    checks.append(("reversal repeat answered 0410 00", mti == "0410" and b"00T0000001" in msg))

    failed = 0
    for what, ok in checks:
        print(("  ok   " if ok else "  FAIL ") + what)
        failed += not ok
    print(f"tap client: {len(checks) - failed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


main()
