#!/usr/bin/env bash
# The home of the README commands.
#   ./run.sh demo    install what is missing, build, run the demo
#   ./run.sh test    install what is missing, build, run every test
#   ./run.sh build | deps | bench | bench-shards
# Works on a fresh Debian 12 machine as root (or with sudo).
set -euo pipefail

root=$(cd "$(dirname "$0")" && pwd)
build=${PAYGATE_BUILD:-$root/build}

packages=(
	build-essential pkg-config meson ninja-build python3
	libdpdk-dev dpdk-dev liburcu-dev libjemalloc-dev libxxhash-dev libcmocka-dev
	clang libclang-rt-14-dev
)

as_root() {
	if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

deps() {
	local missing=() p
	for p in "${packages[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
			missing+=("$p")
	done
	if [ ${#missing[@]} -gt 0 ]; then
		echo "installing: ${missing[*]}"
		as_root apt-get update -q
		as_root env DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -q --no-install-recommends "${missing[@]}"
	fi
}

build() {
	if [ ! -f "$build/build.ninja" ]; then
		meson setup "$build" "$root"
	fi
	ninja -C "$build"
}

# meson prints its own summary; this adds the plain closing line
# "N passed, N failed" that CI reads.
summary() {
	python3 - "$build/meson-logs/testlog.json" <<'PY'
import json, sys
passed = failed = skipped = 0
for line in open(sys.argv[1]):
    r = json.loads(line)["result"]
    if r in ("OK", "EXPECTEDFAIL"):
        passed += 1
    elif r == "SKIP":
        skipped += 1
    else:
        failed += 1
print(f"tests: {passed} passed, {failed} failed, {skipped} skipped")
PY
}

cmd=${1:-test}
case "$cmd" in
deps) deps ;;
build) deps; build ;;
test)
	deps
	build
	rc=0
	meson test -C "$build" --print-errorlogs "${@:2}" || rc=$?
	summary
	exit $rc
	;;
demo)
	deps
	build
	exec "$root/tests/integration/demo.sh" "$build" "${@:2}"
	;;
bench)
	deps
	build
	exec "$root/tests/bench/fastpath.sh" "$build" "${@:2}"
	;;
bench-shards)
	deps
	build
	exec "$root/tests/bench/shards.sh" "$build" "${@:2}"
	;;
*)
	echo "usage: $0 demo|test|build|deps|bench|bench-shards" >&2
	exit 2
	;;
esac
