#!/usr/bin/env bash
# Bank-path benchmark (figures, not a test): every request goes to the bank
# (banksim answering at once) and every approval waits for its journal
# record to be durable. pktgen offers increasing open-loop rates; for each,
# answered rate, latency percentiles and the journal's group commits.
# Gateway: 1 worker on CPU 0; pktgen and banksim share CPU 1.
#
# Usage: bank_path.sh <build dir> [seconds per rate] [rates...]
source "$(dirname "$0")/../integration/lib.sh"
pg_init "$1"
source "$PG_SRC/tests/integration/stack.sh"

secs=${2:-5}
shift 2 || true
rates=("${@:-5000 10000 20000 40000}")
# shellcheck disable=SC2206
rates=(${rates[*]})

pg_start_banksim --latency fixed:0 --seed 1
printf '%8s %10s %8s %8s %8s %8s %8s %8s %10s %12s %14s\n' offered answered lost \
	code91 p50_us p99_us p999_us max_us fsyncs/s recs/fsync commit_max_ms
for rate in "${rates[@]}"; do
	rm -rf "$PG_TMP/journal" "$PG_TMP/memif.sock"
	PG_SLOTS=64 PG_IDEM_PER_SLOT=8192 pg_write_config "$PG_TMP/paygate.ini" "$PG_BANK_PORT"
	pg_start_gateway 0@0,1@0 "net_memif0,role=server,socket=$PG_TMP/memif.sock,socket-abstract=no"
	pg_wait_file "$PG_TMP/memif.sock"
	# shellcheck disable=SC2046
	"$PG_PKTGEN" $(pg_eal "pg$rate") --lcores 0@1 \
		--vdev "net_memif0,role=client,socket=$PG_TMP/memif.sock,socket-abstract=no" -- \
		--merchants "$PG_SRC/configs/merchants.csv" --cards "$PG_SRC/configs/cards.csv" \
		--duration "$secs" --rate "$rate" --flows 256 --seed 3 --mix valid=100 \
		--mti 0100=50,0200=50 --drain-ms 6000 \
		--json "$PG_TMP/bp$rate.json" >"$PG_TMP/pktgen$rate.log" 2>&1
	pg_stop gateway 20
	p=$PG_TMP/bp$rate.json
	g=$PG_TMP/gateway.json
	printf '%8s %10.0f %8s %8s %8.0f %8.0f %8.0f %8.0f %10.0f %12.1f %14.1f\n' "$rate" \
		"$(pg_json "$p" 'd["mpps"] * 1e6')" "$(pg_json "$p" 'd["lost"]')" \
		"$(pg_json "$p" 'd["codes"].get("91", 0)')" \
		"$(pg_json "$p" 'd["latency_us"]["p50"]')" "$(pg_json "$p" 'd["latency_us"]["p99"]')" \
		"$(pg_json "$p" 'd["latency_us"]["p999"]')" "$(pg_json "$p" 'd["latency_us"]["max"]')" \
		"$(pg_json "$g" 'd["journal"]["commits"] / '"$secs")" \
		"$(pg_json "$g" 'd["journal"]["appended"] / max(1, d["journal"]["commits"])')" \
		"$(pg_json "$g" 'd["journal"]["commit_us_max"] / 1e3')"
done
pg_stop banksim 10
