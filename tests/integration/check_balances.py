#!/usr/bin/env python3
"""Check a banksim balances file against the cards file it started from:
for every card, opening balance - approved_amount + reversed_amount equals
the closing balance, and the #total line equals the sum of the rows.

Usage: check_balances.py <cards.csv> <balances.csv>
"""
import csv
import sys


def rows(path):
    with open(path) as f:
        lines = [l for l in f if l.strip() and not l.startswith("#")]
    return list(csv.DictReader(lines))


def main():
    cards = rows(sys.argv[1])
    balances = rows(sys.argv[2])
    if len(cards) != len(balances):
        sys.exit(f"{len(cards)} cards but {len(balances)} balance rows")
    totals = {"approved_count": 0, "approved_amount": 0,
              "reversed_count": 0, "reversed_amount": 0}
    for b in balances:
        i = int(b["card_index"])
        opening = int(cards[i]["balance"])
        closing = int(b["balance"])
        expect = opening - int(b["approved_amount"]) + int(b["reversed_amount"])
        if closing != expect:
            sys.exit(f"card {i} ({b['pan_masked']}): closing {closing}, expected {expect}")
        pan = cards[i]["pan"].strip()
        if b["pan_masked"][:6] != pan[:6] or b["pan_masked"][-4:] != pan[-4:]:
            sys.exit(f"card {i}: row does not belong to this card")
        for k in totals:
            totals[k] += int(b[k])
    with open(sys.argv[2]) as f:
        total = [l for l in f if l.startswith("#total")]
    if total:
        got = dict(kv.split("=") for kv in total[0].strip().split(",")[1:])
        for k, v in totals.items():
            if int(got[k]) != v:
                sys.exit(f"#total {k}={got[k]} but rows sum to {v}")
    print(f"{len(balances)} cards balance; totals {totals}")


main()
