/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * shard_exchange - one worker's traffic with the other workers: frames and
 * bank results for slots it does not hold go to the slot's owner, in
 * bursts, over one single-producer single-consumer ring per ordered pair
 * of workers; and the hand-over of a slot during a move.
 *
 * Owns: the worker's holds[] (which slots it may touch), its outgoing
 * staging per destination, its park queue (items for a slot that is on its
 * way to this worker), and its end of the command ring from the shard
 * manager.
 *
 * Routing an item for slot S at worker R, with R's current map:
 *   holds[S]            -> process here
 *   map.owner[S] == R   -> park (S is being handed to R)
 *   otherwise           -> send to map.owner[S]
 * The move protocol and why it neither loses, duplicates nor reorders is
 * in docs/shards.md.
 *
 * Items are tagged pointers: an mbuf (slot in m->hash.usr), an
 * auth_request coming back from the bank (slot in r->slot), or a token
 * (the slot itself) that hands a slot over.
 */
#ifndef PAYGATE_SHARD_EXCHANGE_H
#define PAYGATE_SHARD_EXCHANGE_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_common.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "handoff.h"
#include "shard_map.h"

#define XCHG_BURST 32
#define XCHG_STAGE 1024          /* items staged per destination */
#define XCHG_STAGE_FRAMES 896    /* frames stop here: room for results, tokens */
#define XCHG_PARK 16384

enum xchg_kind {
	XCHG_FRAME = 0,
	XCHG_RESULT = 1,
	XCHG_TOKEN = 2,
};

static inline uintptr_t
xchg_frame(struct rte_mbuf *m, uint32_t slot)
{
	m->hash.usr = slot;
	return (uintptr_t)m;
}

static inline uintptr_t
xchg_result(struct auth_request *r)
{
	return (uintptr_t)r | XCHG_RESULT;
}

static inline enum xchg_kind
xchg_kind(uintptr_t item)
{
	return (enum xchg_kind)(item & 3);
}

static inline void *
xchg_ptr(uintptr_t item)
{
	return (void *)(item & ~(uintptr_t)3);
}

static inline uint32_t
xchg_slot(uintptr_t item)
{
	switch (xchg_kind(item)) {
	case XCHG_FRAME:
		return ((struct rte_mbuf *)xchg_ptr(item))->hash.usr;
	case XCHG_RESULT:
		return ((struct auth_request *)xchg_ptr(item))->slot;
	default:
		return (uint32_t)(item >> 2);
	}
}

/* A move order from the shard manager to the worker that holds the slots. */
struct xchg_handover {
	uint32_t n;
	uint32_t done;            /* set (release) by the worker when sent */
	uint32_t *slots;
	uint16_t *to;
};

#define foreach_xchg_counter                                                 \
	_(local, "frames decided by the worker that received them")         \
	_(dispatched, "frames sent to the owning worker")                  \
	_(received, "items received from other workers")                   \
	_(forwarded, "received items sent on (slot moved meanwhile)")     \
	_(parked, "items held while their slot was on its way here")       \
	_(replayed, "parked items processed after the slot arrived")       \
	_(park_overflow, "items dropped: park queue full")                 \
	_(stage_overflow, "frames dropped: ring to the owner full")        \
	_(stage_overflow_critical, "results or tokens lost: stage full")   \
	_(tokens_in, "slots received")                                     \
	_(tokens_out, "slots handed over")                                 \
	_(handover_missing, "move orders for slots not held here")

struct xchg_counters {
#define _(n, h) uint64_t n;
	foreach_xchg_counter
#undef _
};

struct xchg_stage {
	uint32_t n;
	uintptr_t items[XCHG_STAGE];
};

struct shard_exchange {
	uint16_t self;
	uint16_t n_workers;
	uint32_t n_slots;
	struct rte_ring *in[SHARD_WORKERS_MAX];   /* from worker i; NULL for self */
	struct rte_ring *out[SHARD_WORKERS_MAX];  /* to worker i; NULL for self */
	struct rte_ring *cmd;                     /* xchg_handover *, from the manager */
	uint8_t *holds;                           /* [n_slots] */
	struct xchg_stage *stage;                 /* [n_workers] */
	uint32_t park_n;
	uintptr_t *park;                          /* [XCHG_PARK] */
	uint64_t tokens_seen;                     /* store-release; read by the manager */
	struct xchg_counters c;
};

/* What the worker does with an item it may process. */
typedef void xchg_process_fn(void *ctx, uintptr_t item, uint32_t slot);

enum xchg_route {
	XCHG_ROUTE_LOCAL,
	XCHG_ROUTE_PARKED,
	XCHG_ROUTE_SENT,
	XCHG_ROUTE_DROPPED,
};

/* Memory for one exchange (holds, stage, park); rings are attached by the
 * caller. socket: NUMA node. Returns 0 or -1. */
int xchg_init(struct shard_exchange *x, uint16_t self, uint16_t n_workers,
	      uint32_t n_slots, int socket);
void xchg_free(struct shard_exchange *x);

enum xchg_route xchg_route(struct shard_exchange *x, const struct shard_map *map,
			   uintptr_t item, uint32_t slot, xchg_process_fn *fn, void *ctx);

/* Items from the other workers: route each; tokens take their slot and
 * replay what was parked for it. Returns items seen. */
unsigned int xchg_poll(struct shard_exchange *x, const struct shard_map *map,
		       xchg_process_fn *fn, void *ctx);

/* Move orders: first everything already on the inbound rings (items sent
 * under the previous map), then each slot's token to its new owner. */
unsigned int xchg_commands(struct shard_exchange *x, const struct shard_map *map,
			   xchg_process_fn *fn, void *ctx);

/* Push staged items onto the rings; returns how many are still staged.
 * While any are, the worker must not announce a quiescent state: they
 * were routed with the map it holds. */
uint32_t xchg_flush(struct shard_exchange *x);

#endif /* PAYGATE_SHARD_EXCHANGE_H */
