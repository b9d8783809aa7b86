# shellcheck shell=bash
# Starting the three programs of a run, shared by the demo, the integration
# tests and the benchmark. Source after lib.sh and pg_init.

# pg_write_config FILE BANK_PORT [extra ini lines...]: a gateway config in
# $PG_TMP with the sample merchants, sized to fit in --no-huge -m 512.
pg_write_config() {
	local ini=$1 bank_port=$2
	shift 2
	cat >"$ini" <<EOF
[gateway]
mac = 02:00:00:00:00:01
ip = 198.18.0.1
udp_port = 8583
bitmap = ${PG_BITMAP:-binary}
merchants = ${PG_MERCHANTS:-$PG_SRC/configs/merchants.csv}
idle_sleep_us = ${PG_WORKER_SLEEP_US:-0}

[limits]
idem_ttl_ms = ${PG_IDEM_TTL_MS:-600000}
requests_max = 8191
mbufs = 8191
ring_size = 4096

[bank]
host = 127.0.0.1
port = $bank_port
connections = 2
bitmap = binary
timeout_ms = ${PG_BANK_TIMEOUT_MS:-2000}
inflight_max = 4096
reversal_retry_ms = ${PG_REVERSAL_RETRY_MS:-1000}
keepalive_ms = ${PG_KEEPALIVE_MS:-5000}
breaker_window_ms = 1000
breaker_min_requests = ${PG_BREAKER_MIN:-20}
breaker_failure_pct = ${PG_BREAKER_PCT:-50}
breaker_consecutive = ${PG_BREAKER_CONSECUTIVE:-5}
breaker_open_ms = ${PG_BREAKER_OPEN_MS:-1000}
breaker_probes = 3

[standin]
enabled = ${PG_STANDIN:-0}
max_amount = ${PG_STANDIN_MAX:-100000}
card_limit = ${PG_STANDIN_CARD:-200000}
merchant_limit = ${PG_STANDIN_MERCHANT:-1000000}

[journal]
dir = ${PG_JOURNAL_DIR:-$PG_TMP/journal}
segment_mb = ${PG_JOURNAL_SEGMENT_MB:-16}
batch_us = ${PG_JOURNAL_BATCH_US:-200}
batch_kb = 256
buffer_mb = 8
checkpoint_s = ${PG_CHECKPOINT_S:-60}
declines_per_s = ${PG_JOURNAL_DECLINES_PER_S:-20000}

[control]
idle_sleep_us = 20
socket = $PG_TMP/ctl.sock

[shards]
slots = ${PG_SLOTS:-256}
idem_entries_per_slot = ${PG_IDEM_PER_SLOT:-1024}
rebalance_ratio = ${PG_REBALANCE_RATIO:-1.25}
EOF
}

# pg_start_banksim [extra args]: sets PG_BANK_PORT.
pg_start_banksim() {
	pg_start banksim "$PG_BANKSIM" --listen 127.0.0.1:0 \
		--port-file "$PG_TMP/bank.port" \
		--cards "${PG_CARDS:-$PG_SRC/configs/cards.csv}" \
		--balances-out "$PG_TMP/balances.csv" "$@"
	pg_wait_file "$PG_TMP/bank.port"
	PG_BANK_PORT=$(cat "$PG_TMP/bank.port")
}

# pg_start_gateway LCORES VDEV... : the gateway on the given vdevs, config
# $PG_TMP/paygate.ini, counters to $PG_TMP/gateway.json at exit.
pg_start_gateway() {
	local lcores=$1
	shift
	local vdevs=() v
	for v in "$@"; do
		vdevs+=(--vdev "$v")
	done
	# shellcheck disable=SC2046
	pg_start gateway "$PG_GATEWAY" $(pg_eal gw) --lcores "$lcores" "${vdevs[@]}" \
		-- -c "$PG_TMP/paygate.ini" --stats-file "$PG_TMP/gateway.json"
	# Ports start once the bank link is up (or after 3 s without it).
	pg_wait_log gateway "paygate: running" 30
}

# Gateway's telemetry: pg_gateway_stats EXPR evaluates EXPR over the
# /paygate/stats answer `d`.
pg_gateway_stats() {
	python3 "$PG_SRC/tests/integration/telemetry.py" "${PG_TAG}_gw" /paygate/stats \
		>"$PG_TMP/telemetry.json" 2>/dev/null || return 1
	pg_json "$PG_TMP/telemetry.json" "$1"
}

# pg_start_pktgen NAME [options]: paygate-pktgen in the background on CPU 1,
# memif client of the gateway's $PG_TMP/memif.sock, with the sample
# merchants and cards unless the options name others (the last one wins).
pg_start_pktgen() {
	local name=$1
	shift
	# shellcheck disable=SC2046
	pg_start "$name" "$PG_PKTGEN" $(pg_eal "$name") --lcores 0@1 \
		--vdev "net_memif0,role=client,socket=$PG_TMP/memif.sock,socket-abstract=no" -- \
		--merchants "$PG_SRC/configs/merchants.csv" --cards "$PG_SRC/configs/cards.csv" "$@"
}

# This run's gateway through paygatectl.
PG_CTL="$PG_BUILD/control/paygatectl"
ctl() { "$PG_CTL" -s "$PG_TMP/ctl.sock" "$@"; }

# gw_stats EXPR: EXPR over `show stats --json` as d (its "control" as c).
gw_stats() {
	ctl --json show stats |
		python3 -c "import json,sys; d = json.load(sys.stdin); c = d['control']; print($1)"
}

# bank_fault COMMAND...: one command to paygate-banksim's --ctl socket
# ($PG_TMP/bank.ctl, or BANK_CTL); prints the answer, fails on an error.
bank_fault() {
	python3 - "${BANK_CTL:-$PG_TMP/bank.ctl}" "$*" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(sys.argv[2].encode() + b"\n")
r = s.recv(4096).decode(); print(r.strip()); sys.exit(0 if r.startswith("ok") else 1)
PY
}

# bank_total KEY: a total from the bank simulator's balances file.
bank_total() {
	grep '^#total' "${BANK_BALANCES:-$PG_TMP/balances.csv}" | tr ',' '\n' |
		awk -F= -v k="$1" '$1 == k {print $2}'
}
