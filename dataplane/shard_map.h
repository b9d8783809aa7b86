/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * shard_map - which worker owns each slot. A merchant (field 42) hashes to
 * one of a power-of-two number of slots; all of a merchant's state lives in
 * its slot, and the slot belongs to exactly one worker.
 *
 * The initial assignment is rendezvous hashing (highest random weight): a
 * slot goes to the active worker with the highest score(slot, worker).
 * Removing a worker moves exactly that worker's slots, adding one moves
 * exactly the slots it now wins (about 1/N); no other slot moves, which
 * Maglev and ring hashing do not promise. Balance is that of a random
 * assignment (max/mean about 1.1 at 4 workers, 1.3 at 64 with 4096 slots);
 * the measured-rate `rebalance` corrects what matters, the load.
 *
 * A map is immutable once published: the shard manager copies, edits and
 * publishes a new one under RCU (QSBR); workers read it once per loop.
 */
#ifndef PAYGATE_SHARD_MAP_H
#define PAYGATE_SHARD_MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <xxhash.h>

#define SHARD_WORKERS_MAX 64

struct shard_map {
	uint64_t version;
	uint32_t n_slots;       /* power of two */
	uint16_t n_workers;
	uint16_t owner[];       /* worker index per slot */
};

/* Merchant id (field 42, 15 bytes) -> slot. */
static inline uint32_t
shard_slot_of(const uint8_t *merchant, size_t len, uint32_t n_slots)
{
	return (uint32_t)XXH3_64bits(merchant, len) & (n_slots - 1);
}

/* Rendezvous score of (slot, worker); exposed for tests. */
uint64_t shard_score(uint32_t slot, uint16_t worker);

/* Winner of slot among the workers with active[w] set; UINT16_MAX if none. */
uint16_t shard_rendezvous(uint32_t slot, const bool *active, uint16_t n_workers);

/* malloc'd (jemalloc in paygate) map; owner[] unset. */
struct shard_map *shard_map_alloc(uint32_t n_slots, uint16_t n_workers);
struct shard_map *shard_map_copy(const struct shard_map *m);
size_t shard_map_size(uint32_t n_slots);

/* Every slot to its rendezvous winner among active workers. */
void shard_map_assign(struct shard_map *m, const bool *active);

/* Slots per worker into counts[n_workers]; returns max/mean over the
 * workers with active[w] set (mean over those). */
double shard_map_balance(const struct shard_map *m, const bool *active,
			 uint32_t *counts);

/*
 * The fewest moves (greedy, hottest useful slot first) that bring the
 * busiest active worker within ratio * mean of the measured load.
 * rate[slot] is frames/s; moves go to out_slot[]/out_to[] (at most
 * max_moves). Returns the number of moves, and sets *reachable to false,
 * with the reason in why, when the target cannot be met (a slot hotter
 * than the target allows, or max_moves too small).
 */
uint32_t shard_plan_rebalance(const struct shard_map *m, const bool *active,
			      const double *rate, double ratio, uint32_t max_moves,
			      uint32_t *out_slot, uint16_t *out_to, bool *reachable,
			      char *why, size_t why_len);

#endif /* PAYGATE_SHARD_MAP_H */
