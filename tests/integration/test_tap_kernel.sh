#!/usr/bin/env bash
# A kernel client through net_tap: the tap interface is moved into a network
# namespace made for this test (so no traffic can reach anything else), the
# kernel there resolves the gateway by ARP, and a Python UDP client gets ISO
# 8583 answers, including a reversal of an approval. Needs root
# (namespaces, tap).
#
# Usage: test_tap_kernel.sh <build dir>
source "$(dirname "$0")/lib.sh"
pg_init "$1"
source "$PG_SRC/tests/integration/stack.sh"

if [ "$(id -u)" != 0 ] || ! command -v ip >/dev/null; then
	echo "needs root and iproute2: skipped"
	exit 77
fi
ns="pgns$$"
tap="pgtap$$"
tap=${tap:0:15}
cleanup_ns() { ip netns del "$ns" 2>/dev/null || true; }
trap 'cleanup_ns; pg_cleanup' EXIT

pg_start_banksim
pg_write_config "$PG_TMP/paygate.ini" "$PG_BANK_PORT"
pg_start_gateway 0@0,1@0 "net_tap0,iface=$tap"
ip netns add "$ns"
ip link set "$tap" netns "$ns"
ip -n "$ns" addr add 198.18.0.2/24 dev "$tap"
ip -n "$ns" link set "$tap" up
ip -n "$ns" link set lo up

rc=0
ip netns exec "$ns" python3 "$PG_SRC/tests/integration/tap_client.py" 198.18.0.1 8583 || rc=$?
neigh=$(ip -n "$ns" neigh show 198.18.0.1 dev "$tap")
echo "kernel neighbour entry: $neigh"
pg_stop gateway 20
pg_stop banksim 10
echo "bank: $(grep '^0,' "$PG_TMP/balances.csv") / $(tail -n 1 "$PG_TMP/balances.csv")"
pg_check "the bank debited once and credited the reversal back once" \
	grep -q '^0,[0-9*]*,1000000000,1,2500,1,2500$' "$PG_TMP/balances.csv"
pg_check "the kernel learnt the gateway's MAC by ARP" \
	grep -q "02:00:00:00:00:01" <<<"$neigh"
pg_check "the gateway counted its ARP replies" \
	test "$(pg_json "$PG_TMP/gateway.json" 'd["total"]["arp_replies"]')" -ge 1
pg_check "the kernel client got both answers" test "$rc" -eq 0
pg_checks_done
