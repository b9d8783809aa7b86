#!/usr/bin/env bash
# pcap in -> pcap out, checked frame by frame:
#   paygate-pktgen --pcap-out requests.pcap   (deterministic: fixed seed and epoch)
#   paygate on net_pcap rx_pcap=requests.pcap,tx_pcap=answers.pcap, with banksim
#   paygate-pktgen --pcap-check answers.pcap  (every expected answer exactly once,
#                                              with its code; none for the unanswerable)
#
# Usage: [PG_BITMAP=hex] test_pcap.sh <build dir> [requests]
source "$(dirname "$0")/lib.sh"
pg_init "$1"
source "$PG_SRC/tests/integration/stack.sh"

count=${2:-5000}
# The listener's bitmap encoding (PG_BITMAP=hex for hex-ASCII bitmaps);
# the bank link stays binary, so hex requests are re-encoded on the way.
export PG_BITMAP=${PG_BITMAP:-binary}
gen=(--bitmap "$PG_BITMAP"
	--merchants "$PG_SRC/configs/merchants.csv" --cards "$PG_SRC/configs/cards.csv"
	--count "$count" --seed 7 --epoch 2026-11-25T12:00:00 --flows 16
	--mix valid=50,bad_luhn=8,expired=8,unknown_merchant=8,insufficient=6,lost=5,stolen=5,over_limit=5,echo=5
	--malformed 0.04)

# shellcheck disable=SC2046
"$PG_PKTGEN" $(pg_eal pgw) --lcores 0@1 -- "${gen[@]}" \
	--pcap-out "$PG_TMP/requests.pcap" --expect-out "$PG_TMP/expect.csv" \
	>"$PG_TMP/pktgen-write.log" 2>&1

pg_start_banksim --seed 3
pg_write_config "$PG_TMP/paygate.ini" "$PG_BANK_PORT"
# The frames carry a fixed epoch; the gateway judges expiry with its own
# clock, which agrees as long as it runs within two years of that epoch.
pg_start_gateway 0@0,1@0 \
	"net_pcap0,rx_pcap=$PG_TMP/requests.pcap,tx_pcap=$PG_TMP/answers.pcap"

# net_pcap reads the file once; wait until every bank round trip is back.
expected_answers=$(awk -F, 'NR > 1 && $5 != "-" {n++} END {print n + 0}' "$PG_TMP/expect.csv")
for _ in $(seq 1 300); do
	tx=$(pg_gateway_stats 'd["/paygate/stats"]["tx_sent"]' || echo 0)
	[ "${tx:-0}" -ge "$expected_answers" ] && break
	sleep 0.1
done
pg_stop gateway 20
pg_stop banksim 10

# shellcheck disable=SC2046
"$PG_PKTGEN" $(pg_eal pgc) --lcores 0@1 -- "${gen[@]}" \
	--pcap-check "$PG_TMP/answers.pcap" --expect "$PG_TMP/expect.csv" \
	--json "$PG_TMP/check.json" >"$PG_TMP/pktgen-check.log" 2>&1

c=$PG_TMP/check.json
echo "check: $(pg_json "$c" '{k: d[k] for k in ("sent","received","lost","mismatches","duplicates","unexpected")}')"
pg_check "$count requests written" test "$(pg_json "$c" 'd["sent"]')" -ge "$count"
pg_check "every expected answer present" test "$(pg_json "$c" 'd["lost"]')" -eq 0
pg_check "answers = expected answers ($expected_answers)" \
	test "$(pg_json "$c" 'd["received"]')" -eq "$expected_answers"
pg_check "no mismatch" test "$(pg_json "$c" 'd["mismatches"]')" -eq 0
pg_check "no duplicate" test "$(pg_json "$c" 'd["duplicates"]')" -eq 0
pg_check "no unexpected frame" test "$(pg_json "$c" 'd["unexpected"]')" -eq 0
pg_check "approvals came back from the bank" \
	test "$(pg_json "$c" 'd["codes"].get("00", 0)')" -gt 0
pg_checks_done
