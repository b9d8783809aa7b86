/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * worker - a poll-mode lcore: its RX queue on every port, the decisions of
 * the fast path for the slots it holds, the hand-off to the control plane
 * and the answers that come back, its TX queue on every port. Frames for
 * slots held elsewhere go there through its shard_exchange. Owns its
 * counters and, while it holds a slot, the slot's state; touches nothing
 * another lcore writes except SP/SC rings, mempools and the RCU map.
 */
#ifndef PAYGATE_WORKER_H
#define PAYGATE_WORKER_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_ethdev.h>
#include <rte_mempool.h>

#include "config.h"
#include "frame.h"
#include "handoff.h"
#include "idem_table.h"
#include "merchant_table.h"
#include "shard_exchange.h"
#include "shard_map.h"
#include "slot_state.h"
#include "token_bucket.h"
#include "validate.h"

#define WORKER_BURST 32
#define WORKER_HANDOFF_MAX (2 * WORKER_BURST)
#define WORKER_PORTS_MAX 8

#define foreach_worker_counter                                               \
	_(rx, "frames received")                                            \
	_(tx, "frames given to TX")                                         \
	_(tx_dropped, "frames TX refused (freed)")                          \
	_(arp_replies, "ARP requests answered")                             \
	_(multi_segment, "frames in more than one mbuf (dropped)")          \
	_(malformed_answered, "requests answered 30")                       \
	_(idem_replayed, "retransmissions answered from the table")        \
	_(idem_replayed_moved, "... from an entry made on another lcore")  \
	_(idem_absorbed, "retransmissions absorbed while at the bank")     \
	_(idem_conflict, "same identity, other content: 94")               \
	_(rate_limited, "requests over the merchant's rate: 65")           \
	_(handoff, "requests handed to the control plane")                 \
	_(breaker_91, "answered 91 at once: the bank's breaker is open")   \
	_(declines_noted, "declines handed to the journal")                \
	_(declines_unnoted, "declines not journalled: pool or ring full")  \
	_(handoff_fail, "no record or ring full: 96")                      \
	_(results, "bank outcomes received back")                          \
	_(results_moved, "... for a slot that moved while at the bank")    \
	_(results_no_mbuf, "bank outcomes not answered: no mbuf")          \
	_(results_idem_lost, "bank outcomes whose table entry was evicted")  \
	_(no_slot, "requests without a merchant slot reaching a decision") \
	_(loops, "poll loops")                                              \
	_(busy_tsc, "TSC cycles spent in loops that found work")

/* Frames too broken to answer: counted and dropped. */
#define foreach_iso_drop                                                     \
	_(NO_MTI, "no_mti")                                                  \
	_(BITMAP, "bitmap")                                                  \
	_(TERTIARY, "tertiary")                                              \
	_(BEFORE_STAN, "before_stan")                                        \
	_(RESPONSE_MTI, "response_mti")

enum iso_drop {
#define _(sym, str) ISO_DROP_##sym,
	foreach_iso_drop
#undef _
	ISO_DROP_MAX,
};

extern const char *const iso_drop_name[ISO_DROP_MAX];

struct worker_counters {
#define _(name, help) uint64_t name;
	foreach_worker_counter
#undef _
	uint64_t frame_drop[FRAME_DROP_MAX];
	uint64_t iso_drop[ISO_DROP_MAX];
	uint64_t codes[100];
};

struct worker {
	/* Set by main before launch, read-only after. */
	uint16_t index;
	uint16_t queue;               /* this worker's RX and TX queue id */
	unsigned int lcore;
	uint16_t n_ports;
	uint16_t ports[WORKER_PORTS_MAX];
	const struct paygate_config *cfg;
	const struct merchant_table *merchants;
	struct merchant_state *mstate;   /* [merchants->n], by slot holder */
	struct slot_state *slots;        /* [n_slots], by slot holder */
	struct shard_map **map_ref;      /* RCU-protected, read once per loop */
	const uint32_t *bank_state;      /* breaker state, read once per loop */
	uint8_t port_index[RTE_MAX_ETHPORTS];
	const struct gateway_clock *clock;
	struct rte_mempool *mbuf_pool;
	struct rte_mempool *request_pool;
	struct handoff_channel channel;
	volatile bool *quit;
	uint64_t ttl_tsc;
	/* Owned by the worker. */
	struct rte_eth_dev_tx_buffer *txb[WORKER_PORTS_MAX];
	struct shard_exchange x;
	uint32_t n_handoff;
	uint32_t n_notes;
	struct token_bucket note_bucket; /* declines journalled per second */
	struct decline_note *notes[WORKER_BURST];
	struct auth_request *handoff_recs[WORKER_HANDOFF_MAX];
	struct rte_mbuf *handoff_held[WORKER_HANDOFF_MAX];
	uint64_t now;                    /* TSC at the top of this loop */
	uint8_t bank_open[BANKS_MAX];    /* this loop's view of bank_state[] */
	struct worker_counters c __rte_cache_aligned;
} __rte_cache_aligned;

/* Allocate the worker's own state (exchange, TX buffers). */
int worker_init(struct worker *w, int socket);
int worker_main(void *arg);
/* Bank outcomes still on the ring after the control plane stopped. */
void worker_drain_results(struct worker *w);

#endif /* PAYGATE_WORKER_H */
