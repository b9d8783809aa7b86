/* SPDX-License-Identifier: BSD-3-Clause */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shard_map.h"

uint64_t
shard_score(uint32_t slot, uint16_t worker)
{
	uint64_t k = ((uint64_t)slot << 16) | worker;

	return XXH3_64bits(&k, sizeof(k));
}

uint16_t
shard_rendezvous(uint32_t slot, const bool *active, uint16_t n_workers)
{
	uint64_t best = 0;
	uint16_t win = UINT16_MAX;

	for (uint16_t w = 0; w < n_workers; w++) {
		uint64_t s;

		if (!active[w])
			continue;
		s = shard_score(slot, w);
		if (win == UINT16_MAX || s > best) {
			best = s;
			win = w;
		}
	}
	return win;
}

size_t
shard_map_size(uint32_t n_slots)
{
	return sizeof(struct shard_map) + sizeof(uint16_t) * n_slots;
}

struct shard_map *
shard_map_alloc(uint32_t n_slots, uint16_t n_workers)
{
	struct shard_map *m = calloc(1, shard_map_size(n_slots));

	if (m == NULL)
		return NULL;
	m->n_slots = n_slots;
	m->n_workers = n_workers;
	return m;
}

struct shard_map *
shard_map_copy(const struct shard_map *m)
{
	struct shard_map *c = malloc(shard_map_size(m->n_slots));

	if (c == NULL)
		return NULL;
	memcpy(c, m, shard_map_size(m->n_slots));
	return c;
}

void
shard_map_assign(struct shard_map *m, const bool *active)
{
	for (uint32_t s = 0; s < m->n_slots; s++)
		m->owner[s] = shard_rendezvous(s, active, m->n_workers);
}

double
shard_map_balance(const struct shard_map *m, const bool *active, uint32_t *counts)
{
	uint32_t max = 0, n_active = 0;

	memset(counts, 0, sizeof(*counts) * m->n_workers);
	for (uint32_t s = 0; s < m->n_slots; s++)
		if (m->owner[s] < m->n_workers)
			counts[m->owner[s]]++;
	for (uint16_t w = 0; w < m->n_workers; w++) {
		if (!active[w])
			continue;
		n_active++;
		if (counts[w] > max)
			max = counts[w];
	}
	if (n_active == 0)
		return 0;
	return (double)max / ((double)m->n_slots / n_active);
}

uint32_t
shard_plan_rebalance(const struct shard_map *m, const bool *active,
		     const double *rate, double ratio, uint32_t max_moves,
		     uint32_t *out_slot, uint16_t *out_to, bool *reachable,
		     char *why, size_t why_len)
{
	double load[SHARD_WORKERS_MAX] = { 0 }, total = 0, hottest = 0;
	uint16_t owner_tmp, n_active = 0;
	uint32_t n = 0, hot_slot = 0;
	uint16_t *owner = malloc(sizeof(*owner) * m->n_slots);

	*reachable = true;
	if (why_len)
		why[0] = 0;
	if (owner == NULL) {
		*reachable = false;
		snprintf(why, why_len, "out of memory");
		return 0;
	}
	memcpy(owner, m->owner, sizeof(*owner) * m->n_slots);
	for (uint16_t w = 0; w < m->n_workers; w++)
		n_active += active[w];
	for (uint32_t s = 0; s < m->n_slots; s++) {
		if (owner[s] < m->n_workers)
			load[owner[s]] += rate[s];
		total += rate[s];
		if (rate[s] > hottest) {
			hottest = rate[s];
			hot_slot = s;
		}
	}
	if (n_active == 0 || total <= 0)
		goto out;

	double target = ratio * total / n_active;

	while (n < max_moves) {
		uint16_t b = UINT16_MAX, l = UINT16_MAX;

		/* A drained worker that still carries load goes first: all
		 * of its load must leave. */
		for (uint16_t w = 0; w < m->n_workers; w++) {
			if (!active[w]) {
				if (load[w] > 0 && (b == UINT16_MAX || active[b]))
					b = w;
				continue;
			}
			if (b == UINT16_MAX || (active[b] && load[w] > load[b]))
				b = w;
			if (l == UINT16_MAX || load[w] < load[l])
				l = w;
		}
		if (b == UINT16_MAX || l == UINT16_MAX || (active[b] && load[b] <= target))
			break;
		/* The slot that fixes b with the least disturbance: the
		 * coolest one that brings b under target without lifting l
		 * over b's new load; failing that, the hottest one that
		 * still lowers the pair's maximum. */
		double need = load[b] - target;
		double gap = active[b] ? load[b] - load[l] : 1e300;
		uint32_t fit = UINT32_MAX, big = UINT32_MAX;

		for (uint32_t s = 0; s < m->n_slots; s++) {
			if (owner[s] != b || rate[s] <= 0 || rate[s] >= gap)
				continue;
			if (rate[s] >= need && (fit == UINT32_MAX || rate[s] < rate[fit]))
				fit = s;
			if (big == UINT32_MAX || rate[s] > rate[big])
				big = s;
		}
		uint32_t pick = fit != UINT32_MAX ? fit : big;

		if (pick == UINT32_MAX)
			break;
		owner_tmp = owner[pick];
		owner[pick] = l;
		load[owner_tmp] -= rate[pick];
		load[l] += rate[pick];
		out_slot[n] = pick;
		out_to[n] = l;
		n++;
	}
	double max = 0;

	for (uint16_t w = 0; w < m->n_workers; w++)
		if (load[w] > max)
			max = load[w];
	if (max > target * 1.0000001) {
		*reachable = false;
		if (hottest > target)
			snprintf(why, why_len,
				 "slot %u alone carries %.0f frames/s, more than the target "
				 "%.2f x mean = %.0f frames/s per lcore",
				 hot_slot, hottest, ratio, target);
		else if (n == max_moves)
			snprintf(why, why_len, "more than %u moves would be needed", max_moves);
		else
			snprintf(why, why_len,
				 "no single move lowers the busiest lcore (%.0f frames/s, target %.0f)",
				 max, target);
	}
out:
	free(owner);
	return n;
}
