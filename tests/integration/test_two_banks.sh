#!/usr/bin/env bash
# Two issuers routed by BIN: the default bank and "mc" for 510000-519999,
# each its own paygate-banksim. Bank mc stalls under load: only its breaker
# opens, only its cards get 91 at once, the default bank's cards keep
# being approved; mc comes back and its breaker closes. Each bank's books
# hold only its own cards, and together they equal the approvals clients
# saw.
#
# Usage: test_two_banks.sh <build dir> [rate pps]
source "$(dirname "$0")/lib.sh"
pg_init "$1"
source "$PG_SRC/tests/integration/stack.sh"

rate=${2:-2000}
banks() { ctl --json show banks | python3 -c "import json,sys; b = {x['name']: x for x in json.load(sys.stdin)['banks']}; print($1)"; }

pg_start_banksim --latency fixed:200 --seed 8
pg_start banksim_mc "$PG_BANKSIM" --listen 127.0.0.1:0 --port-file "$PG_TMP/mc.port" \
	--cards "$PG_SRC/configs/cards.csv" --balances-out "$PG_TMP/balances-mc.csv" \
	--latency fixed:200 --seed 9 --ctl "$PG_TMP/mc.ctl"
pg_wait_file "$PG_TMP/mc.port"
pg_wait_file "$PG_TMP/mc.ctl"
PG_KEEPALIVE_MS=500 PG_BANK_TIMEOUT_MS=300 PG_SLOTS=64 PG_IDEM_PER_SLOT=8192 PG_WORKER_SLEEP_US=5 \
	pg_write_config "$PG_TMP/paygate.ini" "$PG_BANK_PORT"
cat >>"$PG_TMP/paygate.ini" <<CFG

[bank.mc]
host = 127.0.0.1
port = $(cat "$PG_TMP/mc.port")
connections = 2
bins = 510000-519999
CFG
pg_start_gateway 0@0,1@0 "net_memif0,role=server,socket=$PG_TMP/memif.sock,socket-abstract=no"
pg_wait_file "$PG_TMP/memif.sock"
pg_check "both banks connected" test "$(banks 'b["default"]["links_up"] + b["mc"]["links_up"]')" -eq 4

pg_start_pktgen pktgen \
	--duration 9 --rate "$rate" --flows 64 --seed 14 --mix valid=90,bad_luhn=10 \
	--drain-ms 4000 --json "$PG_TMP/pktgen.json"
sleep 2
echo "== mc stalls: $(BANK_CTL="$PG_TMP/mc.ctl" bank_fault stall on)"
sleep 2
ctl show banks
state_mc=$(banks 'b["mc"]["breaker"]')
state_default=$(banks 'b["default"]["breaker"]')
a0=$(banks 'b["default"]["answered"]'); sleep 1; a1=$(banks 'b["default"]["answered"]')
echo "== mc back: $(BANK_CTL="$PG_TMP/mc.ctl" bank_fault stall off)"
wait "$(pg_pid pktgen)" || true
for _ in $(seq 1 100); do
	[ "$(ctl --json show stats | python3 -c 'import json,sys; c = json.load(sys.stdin)["control"]; print(c["reversals_acked"] >= c["reversals_queued"])')" = True ] && break
	sleep 0.1
done
ctl show banks
state_mc_after=$(banks 'b["mc"]["breaker"]')
mc_timeouts=$(banks 'b["mc"]["errors"]["timeouts"]')
default_timeouts=$(banks 'b["default"]["errors"]["timeouts"]')
in_flight_end=$(banks 'b["mc"]["in_flight"] + b["default"]["in_flight"]')
pg_stop gateway 20
pg_stop banksim 10
pg_stop banksim_mc 10

g=$PG_TMP/gateway.json
p=$PG_TMP/pktgen.json
echo "pktgen: $(pg_json "$p" '{k: d[k] for k in ("sent","received","lost","duplicates","approved_count","codes")}')"
echo "default: $(tail -n 1 "$PG_TMP/balances.csv")"
echo "mc:      $(tail -n 1 "$PG_TMP/balances-mc.csv")"
# Rows whose masked PAN starts 51 belong to mc, the rest to default.
foreign_rows() {
	awk -F, -v mine="$2" 'NR > 1 && $1 !~ /^#/ { is51 = substr($2, 1, 2) == "51"; if ((mine == "51") != is51 && $4 > 0) bad++ } END { print bad + 0 }' "$1"
}
net() { grep '^#total' "$1" | tr ',' '\n' | awk -F= '$1 == "approved_count" {a = $2} $1 == "reversed_count" {r = $2} END {print a - r}'; }

pg_check "mc's breaker opened during its stall" test "$state_mc" != closed
pg_check "the default bank's stayed closed" test "$state_default" = closed
pg_check "the default bank kept answering meanwhile" test "$((a1 - a0))" -gt 300
pg_check "mc's breaker closed again" test "$state_mc_after" = closed
pg_check "nothing left in flight at either bank at the end" test "$in_flight_end" -eq 0
pg_check "timeouts counted against mc only" test "$mc_timeouts" -gt 0 -a "$default_timeouts" -eq 0
pg_check "workers answered mc's cards 91 at once" test "$(pg_json "$g" 'd["total"]["breaker_91"]')" -gt 0
pg_check "the default bank saw no 51xxxx card" test "$(foreign_rows "$PG_TMP/balances.csv" 40)" -eq 0
pg_check "mc saw only 51xxxx cards" test "$(foreign_rows "$PG_TMP/balances-mc.csv" 51)" -eq 0
pg_check "both banks approved something" \
	test "$(net "$PG_TMP/balances.csv")" -gt 0 -a "$(net "$PG_TMP/balances-mc.csv")" -gt 0
pg_check "nothing lost, nothing answered twice" test "$(pg_json "$p" 'd["lost"] + d["duplicates"]')" -eq 0
pg_check "the banks' net approvals add up to what clients saw" \
	test "$(( $(net "$PG_TMP/balances.csv") + $(net "$PG_TMP/balances-mc.csv") ))" -eq "$(pg_json "$p" 'd["approved_count"]')"
pg_checks_done
