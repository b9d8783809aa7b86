#!/usr/bin/env bash
# Shards under live migration, with real processes: paygate on 4 worker
# lcores (4 memif queue pairs; pktgen spreads its flows over them, so most
# frames are received by a worker that does not own their merchant), while
# this script moves merchants' slots between lcores every few milliseconds
# with paygatectl, and drains and refills one lcore.
#
# At the end: nothing lost, duplicated or reordered (per merchant within a
# flow, among answers the gateway decides itself), no mismatched code,
# retransmissions after a move answered from the moved state, bank
# outcomes that returned during a move answered by the new owner, and the
# bank's balances equal to the approvals.
#
# Usage: test_shards.sh <build dir> [requests] [rate pps]
source "$(dirname "$0")/lib.sh"
pg_init "$1"
source "$PG_SRC/tests/integration/stack.sh"

count=${2:-50000}
rate=${3:-6000}

pg_start_banksim --latency uniform:200:3000 --seed 5
PG_WORKER_SLEEP_US=20 pg_write_config "$PG_TMP/paygate.ini" "$PG_BANK_PORT"
# main lcore 0, workers 1..4: mapped onto the two CPUs.
pg_start_gateway 0@0,1@0,2@0,3@0,4@0 \
	"net_memif0,role=server,socket=$PG_TMP/memif.sock,socket-abstract=no"
pg_wait_file "$PG_TMP/memif.sock"

# The control socket: private, answers, refuses nonsense without dying.
pg_check "control socket is mode 0600" test "$(stat -c %a "$PG_TMP/ctl.sock")" = 600
pg_check "show lcores lists 4 workers" \
	test "$(ctl --json show lcores | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["lcores"]))')" -eq 4
rc=0; ctl frobnicate 2>/dev/null || rc=$?
pg_check "unknown command refused (exit 1)" test "$rc" -eq 1
rc=0; ctl move slot 99999 to 1 2>/dev/null || rc=$?
pg_check "out-of-range slot refused (exit 1)" test "$rc" -eq 1
rc=0; ctl move slot 1 to 0 2>/dev/null || rc=$?
pg_check "main lcore is not a worker (exit 1)" test "$rc" -eq 1
rc=0; printf 'show\0stats\n' | python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(sys.stdin.buffer.read())
sys.exit(0 if s.recv(100).startswith(b"error") else 1)' "$PG_TMP/ctl.sock" || rc=$?
pg_check "request with a NUL byte gets an error" test "$rc" -eq 0
python3 - "$PG_TMP/ctl.sock" <<'PY'
# Hostile clients: random bytes, an endless line, a client that says
# nothing and goes; the gateway answers or hangs up, and stays up.
import os, random, socket, sys
random.seed(3)
for n in (1, 17, 511, 512, 513, 4096, 100000):
    s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
    try:
        s.sendall(bytes(random.randrange(256) for _ in range(n)))
        s.shutdown(socket.SHUT_WR); s.recv(4096)
    except OSError:
        pass
    s.close()
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.close()
PY
ctl_quiet() { ctl "$@" >/dev/null; }
pg_check "gateway still answers after hostile control clients" ctl_quiet show stats
rc=0; "$PG_CTL" -s "$PG_TMP/nothing.sock" show stats 2>/dev/null || rc=$?
pg_check "no gateway: exit 2" test "$rc" -eq 2

# The merchants' slots: the ones worth moving.
mapfile -t slots < <(for m in $(grep -v "^#" "$PG_SRC/configs/merchants.csv" | tail -n +2 | cut -d, -f1); do
	ctl --json show merchant "$m" | python3 -c 'import json,sys; print(json.load(sys.stdin)["slot"])'
done | sort -un)
echo "merchant slots: ${slots[*]}"

pg_start_pktgen pktgen \
	--count "$count" --rate "$rate" --flows 64 --queues 4 --seed 7 \
	--mix valid=60,bad_luhn=5,expired=5,unknown_merchant=5,insufficient=5,lost=4,stolen=4,over_limit=6,echo=6 \
	--mti 0100=50,0200=50 --retransmit 0.05 --dup-inflight 0.01 --malformed 0.01 \
	--drain-ms 5000 --json "$PG_TMP/pktgen.json"
pktgen_pid=$(pg_pid pktgen)

