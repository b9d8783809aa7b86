/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Codec cost per message, in TSC cycles (figures, not a test): parse of a
 * typical 0100 (binary bitmap), parse + response build, and frame parse +
 * ISO parse as a worker does per frame. Run: build/tests/bench/codec_bench
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <rte_cycles.h>

#include "frame.h"
#include "iso8583.h"

#define ROUNDS 2000000

static uint8_t msg[256];
static int msg_len;

static void
build_request(void)
{
	struct iso_builder b;

	iso_build_begin(&b, msg, sizeof(msg), ISO_BITMAP_BINARY, 100, false);
	iso_build_field(&b, 2, "4000000000000002", 16);
	iso_build_field(&b, 3, "000000", 6);
	iso_build_field(&b, 4, "000000001234", 12);
	iso_build_field(&b, 7, "1125120000", 10);
	iso_build_field(&b, 11, "000042", 6);
	iso_build_field(&b, 12, "120000", 6);
	iso_build_field(&b, 13, "1125", 4);
	iso_build_field(&b, 14, "2812", 4);
	iso_build_field(&b, 22, "051", 3);
	iso_build_field(&b, 41, "T0000001", 8);
	iso_build_field(&b, 42, "M00000000000001", 15);
	iso_build_field(&b, 49, "826", 3);
	msg_len = iso_build_end(&b);
}

/* Without EAL, rte_get_tsc_hz() is unknown: measure it. */
static double
tsc_ghz(void)
{
	struct timespec a, b, d = { 0, 100 * 1000 * 1000 };
	uint64_t t0, t1;

	clock_gettime(CLOCK_MONOTONIC, &a);
	t0 = rte_rdtsc_precise();
	nanosleep(&d, NULL);
	t1 = rte_rdtsc_precise();
	clock_gettime(CLOCK_MONOTONIC, &b);
	return (double)(t1 - t0) /
	       ((double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec));
}

int
main(void)
{
	struct iso_msg m;
	uint8_t out[512], frame[512];
	volatile unsigned int sink = 0;
	uint64_t t0, t1;
	struct frame_local gw = { .port = rte_cpu_to_be_16(8583) }, cl = { 0 };
	struct frame_peer to = { 0 };
	struct frame_info fi;

	build_request();
	frame_mac_parse("02:00:00:00:00:01", &gw.mac);
	frame_ip_parse("198.18.0.1", &gw.ip);
	to.mac = gw.mac;
	to.ip = gw.ip;
	to.port = gw.port;
	uint16_t flen = frame_build_udp(frame, sizeof(frame), &cl, &to, msg,
					(uint16_t)msg_len);

	t0 = rte_rdtsc_precise();
	for (int i = 0; i < ROUNDS; i++) {
		iso_parse(&m, msg, (size_t)msg_len, ISO_BITMAP_BINARY);
		sink += m.field[42].off;
	}
	t1 = rte_rdtsc_precise();
	printf("iso_parse (0100, 12 fields, %d B):       %6.1f cycles/msg\n",
	       msg_len, (double)(t1 - t0) / ROUNDS);

	t0 = rte_rdtsc_precise();
	for (int i = 0; i < ROUNDS; i++) {
		iso_parse(&m, msg, (size_t)msg_len, ISO_BITMAP_BINARY);
		sink += (unsigned int)iso_response_build(out, sizeof(out),
			ISO_BITMAP_BINARY, &m, "54", NULL);
	}
	t1 = rte_rdtsc_precise();
	printf("iso_parse + iso_response_build:           %6.1f cycles/msg\n",
	       (double)(t1 - t0) / ROUNDS);

	t0 = rte_rdtsc_precise();
	for (int i = 0; i < ROUNDS; i++) {
		frame_parse(frame, flen, &gw, true, &fi);
		iso_parse(&m, frame + fi.iso_off, fi.iso_len, ISO_BITMAP_BINARY);
		sink += m.mti;
	}
	t1 = rte_rdtsc_precise();
	printf("frame_parse + iso_parse (%u B frame):     %6.1f cycles/frame\n",
	       flen, (double)(t1 - t0) / ROUNDS);
	printf("TSC: %.2f GHz\n", tsc_ghz());
	return sink == 0xdeadbeef;
}
