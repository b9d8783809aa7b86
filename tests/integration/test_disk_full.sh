#!/usr/bin/env bash
# The journal's disk fills up under load (the gateway's RLIMIT_FSIZE is cut
# to just above its segment, with prlimit: writes fail with EFBIG, as with
# ENOSPC), then space returns. While it is full no approval may be
# answered; after, service resumes without a restart; every approval a
# client saw is journalled.
#
# Usage: test_disk_full.sh <build dir> [rate pps]
source "$(dirname "$0")/lib.sh"
pg_init "$1"
source "$PG_SRC/tests/integration/stack.sh"

rate=${2:-2000}
JTOOL="$PG_BUILD/control/paygate-journal"
approvals() { ctl --json show stats | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"]["codes"].get("00", 0))'; }

pg_start_banksim --latency fixed:200 --seed 4
# Small batch buffers, so that a disk that stops taking writes is felt
# within a second rather than after 8 MB.
PG_SLOTS=64 PG_IDEM_PER_SLOT=8192 PG_WORKER_SLEEP_US=5 pg_write_config "$PG_TMP/paygate.ini" "$PG_BANK_PORT"
sed -i 's/^buffer_mb = .*/buffer_mb = 1/' "$PG_TMP/paygate.ini"
pg_start_gateway 0@0,1@0 "net_memif0,role=server,socket=$PG_TMP/memif.sock,socket-abstract=no"
pg_wait_file "$PG_TMP/memif.sock"
gw=$(pg_pid gateway)

pg_start_pktgen pktgen \
	--duration 9 --rate "$rate" --flows 64 --seed 8 --mix valid=90,bad_luhn=10 \
	--drain-ms 3000 --answers-out "$PG_TMP/answers.csv" --json "$PG_TMP/pktgen.json"

sleep 2
seg=$(ls "$PG_TMP"/journal/*.jnl | sort | tail -n 1)
limit=$(( $(stat -c %s "$seg") + 4096 ))
echo "== disk full: RLIMIT_FSIZE $limit on the gateway (segment $(basename "$seg"))"
prlimit --pid "$gw" --fsize=$limit:
sleep 1     # what was already durable drains out
a0=$(approvals)
sleep 3
a1=$(approvals)
failing=$(ctl --json show stats | python3 -c 'import json,sys; print(json.load(sys.stdin)["journal"]["failing"])')
echo "approvals answered while full: $((a1 - a0)) (journal failing: $failing)"
echo "== space returns"
prlimit --pid "$gw" --fsize=unlimited:
sleep 2
a2=$(approvals)
echo "approvals answered after: $((a2 - a1))"
wait "$(pg_pid pktgen)" || true
pg_stop gateway 20
pg_stop banksim 10
"$JTOOL" dump "$PG_TMP/journal" >"$PG_TMP/journal.csv"

g=$PG_TMP/gateway.json
echo "journal: $(pg_json "$g" 'd["journal"]')"
echo "control: $(pg_json "$g" '{k: d["control"][k] for k in ("journal_refused","unavailable","approvals_durable_wait","bank_tx")}')"
missing=$(python3 - "$PG_TMP" <<'PY'
import csv, sys
tmp = sys.argv[1]
dec = {}
for r in csv.DictReader(open(f"{tmp}/journal.csv")):
    if r["type"] == "decision" and r["outcome"] != "6":
        dec[(r["merchant"], r["terminal"], r["stan"], r["time7"])] = (r["rc"], r["auth"])
n = 0
for row in csv.reader(open(f"{tmp}/answers.csv")):
    if row[5] == "00":
        if dec.get((row[0].ljust(15), row[1], row[2], row[3])) != (row[5], row[6]):
            n += 1
print(n)
PY
)
pg_check "the journal failed to write while the disk was full" \
	test "$(pg_json "$g" 'd["journal"]["write_errors"]')" -gt 0
pg_check "no approval answered while the journal could not write" test "$((a1 - a0))" -eq 0
pg_check "approvals resumed once space returned, without a restart" test "$((a2 - a1))" -gt 100
pg_check "every approval a client saw is journalled" test "$missing" -eq 0
pg_check "the gateway refused rather than approve (91/96 while full)" \
	test "$(pg_json "$g" 'd["control"]["unavailable"] + d["control"]["journal_refused"]')" -gt 0
pg_check "pktgen: no duplicate answers" test "$(pg_json "$PG_TMP/pktgen.json" 'd["duplicates"]')" -eq 0
pg_checks_done
