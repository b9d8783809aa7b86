#!/usr/bin/env bash
# The demo: the bank simulator (long-tailed latency, like a real issuer),
# the gateway on two worker lcores, and pktgen on a memif link (two queue
# pairs) sending a mixed workload; halfway, paygatectl moves the hottest
# merchant's slot to the other lcore; then a summary of what each saw.
#
# Usage: demo.sh <build dir> [requests] [rate pps]
source "$(dirname "$0")/lib.sh"
pg_init "$1"
source "$PG_SRC/tests/integration/stack.sh"

count=${2:-50000}
rate=${3:-10000}

echo "== starting paygate-banksim (latency: log-normal, median 300 us, p99 3 ms)"
pg_start_banksim --latency longtail:300:3000 --seed 1
echo "== starting paygate (2 worker lcores, net_memif server, bank on 127.0.0.1:$PG_BANK_PORT)"
PG_WORKER_SLEEP_US=5 pg_write_config "$PG_TMP/paygate.ini" "$PG_BANK_PORT"
pg_start_gateway 0@0,1@0,2@0 "net_memif0,role=server,socket=$PG_TMP/memif.sock,socket-abstract=no"
pg_wait_file "$PG_TMP/memif.sock"

echo "== paygate-pktgen: $count requests at $rate/s (mixed: approvals, declines, malformed, retransmissions)"
# shellcheck disable=SC2046
"$PG_PKTGEN" $(pg_eal pg) --lcores 0@1 \
	--vdev "net_memif0,role=client,socket=$PG_TMP/memif.sock,socket-abstract=no" -- \
	--merchants "$PG_SRC/configs/merchants.csv" --cards "$PG_SRC/configs/cards.csv" \
	--count "$count" --rate "$rate" --seed 2026 --merchant-dist zipf --zipf-s 1.1 \
	--queues 2 \
	--mix valid=70,bad_luhn=4,expired=4,unknown_merchant=4,insufficient=4,lost=3,stolen=2,over_limit=4,echo=5 \
	--retransmit 0.03 --dup-inflight 0.01 --malformed 0.01 \
	--json "$PG_TMP/pktgen.json" 2>&1 | sed 's/^/  pktgen | /' &
pktgen_pid=$!

sleep $((count / rate / 2 + 1))
hot=$(ctl --json show merchant M00000000000001 | python3 -c 'import json,sys; d = json.load(sys.stdin); print(d["slot"], d["lcore"])')
read -r slot owner <<<"$hot"
other=$((owner == 1 ? 2 : 1))
echo "== paygatectl: the hottest merchant is in slot $slot on lcore $owner; moving it to lcore $other under load"
ctl move slot "$slot" to "$other" | sed 's/^/  paygatectl | /'
ctl show shards | head -n 11 | sed 's/^/  paygatectl | /'
wait "$pktgen_pid"

pg_stop gateway 20
pg_stop banksim 10

"$PG_BUILD/control/paygate-journal" summary "$PG_TMP/journal" >"$PG_TMP/journal.json"
python3 - "$PG_TMP/pktgen.json" "$PG_TMP/gateway.json" "$PG_TMP/balances.csv" "$PG_TMP/journal.json" <<'PY'
import json, sys
p = json.load(open(sys.argv[1]))
g = json.load(open(sys.argv[2]))
j = json.load(open(sys.argv[4]))
bank = [l for l in open(sys.argv[3]) if l.startswith("#total")][0].strip()
t = g["total"]
lat = p["latency_us"]
print()
print("=== paygate demo summary ===")
print(f"pktgen   sent {p['sent']}  answered {p['received']}  lost {p['lost']}  "
      f"mismatches {p['mismatches']}  duplicates {p['duplicates']}  reordered {p['reordered']}")
print(f"latency  p50 {lat['p50']} us  p90 {lat['p90']} us  p99 {lat['p99']} us  "
      f"p99.9 {lat['p999']} us  max {lat['max']} us  (from intended send time)")
print("codes    " + "  ".join(f"{k}:{v}" for k, v in sorted(p["codes"].items())))
print(f"gateway  rx {t['rx']}  tx {t['tx']}  handed to bank {t['handoff']}  "
      f"replayed {t['idem_replayed']}  absorbed {t['idem_absorbed']}  "
      f"dropped {sum(t['drops'].values())}")
x = t["exchange"]
print(f"shards   {len(g['workers'])} lcores  decided where received {x['local']}  "
      f"crossed to the owner {x['dispatched']}  slot moves {t['moves']}  "
      f"parked during moves {x['parked']}")
c = g["control"]
print(f"control  bank requests {c['bank_tx']}  answers {c['bank_rx']}  timeouts {c['timeouts']}")
print(f"bank     {bank.replace('#total,', '').replace(',', '  ')}")
print(f"journal  {j['records']} records  {j['requests']} requests  {j['approvals']} approvals durable  "
      f"{j['dataplane_declines']} declines noted  {j['at_bank']} left at the bank")
bank_approved = int(dict(kv.split("=") for kv in bank.split(",")[1:])["approved_count"])
ok = (p["lost"] == 0 and p["mismatches"] == 0 and p["duplicates"] == 0 and p["reordered"] == 0
      and j["approvals"] == bank_approved == p["approved_count"])
print("result   " + ("every request answered once, as expected; every approval journalled "
                      "and in the bank's books" if ok else "PROBLEMS: see above"))
sys.exit(0 if ok else 1)
PY
