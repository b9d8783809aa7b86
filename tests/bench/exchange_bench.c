/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Cross-core dispatch cost (figures, not a test), without a generator
 * competing for the CPUs: one thread plays the receiving worker (an mbuf
 * from the pool, the frame copied in as RX would, frame + ISO parse, slot
 * of field 42), and either decides locally (the same parse work the owner
 * does, then frees) or routes every frame through the real shard_exchange
 * to an owner thread on the other CPU, which parses it again and frees it.
 * Prints items/s of both and the cycles spent per item on all threads,
 * foreign over local.
 *
 * Usage: exchange_bench [items]
 */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "frame.h"
#include "iso8583.h"
#include "shard_exchange.h"
#include "shard_manager.h"

#define SLOTS 64

static uint8_t frame[256];
static uint16_t frame_len;
static struct frame_local local;
static struct rte_mempool *pool;
static struct shard_exchange xs[2];
static struct shard_map *map;
static volatile uint64_t done_owner;
static uint64_t recv_wait;
static volatile int stop;
static uint64_t sink;

/* The decision's share of the work: what every decide() begins with. */
static void
decide_frame(struct rte_mbuf *m)
{
	struct frame_info fi;
	struct iso_msg msg;

	frame_parse(rte_pktmbuf_mtod(m, uint8_t *), rte_pktmbuf_data_len(m), &local, true, &fi);
	iso_parse(&msg, rte_pktmbuf_mtod(m, uint8_t *) + fi.iso_off, fi.iso_len, ISO_BITMAP_BINARY);
	sink += msg.mti + iso_field_len(&msg, 4);
	rte_pktmbuf_free(m);
}

static void
owner_process(void *ctx, uintptr_t item, uint32_t slot)
{
	(void)ctx;
	(void)slot;
	decide_frame(xchg_ptr(item));
	done_owner++;
}

static void
pin(int cpu)
{
	cpu_set_t s;

	CPU_ZERO(&s);
	CPU_SET(cpu, &s);
	pthread_setaffinity_np(pthread_self(), sizeof(s), &s);
}

static uint64_t owner_busy;

static void *
owner_main(void *arg)
{
	(void)arg;
	pin(1);
	/* An lcore id, so that its frees go to a mempool cache like a
	 * worker's do. */
	rte_thread_register();
	while (!stop) {
		uint64_t t = rte_rdtsc();

		if (xchg_poll(&xs[1], map, owner_process, NULL))
			owner_busy += rte_rdtsc() - t;
	}
	return NULL;
}

/* One receiver burst: RX-like copy, parse, slot; then local or route. */
static void
receive_burst(bool foreign)
{
	struct rte_mbuf *ms[32];

	if (rte_pktmbuf_alloc_bulk(pool, ms, 32) != 0)
		return;
	for (int i = 0; i < 32; i++) {
		struct rte_mbuf *m = ms[i];
		struct frame_info fi;
		struct iso_msg msg;

		memcpy(rte_pktmbuf_mtod(m, uint8_t *), frame, frame_len);
		m->data_len = m->pkt_len = frame_len;
		frame_parse(rte_pktmbuf_mtod(m, uint8_t *), frame_len, &local, true, &fi);
		iso_parse(&msg, rte_pktmbuf_mtod(m, uint8_t *) + fi.iso_off, fi.iso_len,
			  ISO_BITMAP_BINARY);
		uint32_t slot = shard_slot_of(iso_field_ptr(&msg, 42), 15, SLOTS);

		if (!foreign) {
			/* decide() continues from the parse already done */
			sink += msg.mti + iso_field_len(&msg, 4);
			rte_pktmbuf_free(m);
			continue;
		}
		xchg_route(&xs[0], map, xchg_frame(m, slot), slot, owner_process, NULL);
	}
	if (foreign && xchg_flush(&xs[0]) != 0) {
		/* The owner is behind: waiting is not work. */
		uint64_t t = rte_rdtsc();

		while (xchg_flush(&xs[0]) != 0)
			;
		recv_wait += rte_rdtsc() - t;
	}
}

