#!/usr/bin/env bash
# Crash and recovery with real processes and real files:
#   1. load through paygate (2 workers) to paygate-banksim; kill -9 the
#      gateway in the middle of it;
#   2. restart it on the same journal: it reverses what was at the bank and
#      rebuilds its idempotency tables; pktgen resends the first half of the
#      same requests (same seed and epoch: byte-identical retransmissions);
#   3. stop it, tear the journal's tail, start it again: the tail is cut,
#      reported, and the gateway runs.
# Checks: every approval a client saw is journalled with the same auth
# code; every retransmission after the restart gets the answer given
# before it; every reversal is acknowledged; the bank's net approvals equal
# the journal's approvals; balances add up per card.
#
# Usage: test_crash.sh <build dir> [rate pps]
source "$(dirname "$0")/lib.sh"
pg_init "$1"
source "$PG_SRC/tests/integration/stack.sh"

rate=${2:-5000}
JTOOL="$PG_BUILD/control/paygate-journal"
EPOCH=2026-11-25T12:00:00
memif="net_memif0,role=server,socket=$PG_TMP/memif.sock,socket-abstract=no"

pg_start_banksim --latency uniform:500:6000 --seed 21
# Room for every answer of the run in the idempotency tables: 16 merchants
# fill at most 16 slots, so few large slots.
PG_SLOTS=64 PG_IDEM_PER_SLOT=8192 PG_WORKER_SLEEP_US=5 pg_write_config "$PG_TMP/paygate.ini" "$PG_BANK_PORT"
pg_start_gateway 0@0,1@0,2@0 "$memif"
pg_wait_file "$PG_TMP/memif.sock"

# run_pktgen NAME COUNT
run_pktgen() {
	pg_start_pktgen "$1" \
		--count "$2" --rate "$rate" --flows 64 --queues 2 --seed 31 --epoch "$EPOCH" \
		--mix valid=75,insufficient=8,lost=4,bad_luhn=5,expired=4,echo=4 \
		--mti 0100=50,0200=50 --drain-ms 3000 \
		--answers-out "$PG_TMP/$1.csv" --json "$PG_TMP/$1.json"
}

# Reversals go out once their records are durable and the bank link is
# up; wait for the acknowledgements (a stop with requests at the bank
# leaves reversals for the next start, which is also fine).
wait_reversals() {
	for _ in $(seq 1 100); do
		ctl --json show stats >"$PG_TMP/stats.json" 2>/dev/null || true
		[ "$(pg_json "$PG_TMP/stats.json" 'd["control"]["reversals_acked"] >= d["control"]["reversals_queued"]' 2>/dev/null)" = True ] && return 0
		sleep 0.1
	done
}

echo "== 1. load, then kill -9 of paygate in the middle"
run_pktgen runA $((rate * 8))
sleep 4
kill -KILL "$(pg_pid gateway)"
wait "$(pg_pid gateway)" 2>/dev/null || true
echo "killed at $(wc -l <"$PG_TMP/runA.csv" 2>/dev/null || echo ?) answers"
wait "$(pg_pid runA)" || true
"$JTOOL" summary "$PG_TMP/journal" | tee "$PG_TMP/summary-crash.json"

echo "== 2. restart on the same journal; the same requests again"
rm -f "$PG_TMP/memif.sock"
pg_start_gateway 0@0,1@0,2@0 "$memif"
pg_wait_file "$PG_TMP/memif.sock"
grep '^paygate: journal' "$PG_TMP/gateway.log"
sentA=$(pg_json "$PG_TMP/runA.json" 'd["sent"]')
run_pktgen runB $((sentA / 2))
wait "$(pg_pid runB)" || true
wait_reversals
pg_stop gateway 20

