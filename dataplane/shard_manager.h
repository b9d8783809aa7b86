/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * shard_manager - the writer side of the shard map. Owns the published
 * map (an RCU-QSBR pointer that workers read once per loop), the set of
 * active workers, the move protocol's control half, and the measured
 * frame rate per slot. Runs on the control side (the ctl server thread);
 * one move at a time, never on a worker lcore.
 *
 * A move of slots S... to new owners:
 *   1. copy the map, set the new owners, publish it (rcu_assign_pointer)
 *   2. synchronize_rcu(): every worker has passed a loop boundary, so none
 *      routes with the old map and nothing it routed is still staged
 *   3. free the old map; send each current holder a handover order
 *   4. the holder drains its inbound rings, then sends each slot's token
 *      to its new owner, which replays what it parked for the slot
 *   5. done when every token has arrived
 */
#ifndef PAYGATE_SHARD_MANAGER_H
#define PAYGATE_SHARD_MANAGER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "shard_exchange.h"
#include "shard_map.h"
#include "slot_state.h"

struct shard_manager {
	struct shard_map *map;                     /* RCU-published */
	uint16_t n_workers;
	bool active[SHARD_WORKERS_MAX];
	struct shard_exchange *x[SHARD_WORKERS_MAX];
	const struct slot_state *slots;
	uint32_t move_timeout_ms;
	/* rates, from slot_state.frames, refreshed by shard_manager_sample */
	uint64_t *slot_prev;
	double *slot_rate;
	uint64_t sample_ns;
	/* history */
	uint64_t moves;            /* move operations */
	uint64_t slots_moved;
	uint64_t last_move_ns;     /* publish to last token */
	uint64_t max_move_ns;
};

/* The initial map: rendezvous over all workers. Each worker's holds[] is
 * set from it (before workers launch). */
int shard_manager_init(struct shard_manager *sm, uint32_t n_slots, uint16_t n_workers,
		       struct shard_exchange **x, const struct slot_state *slots);
void shard_manager_fini(struct shard_manager *sm);

/* Move n slots to the given workers. 0, or -1 with err set. */
int shard_manager_move(struct shard_manager *sm, uint32_t n, const uint32_t *slots,
		       const uint16_t *to, char *err, size_t err_len);
/* Take a worker out (its slots to the rendezvous winners among the rest)
 * or back in (the slots it wins return to it). Returns slots moved or -1. */
int shard_manager_drain(struct shard_manager *sm, uint16_t w, char *err, size_t err_len);
int shard_manager_fill(struct shard_manager *sm, uint16_t w, char *err, size_t err_len);
/* Move what shard_plan_rebalance proposes. Returns slots moved or -1;
 * *reachable and why as there. */
int shard_manager_rebalance(struct shard_manager *sm, double ratio, bool *reachable,
			    char *why, size_t why_len);

/* Refresh per-slot rates from the frame counters (call about once a s). */
void shard_manager_sample(struct shard_manager *sm);

#endif /* PAYGATE_SHARD_MANAGER_H */
