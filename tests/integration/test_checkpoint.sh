#!/usr/bin/env bash
# Checkpoints bound recovery: the gateway journals what it still owes the
# banks every second (checkpoint_s = 1) and, at start, moves the segments
# before a checkpoint older than the idempotency TTL (1 s here) to
# journal/archive. Reversals owed since before that point must survive it.
#
#   1. load; the bank stalls: timeouts, reversals the bank does not answer
#   2. stop while it still stalls; wait past the TTL; start: segments are
#      archived, the open reversals are resumed from the checkpoint
#   3. the bank answers again: every reversal acknowledged, books balance
#   4. start once more: it reads fewer records than the journal holds
#
# Usage: test_checkpoint.sh <build dir> [rate pps]
source "$(dirname "$0")/lib.sh"
pg_init "$1"
source "$PG_SRC/tests/integration/stack.sh"

rate=${2:-3000}
memif="net_memif0,role=server,socket=$PG_TMP/memif.sock,socket-abstract=no"
start_gateway() { rm -f "$PG_TMP/memif.sock"; pg_start_gateway 0@0,1@0 "$memif"; }

pg_start_banksim --latency fixed:200 --seed 16 --ctl "$PG_TMP/bank.ctl"
pg_wait_file "$PG_TMP/bank.ctl"
PG_IDEM_TTL_MS=1000 PG_CHECKPOINT_S=1 PG_JOURNAL_SEGMENT_MB=1 PG_BANK_TIMEOUT_MS=300 \
	PG_SLOTS=64 PG_IDEM_PER_SLOT=8192 PG_WORKER_SLEEP_US=5 \
	pg_write_config "$PG_TMP/paygate.ini" "$PG_BANK_PORT"
start_gateway
pg_wait_file "$PG_TMP/memif.sock"

pg_start_pktgen pktgen \
	--duration 5 --rate "$rate" --flows 64 --seed 17 --mix valid=90,bad_luhn=10 \
	--drain-ms 2000 --json "$PG_TMP/pktgen.json"
sleep 3
echo "== bank stalls: $(bank_fault stall on)"
wait "$(pg_pid pktgen)" || true
sleep 1.5       # a checkpoint lists the reversals the stalled bank owes us
owed=$(gw_stats 'c["reversals_queued"] - c["reversals_acked"]')
echo "reversals open at stop: $owed"
pg_stop gateway 20
mv "$PG_TMP/gateway.log" "$PG_TMP/gateway-1.log"
sleep 1.2       # the last checkpoint is now older than the TTL

echo "== restart"
start_gateway
grep '^paygate: journal' "$PG_TMP/gateway.log"
archived=$(sed -n 's/^paygate: journal: \([0-9]*\) segments before the checkpoint.*/\1/p' "$PG_TMP/gateway.log")
resumed=$(sed -n 's/.* \([0-9]*\) reversals resumed.*/\1/p' "$PG_TMP/gateway.log")
echo "== bank back: $(bank_fault stall off)"
for _ in $(seq 1 100); do
	[ "$(gw_stats 'c["reversals_acked"] >= c["reversals_queued"] > 0')" = True ] && break
	sleep 0.1
done
acked=$(gw_stats 'c["reversals_acked"]')
pg_stop gateway 20
mv "$PG_TMP/gateway.log" "$PG_TMP/gateway-2.log"

echo "== start once more"
start_gateway
read_second=$(sed -n 's/^paygate: journal: \([0-9]*\) records in.*/\1/p' "$PG_TMP/gateway.log")
pg_stop gateway 20
pg_stop banksim 10
live=$("$PG_BUILD/control/paygate-journal" summary "$PG_TMP/journal" | python3 -c 'import json,sys; print(json.load(sys.stdin)["records"])')
arch=$("$PG_BUILD/control/paygate-journal" summary "$PG_TMP/journal/archive" | python3 -c 'import json,sys; print(json.load(sys.stdin)["records"])')
echo "archived segments: $archived; reversals resumed: $resumed, acknowledged after: $acked; records read at the last start: $read_second; live $live + archived $arch"

p=$PG_TMP/pktgen.json
b=$PG_TMP/balances.csv
pg_check "the stalled bank left reversals open at stop" test "$owed" -gt 0
pg_check "segments before an old checkpoint were archived" test "${archived:-0}" -gt 0
pg_check "every open reversal resumed after the restart" test "${resumed:-0}" -ge "$owed"
pg_check "... and acknowledged once the bank answered" test "$acked" -ge "$owed"
pg_check "a later start reads fewer records than the journal holds" \
	test "$read_second" -lt $((live + arch))
pg_check "archived segments still readable (settlement)" test "$arch" -gt 0
pg_check "bank's net approvals equal the approvals clients saw" \
	test "$(( $(bank_total approved_count) - $(bank_total reversed_count) ))" -eq "$(pg_json "$p" 'd["approved_count"]')"
pg_check "balances add up per card" \
	python3 "$PG_SRC/tests/integration/check_balances.py" "$PG_SRC/configs/cards.csv" "$b"
pg_checks_done
