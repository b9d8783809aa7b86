# shellcheck shell=bash
# Shared by the integration tests, the demo and the benchmark: a private temp
# dir, unique DPDK file prefixes, and the processes a run starts, all stopped
# on any exit (success, failure or signal).
#
# Usage: source lib.sh; pg_init <build dir>; pg_start NAME cmd...; ...

set -euo pipefail

PG_PIDS=()
PG_NAMES=()
PG_FAILED=0

pg_init() {
	PG_BUILD=$(cd "${1:?build dir}" && pwd)
	PG_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
	PG_TMP=$(mktemp -d /tmp/paygate-test.XXXXXX)
	PG_TAG="pg$$r$RANDOM"
	PG_GATEWAY="$PG_BUILD/paygate"
	PG_PKTGEN="$PG_BUILD/pktgen/paygate-pktgen"
	PG_BANKSIM="$PG_BUILD/control/banksim/paygate-banksim"
	trap pg_cleanup EXIT
	trap 'PG_FAILED=1; exit 130' INT TERM
}

# EAL arguments for one process: without hugepages --no-huge (which
# excludes --in-memory); with free hugepages --in-memory. A unique prefix
# either way, so that runs never collide.
pg_eal() {
	local who=$1
	local free
	free=$(awk '/HugePages_Free/ {print $2}' /proc/meminfo 2>/dev/null || echo 0)
	if [ "${free:-0}" -ge 512 ] && [ -z "${PG_NO_HUGE:-}" ]; then
		echo "--in-memory -m 512 --file-prefix ${PG_TAG}_$who --no-pci --log-level=*:warning"
	else
		echo "--no-huge -m 512 --file-prefix ${PG_TAG}_$who --no-pci --log-level=*:warning"
	fi
}

# pg_start NAME cmd... : start in the background, output to $PG_TMP/NAME.log
pg_start() {
	local name=$1
	shift
	"$@" >"$PG_TMP/$name.log" 2>&1 &
	PG_PIDS+=($!)
	PG_NAMES+=("$name")
}

# The most recent process started under that name.
pg_pid() {
	local i pid=""
	for i in "${!PG_NAMES[@]}"; do
		[ "${PG_NAMES[$i]}" = "$1" ] && pid=${PG_PIDS[$i]}
	done
	[ -n "$pid" ] && echo "$pid"
}

# Stop one process gracefully (SIGTERM, then SIGKILL after a grace time);
# returns its exit status.
pg_stop() {
	local name=$1 grace=${2:-10} pid rc=0 i
	pid=$(pg_pid "$name") || return 0
	if kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid" 2>/dev/null || true
		for ((i = 0; i < grace * 10; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		if kill -0 "$pid" 2>/dev/null; then
			echo "$name did not stop in ${grace}s: SIGKILL" >&2
			kill -KILL "$pid" 2>/dev/null || true
		fi
	fi
	wait "$pid" 2>/dev/null || rc=$?
	return $rc
}

pg_cleanup() {
	local rc=$?
	local i
	for i in "${!PG_PIDS[@]}"; do
		kill -TERM "${PG_PIDS[$i]}" 2>/dev/null || true
	done
	sleep 0.5
	for i in "${!PG_PIDS[@]}"; do
		kill -KILL "${PG_PIDS[$i]}" 2>/dev/null || true
		wait "${PG_PIDS[$i]}" 2>/dev/null || true
	done
	if [ $rc -ne 0 ] || [ $PG_FAILED -ne 0 ]; then
		local f
		for f in "$PG_TMP"/*.log; do
			[ -f "$f" ] || continue
			echo "----- $(basename "$f") (last 40 lines)"
			tail -n 40 "$f"
		done
	fi
	rm -rf "$PG_TMP" /var/run/dpdk/"${PG_TAG}"_* 2>/dev/null || true
	exit $rc
}

# Wait until a file exists and is non-empty (for port files, sockets).
pg_wait_file() {
	local f=$1 secs=${2:-20} i
	for ((i = 0; i < secs * 10; i++)); do
		[ -s "$f" ] || [ -S "$f" ] && return 0
		sleep 0.1
	done
	echo "timed out waiting for $f" >&2
	return 1
}

# Wait until a log line matching a pattern appears.
pg_wait_log() {
	local name=$1 pattern=$2 secs=${3:-30} i
	for ((i = 0; i < secs * 10; i++)); do
		grep -qE "$pattern" "$PG_TMP/$name.log" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "timed out waiting for '$pattern' in $name.log" >&2
	return 1
}

# Check helpers: each prints what it checked so that a failure says why.
PG_CHECKS=0
PG_CHECK_FAILS=0
pg_check() {
	local what=$1
	shift
	PG_CHECKS=$((PG_CHECKS + 1))
	if "$@"; then
		echo "  ok   $what"
	else
		echo "  FAIL $what"
		PG_CHECK_FAILS=$((PG_CHECK_FAILS + 1))
	fi
}

pg_checks_done() {
	echo "checks: $((PG_CHECKS - PG_CHECK_FAILS)) passed, $PG_CHECK_FAILS failed"
	[ $PG_CHECK_FAILS -eq 0 ]
}

# jq-free JSON access: pg_json FILE 'expr' evaluates a Python expression
# over the parsed document `d`.
pg_json() {
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"
}
