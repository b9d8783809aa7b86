#!/usr/bin/env bash
# The spine, end to end with real processes:
#   paygate-pktgen <-- net_memif --> paygate <-- TCP --> paygate-banksim
# A mixed workload of at least 100 000 requests at a moderate rate; every
# well-formed request must be answered exactly once with the code pktgen
# expects, malformed frames counted, retransmissions answered from the
# idempotency table, and the bank's balances must move by the approvals.
#
# Usage: test_spine.sh <build dir> [requests] [rate pps]
source "$(dirname "$0")/lib.sh"
pg_init "$1"
source "$PG_SRC/tests/integration/stack.sh"

count=${2:-100000}
rate=${3:-20000}

pg_start_banksim --latency uniform:50:500 --seed 11
# Workers sleep when idle: gateway, pktgen and the bank share two CPUs.
PG_WORKER_SLEEP_US=5 pg_write_config "$PG_TMP/paygate.ini" "$PG_BANK_PORT"
pg_start_gateway 0@0,1@0 "net_memif0,role=server,socket=$PG_TMP/memif.sock,socket-abstract=no"
pg_wait_file "$PG_TMP/memif.sock"

# shellcheck disable=SC2046
"$PG_PKTGEN" $(pg_eal pg) --lcores 0@1 \
	--vdev "net_memif0,role=client,socket=$PG_TMP/memif.sock,socket-abstract=no" -- \
	--merchants "$PG_SRC/configs/merchants.csv" --cards "$PG_SRC/configs/cards.csv" \
	--count "$count" --rate "$rate" --flows 64 --seed 42 \
	--mix valid=60,bad_luhn=5,expired=5,unknown_merchant=5,insufficient=5,lost=4,stolen=4,over_limit=6,echo=6 \
	--mti 0100=50,0200=50 --retransmit 0.05 --dup-inflight 0.01 --malformed 0.02 \
	--drain-ms 3000 --json "$PG_TMP/pktgen.json" >"$PG_TMP/pktgen.log" 2>&1

pg_stop gateway 20
pg_stop banksim 10

p=$PG_TMP/pktgen.json
g=$PG_TMP/gateway.json
b=$PG_TMP/balances.csv
echo "pktgen: $(pg_json "$p" '{k: d[k] for k in ("sent","received","lost","mismatches","duplicates","unexpected")}')"
echo "codes:  $(pg_json "$p" 'd["codes"]')"
echo "gateway total: $(pg_json "$g" '{k: v for k, v in d["total"].items() if k not in ("codes","drops")}')"
echo "bank:   $(tail -n 1 "$b")"


pg_check "at least $count requests sent" \
	test "$(pg_json "$p" 'd["sent"]')" -ge "$count"
pg_check "none lost" test "$(pg_json "$p" 'd["lost"]')" -eq 0
pg_check "no mismatched code" test "$(pg_json "$p" 'd["mismatches"]')" -eq 0
pg_check "no duplicate answer" test "$(pg_json "$p" 'd["duplicates"]')" -eq 0
pg_check "no unexpected answer" test "$(pg_json "$p" 'd["unexpected"]')" -eq 0
pg_check "answers by code equal expectations" \
	test "$(pg_json "$p" 'd["codes"] == d["expected_codes"]')" = True
pg_check "every code of the mix was exercised" \
	test "$(pg_json "$p" 'all(d["codes"].get(c, 0) > 0 for c in ("00","03","14","30","41","43","51","54","61"))')" = True
pg_check "unanswerable malformed frames counted as drops by the gateway" \
	test "$(pg_json "$g" 'sum(v for k, v in d["total"]["drops"].items())')" -ge \
	"$(pg_json "$p" 'd["malformed_unanswerable"]')"
pg_check "answerable malformed frames answered 30" \
	test "$(pg_json "$g" 'd["total"]["codes"].get("30", 0)')" -eq \
	"$(pg_json "$p" 'd["expected_codes"].get("30", 0)')"
# Bank outcomes are stored; declines decided from the message alone are
# recomputed (docs/protocol.md), so only the former are replays.
pg_check "retransmissions of bank-decided requests answered from the idempotency table" \
	test "$(pg_json "$g" 'd["total"]["idem_replayed"]')" -eq \
	"$(pg_json "$p" 'd["retransmits_stored"]')"
pg_check "retransmissions were sent" test "$(pg_json "$p" 'd["retransmits_sent"]')" -gt 0
pg_check "in-flight duplicates absorbed, not sent to the bank" \
	test "$(pg_json "$g" 'd["total"]["idem_absorbed"]')" -eq \
	"$(pg_json "$p" 'd["dup_inflight_sent"]')"
pg_check "bank approvals equal approvals pktgen received" \
	test "$(bank_total approved_count)" -eq "$(pg_json "$p" 'd["approved_count"]')"
pg_check "bank debits equal approved amounts" \
	test "$(bank_total approved_amount)" -eq "$(pg_json "$p" 'd["approved_amount"]')"
pg_check "balances: opening minus approved = closing, per card" \
	python3 "$PG_SRC/tests/integration/check_balances.py" \
	"$PG_SRC/configs/cards.csv" "$b"
pg_check "no bank timeouts" test "$(pg_json "$g" 'd["control"]["timeouts"]')" -eq 0
pg_checks_done