echo "== 3. torn tail"
last=$(ls "$PG_TMP"/journal/*.jnl | sort | tail -n 1)
size=$(stat -c %s "$last")
truncate -s $((size - 17)) "$last"
rm -f "$PG_TMP/memif.sock"
pg_start_gateway 0@0,1@0 "$memif"
torn_log=$(grep 'torn tail' "$PG_TMP/gateway.log" || true)
echo "$torn_log"
wait_reversals
pg_stop gateway 20
pg_stop banksim 10
"$JTOOL" dump "$PG_TMP/journal" >"$PG_TMP/journal.csv"
"$JTOOL" summary "$PG_TMP/journal" | tee "$PG_TMP/summary-end.json"

echo "runA: $(pg_json "$PG_TMP/runA.json" '{k: d[k] for k in ("sent","received","approved_count")}')"
echo "runB: $(pg_json "$PG_TMP/runB.json" '{k: d[k] for k in ("sent","received","approved_count","codes")}')"
echo "bank: $(tail -n 1 "$PG_TMP/balances.csv")"
python3 - "$PG_TMP" <<'PY' >"$PG_TMP/verdict.json"
import csv, json, sys
tmp = sys.argv[1]
def answers(name):
    out = {}
    for row in csv.reader(open(f"{tmp}/{name}.csv")):
        if len(row) >= 7:
            out[(row[0].ljust(15), row[1], row[2], row[3])] = (row[5], row[6])
    return out
a, b = answers("runA"), answers("runB")
last_decision, reversals, acks = {}, set(), set()
for r in csv.DictReader(open(f"{tmp}/journal.csv")):
    k = (r["merchant"], r["terminal"], r["stan"], r["time7"])
    if r["type"] == "decision" and r["outcome"] != "6":   # 6: a worker's decline note
        last_decision[k] = (r["rc"], r["auth"], r["outcome"])
    elif r["type"] == "reversal_sent":
        reversals.add(k)
    elif r["type"] == "reversal_ack":
        acks.add(k)
approved_a = {k: v for k, v in a.items() if v[0] == "00" and v[1]}
missing = [k for k, v in approved_a.items()
           if k not in last_decision or last_decision[k][:2] != v]
both = [k for k in a if k in b]
differ = [k for k in both if a[k] != b[k]]
bank = dict(x.split("=") for x in
            [l for l in open(f"{tmp}/balances.csv") if l.startswith("#total")][0].strip().split(",")[1:])
journal_approvals = sum(1 for v in last_decision.values() if v[0] == "00" and v[1])
print(json.dumps({
    "approvals_seen_by_clients": len(approved_a),
    "approvals_seen_not_journalled": len(missing),
    "retransmitted_after_restart": len(both),
    "retransmissions_answered_differently": len(differ),
    "reversals_sent": len(reversals), "reversals_unacked": len(reversals - acks),
    "journal_approvals": journal_approvals,
    "bank_net_approvals": int(bank["approved_count"]) - int(bank["reversed_count"]),
}))
PY
cat "$PG_TMP/verdict.json"
v() { pg_json "$PG_TMP/verdict.json" "$1"; }
pg_check "the crash left requests at the bank" \
	test "$(pg_json "$PG_TMP/summary-crash.json" 'd["at_bank"]')" -gt 0
pg_check "clients saw approvals before the crash" test "$(v 'd["approvals_seen_by_clients"]')" -gt 1000
pg_check "every approval a client saw is journalled, same auth code" \
	test "$(v 'd["approvals_seen_not_journalled"]')" -eq 0
pg_check "recovery reversed the requests found at the bank" \
	grep -qE 'requests found at the bank reversed \(0 failed\)' "$PG_TMP/gateway.log"
pg_check "many requests retransmitted after the restart" \
	test "$(v 'd["retransmitted_after_restart"]')" -gt 1000
pg_check "every retransmission answered as before the crash" \
	test "$(v 'd["retransmissions_answered_differently"]')" -eq 0
pg_check "reversals were sent" test "$(v 'd["reversals_sent"]')" -gt 0
pg_check "every reversal acknowledged" test "$(v 'd["reversals_unacked"]')" -eq 0
pg_check "bank's net approvals equal the journal's approvals" \
	test "$(v 'd["bank_net_approvals"]')" -eq "$(v 'd["journal_approvals"]')"
pg_check "balances: opening minus approved plus reversed = closing, per card" \
	python3 "$PG_SRC/tests/integration/check_balances.py" "$PG_SRC/configs/cards.csv" "$PG_TMP/balances.csv"
pg_check "torn tail cut and reported at start" test -n "$torn_log"
pg_check "journal clean after the repair" \
	test "$(pg_json "$PG_TMP/summary-end.json" 'd["torn_bytes"]')" -eq 0
pg_check "the workers' declines were journalled too" \
	test "$(pg_json "$PG_TMP/summary-end.json" 'd["dataplane_declines"]')" -gt 0
pg_check "journal files are mode 0600" \
	test "$(stat -c %a "$last")" = 600
pg_checks_done
