#!/usr/bin/env bash
# The bank simulator's other faults, one after another under load: slow
# answers (latency past the timeout), a share of requests dropped, garbage
# answers, connections closed, connections refused. Through all of it the
# gateway answers every request once (91 where the bank failed it),
# reconnects, reverses what timed out, and the bank's books equal the
# approvals clients saw.
#
# Usage: test_bank_faults.sh <build dir> [rate pps]
source "$(dirname "$0")/lib.sh"
pg_init "$1"
source "$PG_SRC/tests/integration/stack.sh"

rate=${2:-1500}

pg_start_banksim --latency fixed:200 --seed 10 --ctl "$PG_TMP/bank.ctl"
pg_wait_file "$PG_TMP/bank.ctl"
PG_BANK_TIMEOUT_MS=300 PG_BREAKER_OPEN_MS=500 PG_SLOTS=64 PG_IDEM_PER_SLOT=8192 PG_WORKER_SLEEP_US=5 \
	pg_write_config "$PG_TMP/paygate.ini" "$PG_BANK_PORT"
pg_start_gateway 0@0,1@0 "net_memif0,role=server,socket=$PG_TMP/memif.sock,socket-abstract=no"
pg_wait_file "$PG_TMP/memif.sock"

pg_start_pktgen pktgen \
	--duration 12 --rate "$rate" --flows 64 --seed 15 --mix valid=90,bad_luhn=10 \
	--drain-ms 4000 --json "$PG_TMP/pktgen.json"
sleep 1
echo "slow:    $(bank_fault latency fixed:500000)"; sleep 1.5; bank_fault latency fixed:200 >/dev/null
sleep 1; t0=$(gw_stats 'c["timeouts"]')
echo "drop:    $(bank_fault drop 0.3)"; sleep 1; bank_fault drop 0 >/dev/null
sleep 1; g0=$(gw_stats 'c["bank_garbage"]')
echo "garbage: $(bank_fault garbage 0.2)"; sleep 1; bank_fault garbage 0 >/dev/null
g1=$(gw_stats 'c["bank_garbage"]')
sleep 1; d0=$(gw_stats 'c["disconnects"]')
echo "close:   $(bank_fault close)"; sleep 1
d1=$(gw_stats 'c["disconnects"]'); c1=$(gw_stats 'c["connects"]')
echo "refuse:  $(bank_fault refuse on)"; sleep 1.5
ctl show banks
refused_state=$(ctl --json show banks | python3 -c 'import json,sys; b = json.load(sys.stdin)["banks"][0]; print(b["breaker"], b["links_up"])')
echo "refuse off: $(bank_fault refuse off)"
# Reconnection waits for the link's backoff (doubling while refused).
reconnected=0
for _ in $(seq 1 100); do
	if [ "$(ctl --json show banks | python3 -c 'import json,sys; b = json.load(sys.stdin)["banks"][0]; print(b["links_up"] == b["links"])')" = True ]; then
		reconnected=1
		break
	fi
	sleep 0.1
done
wait "$(pg_pid pktgen)" || true
for _ in $(seq 1 100); do
	[ "$(gw_stats 'c["reversals_acked"] >= c["reversals_queued"]')" = True ] && break
	sleep 0.1
done
ctl show banks
c2=$(gw_stats 'c["connects"]')
pg_stop gateway 20
pg_stop banksim 10

g=$PG_TMP/gateway.json
p=$PG_TMP/pktgen.json
b=$PG_TMP/balances.csv
echo "control: $(pg_json "$g" '{k: d["control"][k] for k in ("timeouts","bank_garbage","connects","disconnects","breaker_opened","reversals_queued","reversals_acked","late_answers")}')"
echo "pktgen: $(pg_json "$p" '{k: d[k] for k in ("sent","received","lost","duplicates","approved_count","codes")}')"
echo "bank: $(tail -n 1 "$b")"

pg_check "slow answers timed out (91) and late answers were counted" \
	test "$(pg_json "$g" 'd["control"]["late_answers"] > 0')" = True
pg_check "dropped requests timed out" test "$(pg_json "$g" 'd["control"]["timeouts"]')" -gt "$t0"
pg_check "garbage answers counted" test "$((g1 - g0))" -gt 0
pg_check "closed connections noticed" test "$((d1 - d0))" -gt 0
pg_check "while refused: breaker open, no link up" test "$refused_state" != "closed 2"
pg_check "links reconnected afterwards" test "$reconnected" -eq 1 -a "$c2" -gt "$c1"
pg_check "every timed-out request reversed and acknowledged" \
	test "$(pg_json "$g" 'd["control"]["reversals_acked"] == d["control"]["reversals_queued"] >= d["control"]["timeouts"] > 0')" = True
pg_check "every request answered once" test "$(pg_json "$p" 'd["lost"] + d["duplicates"]')" -eq 0
pg_check "bank's net approvals equal the approvals clients saw" \
	test "$(( $(bank_total approved_count) - $(bank_total reversed_count) ))" -eq "$(pg_json "$p" 'd["approved_count"]')"
pg_check "balances add up per card" \
	python3 "$PG_SRC/tests/integration/check_balances.py" "$PG_SRC/configs/cards.csv" "$b"
pg_checks_done