# Move while traffic flows: random merchant slots to random workers, and
# once a drain of lcore 2 and a refill.
lcores=(1 2 3 4)
moves=0 move_fail=0 drained=0 i=0
RANDOM=17
while kill -0 "$pktgen_pid" 2>/dev/null; do
	i=$((i + 1))
	if [ $i -eq 150 ]; then
		ctl drain lcore 2 >>"$PG_TMP/moves.log" 2>&1 && drained=$((drained + 1)) || move_fail=$((move_fail + 1))
	elif [ $i -eq 300 ]; then
		ctl fill lcore 2 >>"$PG_TMP/moves.log" 2>&1 && drained=$((drained + 1)) || move_fail=$((move_fail + 1))
	else
		s=${slots[$((RANDOM % ${#slots[@]}))]}
		l=${lcores[$((RANDOM % 4))]}
		if [ $i -gt 150 ] && [ $i -lt 300 ] && [ "$l" = 2 ]; then l=3; fi
		if ctl move slot "$s" to "$l" >>"$PG_TMP/moves.log" 2>&1; then
			moves=$((moves + 1))
		else
			move_fail=$((move_fail + 1))
		fi
	fi
	sleep 0.005
done
wait "$pktgen_pid" || true
ctl --json show shards >"$PG_TMP/shards.json"
echo "moves by this script: $moves ok, $move_fail refused; drain/fill: $drained"

pg_stop gateway 20
pg_stop banksim 10

p=$PG_TMP/pktgen.json
g=$PG_TMP/gateway.json
b=$PG_TMP/balances.csv
echo "pktgen: $(pg_json "$p" '{k: d[k] for k in ("sent","received","lost","mismatches","duplicates","unexpected","reordered","ordered_checked")}')"
echo "gateway: $(pg_json "$g" '{k: d["total"][k] for k in ("rx","handoff","results","results_moved","idem_replayed","idem_replayed_moved","idem_absorbed","moves","slots_moved")}')"
echo "exchange: $(pg_json "$g" 'd["total"]["exchange"]')"
echo "per lcore (local, dispatched): $(pg_json "$g" '[(w["lcore"], w["exchange"]["local"], w["exchange"]["dispatched"]) for w in d["workers"]]')"
echo "bank: $(tail -n 1 "$b")"

pg_check "at least $count requests sent" test "$(pg_json "$p" 'd["sent"]')" -ge "$count"
pg_check "moves happened under load (>= 100)" test "$moves" -ge 100
pg_check "no move refused" test "$move_fail" -eq 0
pg_check "lcore 2 drained and refilled" test "$drained" -eq 2
pg_check "none lost" test "$(pg_json "$p" 'd["lost"]')" -eq 0
pg_check "no duplicate answer" test "$(pg_json "$p" 'd["duplicates"]')" -eq 0
pg_check "no unexpected answer" test "$(pg_json "$p" 'd["unexpected"]')" -eq 0
pg_check "no mismatched code" test "$(pg_json "$p" 'd["mismatches"]')" -eq 0
pg_check "order checked on many answers" test "$(pg_json "$p" 'd["ordered_checked"]')" -gt $((count / 10))
pg_check "none reordered within a flow" test "$(pg_json "$p" 'd["reordered"]')" -eq 0
pg_check "answers by code equal expectations" \
	test "$(pg_json "$p" 'd["codes"] == d["expected_codes"]')" = True
pg_check "frames crossed lcores" test "$(pg_json "$g" 'd["total"]["exchange"]["dispatched"]')" -gt 1000
pg_check "frames parked during moves and replayed" \
	test "$(pg_json "$g" 'd["total"]["exchange"]["replayed"] == d["total"]["exchange"]["parked"] > 0')" = True
pg_check "no exchange overflow" \
	test "$(pg_json "$g" 'sum(d["total"]["exchange"][k] for k in ("park_overflow","stage_overflow","stage_overflow_critical","handover_missing"))')" -eq 0
pg_check "retransmissions answered from the table" \
	test "$(pg_json "$g" 'd["total"]["idem_replayed"]')" -eq "$(pg_json "$p" 'd["retransmits_stored"]')"
pg_check "some of them from state that had moved lcore" \
	test "$(pg_json "$g" 'd["total"]["idem_replayed_moved"]')" -gt 0
pg_check "bank outcomes that returned after a move reached the new owner" \
	test "$(pg_json "$g" 'd["total"]["results_moved"]')" -gt 0
pg_check "in-flight duplicates absorbed" \
	test "$(pg_json "$g" 'd["total"]["idem_absorbed"]')" -eq "$(pg_json "$p" 'd["dup_inflight_sent"]')"
pg_check "no bank outcome lost its table entry" test "$(pg_json "$g" 'd["total"]["results_idem_lost"]')" -eq 0
pg_check "bank approvals equal approvals pktgen received" \
	test "$(bank_total approved_count)" -eq "$(pg_json "$p" 'd["approved_count"]')"
pg_check "balances: opening minus approved = closing, per card" \
	python3 "$PG_SRC/tests/integration/check_balances.py" "$PG_SRC/configs/cards.csv" "$b"
pg_checks_done
