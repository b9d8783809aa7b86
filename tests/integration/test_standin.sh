#!/usr/bin/env bash
# Stand-in processing: the bank stalls under load; with [standin] enabled
# the gateway approves within its limits (auth codes "S....."), journals
# those approvals and refuses the rest with 91; when the bank is back it
# sends each stand-in approval as an advice (0120) until acknowledged.
# The bank's books must then hold every approval any client saw.
#
# Usage: test_standin.sh <build dir> [rate pps]
source "$(dirname "$0")/lib.sh"
pg_init "$1"
source "$PG_SRC/tests/integration/stack.sh"

rate=${2:-2000}

pg_start_banksim --latency fixed:200 --seed 7 --ctl "$PG_TMP/bank.ctl"
pg_wait_file "$PG_TMP/bank.ctl"
PG_STANDIN=1 PG_STANDIN_MAX=8000 PG_STANDIN_CARD=50000 PG_STANDIN_MERCHANT=200000 \
	PG_BANK_TIMEOUT_MS=300 PG_SLOTS=64 PG_IDEM_PER_SLOT=8192 PG_WORKER_SLEEP_US=5 \
	pg_write_config "$PG_TMP/paygate.ini" "$PG_BANK_PORT"
pg_start_gateway 0@0,1@0 "net_memif0,role=server,socket=$PG_TMP/memif.sock,socket-abstract=no"
pg_wait_file "$PG_TMP/memif.sock"

pg_start_pktgen pktgen \
	--duration 9 --rate "$rate" --flows 64 --seed 13 --mix valid=90,bad_luhn=10 \
	--drain-ms 4000 --answers-out "$PG_TMP/answers.csv" --json "$PG_TMP/pktgen.json"

sleep 2
echo "== bank stalls: $(bank_fault stall on)"
wait "$(pg_pid pktgen)" || true
ctl show banks
# A restart while the bank is still away: the advices owed must survive
# it (and keep counting against the stand-in limits).
open_advices=$(gw_stats 'd["control"]["standin_approved"] - d["control"]["advices_acked"]')
approved_before=$(gw_stats 'd["control"]["standin_approved"]')
pg_stop gateway 20
mv "$PG_TMP/gateway.json" "$PG_TMP/gateway-1.json"
rm -f "$PG_TMP/memif.sock"
pg_start_gateway 0@0,1@0 "net_memif0,role=server,socket=$PG_TMP/memif.sock,socket-abstract=no"
resumed=$(sed -n 's/.* \([0-9]*\) advices resumed.*/\1/p' "$PG_TMP/gateway.log")
echo "advices open at stop: $open_advices, resumed after the restart: $resumed"
echo "== bank back: $(bank_fault stall off)"
for _ in $(seq 1 100); do
	[ "$(gw_stats 'd["control"]["advices_acked"] >= '"$open_advices"' and d["control"]["reversals_acked"] >= d["control"]["reversals_queued"]')" = True ] && break
	sleep 0.1
done
ctl show banks
pg_stop gateway 20
pg_stop banksim 10
"$PG_BUILD/control/paygate-journal" dump "$PG_TMP/journal" >"$PG_TMP/journal.csv"

g=$PG_TMP/gateway-1.json
g2=$PG_TMP/gateway.json
p=$PG_TMP/pktgen.json
b=$PG_TMP/balances.csv
echo "control: $(pg_json "$g" '{k: d["control"][k] for k in ("timeouts","breaker_opened","standin_approved","standin_over_limit","advices_sent","advices_acked","reversals_queued","reversals_acked")}')"
echo "pktgen: $(pg_json "$p" '{k: d[k] for k in ("sent","received","lost","duplicates","approved_count","codes")}')"
echo "bank: $(tail -n 1 "$b")"
standin_seen=$(awk -F, '$6 == "00" && substr($7, 1, 1) == "S"' "$PG_TMP/answers.csv" | wc -l)
max_standin_amount=$(python3 - "$PG_TMP/journal.csv" <<'PY'
import csv, sys
print(max([int(r["amount"]) for r in csv.DictReader(open(sys.argv[1])) if r["type"] == "advice_sent"] or [0]))
PY
)
echo "stand-in approvals clients saw: $standin_seen; largest stand-in amount: $max_standin_amount"

pg_check "stand-in approvals given while the bank stalled" \
	test "$(pg_json "$g" 'd["control"]["standin_approved"]')" -gt 10
pg_check "clients saw them, marked 'S'" test "$standin_seen" -eq "$(pg_json "$g" 'd["control"]["standin_approved"]')"
pg_check "requests over the stand-in limits refused (91)" \
	test "$(pg_json "$g" 'd["control"]["standin_over_limit"]')" -gt 0
pg_check "no stand-in approval above max_amount" test "$max_standin_amount" -le 8000
pg_check "the stall outlived the first run: advices were still open at the restart" \
	test "$open_advices" -gt 0
pg_check "every open advice resumed after the restart" test "${resumed:-0}" -eq "$open_advices"
pg_check "every stand-in approval advised and acknowledged (before or after the restart)" \
	test "$(( $(pg_json "$g" 'd["control"]["advices_acked"]') + $(pg_json "$g2" 'd["control"]["advices_acked"]') ))" -eq "$approved_before"
pg_check "the bank posted each advice once" \
	test "$(bank_total advised_count)" -eq "$(pg_json "$g" 'd["control"]["standin_approved"]')"
pg_check "every reversal acknowledged (after the restart)" \
	test "$(pg_json "$g2" 'd["control"]["reversals_acked"] == d["control"]["reversals_queued"]')" = True
pg_check "nothing lost, nothing answered twice" \
	test "$(pg_json "$p" 'd["lost"] + d["duplicates"]')" -eq 0
pg_check "bank's net approvals equal the approvals clients saw (stand-in included)" \
	test "$(( $(bank_total approved_count) - $(bank_total reversed_count) ))" -eq "$(pg_json "$p" 'd["approved_count"]')"
pg_check "balances add up per card" \
	python3 "$PG_SRC/tests/integration/check_balances.py" "$PG_SRC/configs/cards.csv" "$b"
pg_checks_done
