#!/usr/bin/env bash
# A bank that stalls (accepts requests, never answers) under load, then
# comes back. The breaker must open within its window, after which the
# workers answer 91 at once instead of after the timeout; probes close it
# when the bank answers again; every request that timed out is reversed
# (and acknowledged once the bank is back); the bank's balances match
# what clients were told.
#
# Usage: test_bank_stall.sh <build dir> [rate pps]
source "$(dirname "$0")/lib.sh"
pg_init "$1"
source "$PG_SRC/tests/integration/stack.sh"

rate=${2:-2000}

pg_start_banksim --latency fixed:200 --seed 6 --ctl "$PG_TMP/bank.ctl"
pg_wait_file "$PG_TMP/bank.ctl"
PG_KEEPALIVE_MS=500 PG_BANK_TIMEOUT_MS=300 PG_SLOTS=64 PG_IDEM_PER_SLOT=8192 PG_WORKER_SLEEP_US=5 \
	pg_write_config "$PG_TMP/paygate.ini" "$PG_BANK_PORT"
pg_start_gateway 0@0,1@0 "net_memif0,role=server,socket=$PG_TMP/memif.sock,socket-abstract=no"
pg_wait_file "$PG_TMP/memif.sock"

pg_start_pktgen pktgen \
	--duration 10 --rate "$rate" --flows 64 --seed 12 --mix valid=90,bad_luhn=10 \
	--drain-ms 4000 --answers-out "$PG_TMP/answers.csv" --json "$PG_TMP/pktgen.json"

sleep 3
echo "== bank stalls: $(bank_fault stall on)"
t0=$(date +%s.%N)
opened=""
for _ in $(seq 1 100); do
	if grep -q "breaker closed -> open" "$PG_TMP/gateway.log"; then
		opened=$(python3 -c "import time; print('%.0f' % ((time.time() - $t0) * 1000))")
		break
	fi
	sleep 0.02
done
echo "breaker open after ${opened:-never} ms"
sleep 1
ctl show banks
banks_open=$(ctl --json show banks | python3 -c 'import json,sys; print(json.load(sys.stdin)["banks"][0]["breaker"])')
f0=$(gw_stats 'd["total"]["breaker_91"]'); to0=$(gw_stats 'd["control"]["timeouts"]')
sleep 1
f1=$(gw_stats 'd["total"]["breaker_91"]'); to1=$(gw_stats 'd["control"]["timeouts"]')
echo "while open, in 1 s: $((f1 - f0)) answered 91 at once, $((to1 - to0)) timeouts"
echo "== bank back: $(bank_fault stall off)"
sleep 3
a0=$(gw_stats 'd["total"]["codes"].get("00", 0)'); sleep 1; a1=$(gw_stats 'd["total"]["codes"].get("00", 0)')
echo "approvals in 1 s after: $((a1 - a0))"
ctl show banks
ctl --json show banks >"$PG_TMP/banks.json"
wait "$(pg_pid pktgen)" || true
for _ in $(seq 1 50); do
	[ "$(gw_stats 'd["control"]["reversals_acked"] >= d["control"]["reversals_queued"]')" = True ] && break
	sleep 0.1
done
pg_stop gateway 20
pg_stop banksim 10

g=$PG_TMP/gateway.json
p=$PG_TMP/pktgen.json
b=$PG_TMP/balances.csv
echo "control: $(pg_json "$g" '{k: d["control"][k] for k in ("timeouts","breaker_opened","breaker_rejected","echo_sent","echo_answered","keepalive_sent","keepalive_failed","reversals_queued","reversals_sent","reversals_acked","late_answers")}')"
echo "workers: breaker_91 $(pg_json "$g" 'd["total"]["breaker_91"]')"
echo "pktgen: $(pg_json "$p" '{k: d[k] for k in ("sent","received","lost","duplicates","approved_count","codes")}')"
echo "bank: $(tail -n 1 "$b")"

pg_check "breaker opened" test "$(pg_json "$g" 'd["control"]["breaker_opened"]')" -ge 1
pg_check "... within timeout + window (< 1300 ms) of the stall" test "${opened:-99999}" -lt 1300
pg_check "while open, requests answered 91 at once by the workers" test "$((f1 - f0))" -gt 500
pg_check "while open, no more timeouts" test "$((to1 - to0))" -eq 0
pg_check "keepalives found the silent links and reopened them" \
	test "$(pg_json "$g" 'd["control"]["keepalive_failed"] > 0 and d["control"]["keepalive_sent"] > 0')" = True
pg_check "probes closed it once the bank answered" \
	grep -q "breaker half-open -> closed" "$PG_TMP/gateway.log"
pg_check "approvals resumed" test "$((a1 - a0))" -gt 500
pg_check "show banks: breaker not closed during the stall" test "$banks_open" != closed
pg_check "show banks: closed after, with answers, latency and this bank's timeouts counted" \
	test "$(pg_json "$PG_TMP/banks.json" '[b["breaker"] == "closed" and b["answered"] > 1000 and b["latency_us"]["p99"] > 0 and b["errors"]["timeouts"] > 0 for b in d["banks"]][0]')" = True
pg_check "every timed-out request reversed" \
	test "$(pg_json "$g" 'd["control"]["reversals_queued"] >= d["control"]["timeouts"] > 0')" = True
pg_check "every reversal acknowledged" \
	test "$(pg_json "$g" 'd["control"]["reversals_acked"] == d["control"]["reversals_queued"]')" = True
pg_check "nothing lost, nothing answered twice" \
	test "$(pg_json "$p" 'd["lost"] + d["duplicates"]')" -eq 0
pg_check "bank's net approvals equal the approvals clients saw" \
	test "$(( $(bank_total approved_count) - $(bank_total reversed_count) ))" -eq "$(pg_json "$p" 'd["approved_count"]')"
pg_check "balances add up per card" \
	python3 "$PG_SRC/tests/integration/check_balances.py" "$PG_SRC/configs/cards.csv" "$b"
pg_checks_done
