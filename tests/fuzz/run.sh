#!/usr/bin/env bash
# Build the parser fuzz target with clang (-fsanitize=fuzzer,address) and
# run it for a bounded time, seeded with the shared ISO 8583 corpus.
# Usage: run.sh <source root> <seconds>
set -euo pipefail
src=${1:?source root}
secs=${2:-60}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cc=$(command -v clang || command -v clang-14 || true)
if [ -z "$cc" ]; then
	echo "clang not found: install clang to fuzz" >&2
	exit 1
fi
# shellcheck disable=SC2046
"$cc" -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	-D_GNU_SOURCE -I"$src/dataplane" $(pkg-config --cflags libdpdk) \
	"$src/tests/fuzz/fuzz_iso8583.c" "$src/dataplane/iso8583.c" "$src/dataplane/frame.c" \
	-o "$work/fuzz_iso8583"

mkdir -p "$work/corpus"
seed="$src/../shared/corpus/iso8583"
if [ -d "$seed" ]; then
	cp "$seed"/*.dat "$work/corpus/"
fi
"$work/fuzz_iso8583" -max_total_time="$secs" -max_len=1600 -print_final_stats=1 \
	"$work/corpus" 2>"$work/log" || { tail -n 60 "$work/log"; exit 1; }
grep -E 'stat::number_of_executed_units|Done' "$work/log" | tail -n 2
echo "fuzz: no crash in ${secs}s"