int
main(int argc, char **argv)
{
	uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 20000000;
	char *eal[] = { "exchange_bench", "--no-huge", "-m", "256", "--no-pci",
			"--file-prefix=xbench", "--log-level=*:error", "--no-telemetry",
			"--lcores", "0@0" };
	struct iso_builder b;
	uint8_t msg[512];
	struct frame_peer peer = { .ip = RTE_BE32(0xc6120002), .port = RTE_BE16(10000) };

	if (rte_eal_init(10, eal) < 0)
		return 1;
	local.ip = RTE_BE32(0xc6120001);
	local.port = RTE_BE16(8583);
	iso_build_begin(&b, msg, sizeof(msg), ISO_BITMAP_BINARY, 100, false);
	iso_build_field(&b, 2, "4000000000079196", 16);
	iso_build_field(&b, 3, "000000", 6);
	iso_build_field(&b, 4, "000000002500", 12);
	iso_build_field(&b, 7, "1125120001", 10);
	iso_build_field(&b, 11, "000003", 6);
	iso_build_field(&b, 14, "2812", 4);
	iso_build_field(&b, 41, "T0000001", 8);
	iso_build_field(&b, 42, "M00000000000001", 15);
	iso_build_field(&b, 49, "826", 3);
	int ml = iso_build_end(&b);

	/* A frame from a client to us: built with the roles swapped. */
	struct frame_local client = { .ip = peer.ip, .port = peer.port };

	frame_len = frame_build_udp(frame, sizeof(frame), &client,
		&(struct frame_peer){ .ip = local.ip, .port = local.port }, msg, (uint16_t)ml);
	pool = rte_pktmbuf_pool_create("xb", 16383, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
	map = shard_map_alloc(SLOTS, 2);
	if (pool == NULL || map == NULL || frame_len == 0)
		return 1;
	for (uint32_t s = 0; s < SLOTS; s++)
		map->owner[s] = 1;           /* everything owned by the other thread */
	for (int w = 0; w < 2; w++)
		if (xchg_init(&xs[w], (uint16_t)w, 2, SLOTS, 0) != 0)
			return 1;
	for (uint32_t s = 0; s < SLOTS; s++)
		xs[1].holds[s] = 1;
	xs[0].out[1] = xs[1].in[0] = rte_ring_create("x01", 4096, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
	if (xs[0].out[1] == NULL)
		return 1;

	pin(0);
	/* Local: one thread, receive + decide. */
	uint64_t t0 = rte_rdtsc();

	for (uint64_t i = 0; i < n; i += 32)
		receive_burst(false);
	uint64_t local_cyc = rte_rdtsc() - t0;

	/* Foreign: receive on CPU 0, decide on CPU 1. */
	pthread_t owner;

	pthread_create(&owner, NULL, owner_main, NULL);
	t0 = rte_rdtsc();
	for (uint64_t i = 0; i < n; i += 32)
		receive_burst(true);
	uint64_t recv_cyc = rte_rdtsc() - t0;

	while (done_owner < n - n % 32 && rte_rdtsc() - t0 < rte_get_tsc_hz() * 60)
		;
	uint64_t wall = rte_rdtsc() - t0;

	stop = 1;
	pthread_join(owner, NULL);
	double hz = (double)rte_get_tsc_hz();
	double local_rate = (double)n / ((double)local_cyc / hz);
	double foreign_rate = (double)done_owner / ((double)wall / hz);
	double local_cpi = (double)local_cyc / (double)n;
	recv_cyc -= recv_wait;
	double foreign_cpi = (double)(recv_cyc + owner_busy) / (double)done_owner;

	printf("items %lu (one 0100 frame, %u bytes)\n", (unsigned long)n, frame_len);
	printf("local:   %.2f M items/s, %.0f cycles/item (receive + decide on one core)\n",
	       local_rate / 1e6, local_cpi);
	printf("foreign: %.2f M items/s, %.0f cycles/item (receiver %.0f + owner %.0f, two cores;"
	       " receiver waits for a full ring not counted)\n",
	       foreign_rate / 1e6, foreign_cpi, (double)recv_cyc / (double)done_owner,
	       (double)owner_busy / (double)done_owner);
	printf("dispatch_cycles_ratio=%.2f (foreign/local cycles per item)\n", foreign_cpi / local_cpi);
	printf("dispatch_rate_ratio=%.2f (foreign/local items per second)\n", foreign_rate / local_rate);
	if (sink == 42)
		printf("\n");
	rte_eal_cleanup();
	return 0;
}
