#!/usr/bin/env bash
# Shards benchmark (figures, not a test). In one run, same generator, same
# link (memif), fast-path workload (declines, echoes) unless said:
#
#   1. frames/s with 1 worker, and with 2 workers (pktgen spreads its
#      flows over 2 queue pairs). This machine has 2 CPUs and pktgen needs
#      one, so 2 workers share CPU 0: it shows the cost of a second worker,
#      not scaling; on a machine with free cores pin each worker to one.
#   2. cross-core dispatch: 2 workers, every frame received by worker A;
#      all slots on A (all local) vs all slots on B (all foreign, each frame
#      crosses a ring). Workers on CPU 0 and CPU 1, pktgen on CPU 1 too,
#      identical in both runs. Prints the ratio foreign/local.
#   3. latency during slot moves: 4 workers, check mode at a moderate rate
#      with bank-bound requests; p99 and max without moves, then with a
#      move of a hot merchant's slot every 20 ms.
#
# Usage: shards.sh <build dir> [seconds per run]
source "$(dirname "$0")/../integration/lib.sh"
pg_init "$1"
source "$PG_SRC/tests/integration/stack.sh"

secs=${2:-8}
mix="bad_luhn=30,expired=25,unknown_merchant=20,over_limit=15,echo=10"
CTL="$PG_BUILD/control/paygatectl"
ctl() { "$CTL" -s "$PG_TMP/ctl.sock" "$@"; }

# pktgen NAME QUEUES [args]: count mode unless args say otherwise.
pktgen() {
	local name=$1 queues=$2
	shift 2
	# shellcheck disable=SC2046
	"$PG_PKTGEN" $(pg_eal "pg$name") --lcores 0@1 \
		--vdev "net_memif0,role=client,socket=$PG_TMP/memif.sock,socket-abstract=no" -- \
		--merchants "$PG_SRC/configs/merchants.csv" --cards "$PG_SRC/configs/cards.csv" \
		--flows 256 --queues "$queues" --seed 5 --drain-ms 1000 \
		--json "$PG_TMP/$name.json" "$@" >"$PG_TMP/pktgen-$name.log" 2>&1
}
count_run() { pktgen "$1" "$2" --mode count --rate 0 --duration "$secs" --mix "$mix"; pg_json "$PG_TMP/$1.json" 'd["rx_mpps"]'; }

gateway() {
	local lcores=$1
	rm -f "$PG_TMP/memif.sock"
	pg_start_gateway "$lcores" "net_memif0,role=server,socket=$PG_TMP/memif.sock,socket-abstract=no"
	pg_wait_file "$PG_TMP/memif.sock"
}

echo "== 1. one worker vs two"
pg_write_config "$PG_TMP/paygate.ini" 9
gateway 0@0,1@0
one=$(count_run w1 1)
pg_stop gateway 20
gateway 0@0,1@0,2@0
two=$(count_run w2 2)
pg_stop gateway 20
echo "1 worker:  $one Mpps"
echo "2 workers: $two Mpps (both on CPU 0)"

echo "== 2. dispatch: all local vs all foreign"
PG_WORKER_SLEEP_US=5 pg_write_config "$PG_TMP/paygate.ini" 9
gateway 0@0,1@0,2@1
ctl drain lcore 2 >/dev/null        # every slot on lcore 1, which receives all
localr=$(count_run local 1)
ctl fill lcore 2 >/dev/null
ctl drain lcore 1 >/dev/null        # every slot on lcore 2: all cross a ring
foreign=$(count_run foreign 1)
pg_stop gateway 20
pg_json "$PG_TMP/gateway.json" '"  exchange: dispatched %d, local %d, stage_overflow %d" % (d["total"]["exchange"]["dispatched"], d["total"]["exchange"]["local"], d["total"]["exchange"]["stage_overflow"])'
echo "all local:   $localr Mpps"
echo "all foreign: $foreign Mpps"
python3 -c "import sys; l, f = map(float, sys.argv[1:]); print('dispatch_ratio=%.3f (foreign/local)' % (f / l if l > 0 else 0))" "$localr" "$foreign"

echo "== 3. latency during slot moves (4 workers, 5000 req/s, bank at 100 us)"
pg_start_banksim --latency fixed:100 --seed 3
PG_WORKER_SLEEP_US=20 pg_write_config "$PG_TMP/paygate.ini" "$PG_BANK_PORT"
gateway 0@0,1@0,2@0,3@0,4@0
lat_run() { pktgen "$1" 4 --rate 5000 --duration "$secs" --mix valid=70,bad_luhn=15,echo=15 \
	--merchant-dist zipf --zipf-s 1.1; }
lat_run still
hot=$(ctl --json show merchant M00000000000001 | python3 -c 'import json,sys; print(json.load(sys.stdin)["slot"])')
lat_run moving &
mover=$!
n=0
while kill -0 "$mover" 2>/dev/null; do
	ctl move slot "$hot" to $((1 + n % 4)) >/dev/null 2>&1 || true
	n=$((n + 1))
	sleep 0.02
done
wait "$mover" || true
ctl --json show shards >"$PG_TMP/shards.json"
pg_stop gateway 20
pg_stop banksim 10
for r in still moving; do
	pg_json "$PG_TMP/$r.json" '"%-7s sent %d lost %d mismatches %d reordered %d  p50 %.0f us  p99 %.0f us  p99.9 %.0f us  max %.0f us" % ("'$r'", d["sent"], d["lost"], d["mismatches"], d["reordered"], d["latency_us"]["p50"], d["latency_us"]["p99"], d["latency_us"]["p999"], d["latency_us"]["max"])'
done
pg_json "$PG_TMP/shards.json" '"moves %d (slot of the hottest merchant, every 20 ms); move time publish->token: last %.0f us, max %.0f us" % (d["moves"], d["last_move_us"], d["max_move_us"])'
