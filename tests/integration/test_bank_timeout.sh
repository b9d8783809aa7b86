#!/usr/bin/env bash
# The bank is slower than the gateway's timeout, then absent:
#   1. banksim answers after 400 ms, [bank] timeout_ms = 100: every request
#      the bank decides is answered 91 by the gateway at its timeout, once;
#      the fast path is unaffected; the bank's late answers are counted as
#      unmatched, not sent to anyone.
#   2. no bank listening at all: the same requests get 91 at once
#      (unavailable), none waits for a timeout.
#
# Usage: test_bank_timeout.sh <build dir> [requests]
source "$(dirname "$0")/lib.sh"
pg_init "$1"
source "$PG_SRC/tests/integration/stack.sh"

count=${2:-3000}
mix=valid=50,bad_luhn=10,expired=10,unknown_merchant=10,lost=10,echo=10

run_pktgen() {
	local name=$1
	shift
	# shellcheck disable=SC2046
	"$PG_PKTGEN" $(pg_eal "pg$name") --lcores 0@1 \
		--vdev "net_memif0,role=client,socket=$PG_TMP/memif.sock,socket-abstract=no" -- \
		--merchants "$PG_SRC/configs/merchants.csv" --cards "$PG_SRC/configs/cards.csv" \
		--count "$count" --rate 5000 --seed 9 --mix "$mix" "$@" \
		--bank-rc 91 --drain-ms 3000 --json "$PG_TMP/$name.json" >"$PG_TMP/pktgen-$name.log" 2>&1
}

echo "== 1. bank slower than the timeout"
pg_start_banksim --latency fixed:400000
# The breaker would stop the timeouts this phase is about: keep it closed
# (test_bank_stall.sh is the breaker's test).
PG_BREAKER_CONSECUTIVE=1000000 PG_BREAKER_PCT=100 PG_BREAKER_MIN=1000000 \
	PG_BANK_TIMEOUT_MS=100 PG_WORKER_SLEEP_US=5 pg_write_config "$PG_TMP/paygate.ini" "$PG_BANK_PORT"
pg_start_gateway 0@0,1@0 "net_memif0,role=server,socket=$PG_TMP/memif.sock,socket-abstract=no"
# In-flight duplicates: the worker absorbs them while the bank is silent.
run_pktgen slow --dup-inflight 0.02
# Let the bank's late answers arrive before the gateway stops.
sleep 1
pg_stop gateway 20
mv "$PG_TMP/gateway.json" "$PG_TMP/gateway-slow.json"
pg_stop banksim 10

p=$PG_TMP/slow.json
g=$PG_TMP/gateway-slow.json
echo "pktgen: $(pg_json "$p" '{k: d[k] for k in ("sent","received","lost","mismatches","duplicates")}') codes $(pg_json "$p" 'd["codes"]')"
echo "control: $(pg_json "$g" 'd["control"]')"
pg_check "none lost" test "$(pg_json "$p" 'd["lost"]')" -eq 0
pg_check "no mismatch: bank-decided requests answered 91, the rest as usual" \
	test "$(pg_json "$p" 'd["mismatches"]')" -eq 0
pg_check "no duplicate answer (absorbed retransmissions get the single 91)" \
	test "$(pg_json "$p" 'd["duplicates"]')" -eq 0
pg_check "91s were given" test "$(pg_json "$p" 'd["codes"].get("91", 0)')" -gt 0
pg_check "every 91 came from a timeout" \
	test "$(pg_json "$g" 'd["control"]["timeouts"]')" -eq "$(pg_json "$p" 'd["codes"]["91"]')"
pg_check "late bank answers counted as unmatched" \
	test "$(pg_json "$g" 'd["control"]["bank_unmatched"]')" -gt 0
pg_check "p50 latency at least the timeout (100 ms)" \
	python3 -c "import json,sys; d=json.load(open('$p')); sys.exit(0 if d['latency_us']['p50'] >= 90000 else 1)"

echo "== 2. no bank at all"
pg_write_config "$PG_TMP/paygate.ini" 9
pg_start_gateway 0@0,1@0 "net_memif0,role=server,socket=$PG_TMP/memif.sock,socket-abstract=no"
run_pktgen down
pg_stop gateway 20
p=$PG_TMP/down.json
g=$PG_TMP/gateway.json
echo "pktgen: $(pg_json "$p" '{k: d[k] for k in ("sent","received","lost","mismatches","duplicates")}') codes $(pg_json "$p" 'd["codes"]')"
pg_check "none lost" test "$(pg_json "$p" 'd["lost"]')" -eq 0
pg_check "no mismatch" test "$(pg_json "$p" 'd["mismatches"]')" -eq 0
# At once: by the control plane (no link) until the breaker opens, then by
# the workers without a hand-off.
pg_check "91s given at once (no link, then breaker open), no timeouts" \
	test "$(pg_json "$g" 'd["control"]["unavailable"] + d["total"]["breaker_91"]')" -eq "$(pg_json "$p" 'd["codes"]["91"]')"
pg_check "... and the breaker did open" test "$(pg_json "$g" 'd["control"]["breaker_opened"]')" -ge 1
pg_check "no timeouts without a bank" test "$(pg_json "$g" 'd["control"]["timeouts"]')" -eq 0
pg_check "p99 latency well under a timeout" \
	python3 -c "import json,sys; d=json.load(open('$p')); sys.exit(0 if d['latency_us']['p99'] < 50000 else 1)"
pg_checks_done
