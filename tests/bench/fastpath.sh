#!/usr/bin/env bash
# Fast-path benchmark (figures, not a test).
#
# In one run, with the same generator on the same link:
#   1. paygate on one worker lcore  <-- memif -->  paygate-pktgen (count mode)
#   2. dpdk-testpmd --forward-mode=macswap  <-- memif -->  paygate-pktgen (count mode)
# The workload is decided entirely on the data plane (declines, echoes,
# retransmissions of declines); pktgen sends as fast as it can and counts
# returned frames. Prints both rates, and as the last line
#   ratio_vs_testpmd=<paygate rate / testpmd rate>
#
# The responder gets CPU 0 and pktgen CPU 1, so each side has a core.
#
# Usage: fastpath.sh <build dir> [seconds per run]
source "$(dirname "$0")/../integration/lib.sh"
pg_init "$1"
source "$PG_SRC/tests/integration/stack.sh"

secs=${2:-10}
mix="bad_luhn=30,expired=25,unknown_merchant=20,over_limit=15,echo=10"

# run_pktgen NAME: count mode, full rate, for $secs; prints rx Mpps.
run_pktgen() {
	local name=$1
	# shellcheck disable=SC2046
	"$PG_PKTGEN" $(pg_eal "pg$name") --lcores 0@1 \
		--vdev "net_memif0,role=client,socket=$PG_TMP/$name.sock,socket-abstract=no" -- \
		--merchants "$PG_SRC/configs/merchants.csv" --cards "$PG_SRC/configs/cards.csv" \
		--mode count --rate 0 --duration "$secs" --drain-ms 500 --flows 256 \
		--mix "$mix" --retransmit 0.1 --seed 5 \
		--json "$PG_TMP/$name.json" >"$PG_TMP/pktgen-$name.log" 2>&1
	pg_json "$PG_TMP/$name.json" 'd["rx_mpps"]'
}

# 1. paygate. The bank is not needed: nothing in this mix reaches it, and
# a missing bank only means no connection for the control plane.
pg_write_config "$PG_TMP/paygate.ini" 9
pg_start_gateway 0@0,1@0 "net_memif0,role=server,socket=$PG_TMP/paygate.sock,socket-abstract=no"
pg_wait_file "$PG_TMP/paygate.sock"
paygate_mpps=$(run_pktgen paygate)
pg_stop gateway 20
echo "paygate:  $paygate_mpps Mpps answered (1 worker lcore)"
pg_json "$PG_TMP/gateway.json" '"  gateway rx %d tx %d handoff %d codes %s" % (d["total"]["rx"], d["total"]["tx"], d["total"]["handoff"], d["total"]["codes"])'

# 2. testpmd macswap in the same place. --stats-period keeps it running
# without a terminal (otherwise it waits for Enter on stdin and exits).
# shellcheck disable=SC2046
pg_start testpmd dpdk-testpmd $(pg_eal tp) --lcores 0@0,1@0 \
	--vdev "net_memif0,role=server,socket=$PG_TMP/testpmd.sock,socket-abstract=no" -- \
	--forward-mode=macswap --auto-start --no-mlockall --total-num-mbufs=16384 \
	--nb-cores=1 --stats-period 1
pg_wait_file "$PG_TMP/testpmd.sock"
testpmd_mpps=$(run_pktgen testpmd)
pg_stop testpmd 10 || true
echo "testpmd:  $testpmd_mpps Mpps returned (macswap, 1 forwarding lcore)"

python3 -c "import sys; p, t = float(sys.argv[1]), float(sys.argv[2]); print('ratio_vs_testpmd=%.3f' % (p / t if t > 0 else 0))" \
	"$paygate_mpps" "$testpmd_mpps"
