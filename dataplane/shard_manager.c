/* SPDX-License-Identifier: BSD-3-Clause */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <urcu-qsbr.h>

#include "clock_ns.h"
#include "shard_manager.h"

#define REBALANCE_MAX_MOVES 1024

int
shard_manager_init(struct shard_manager *sm, uint32_t n_slots, uint16_t n_workers,
		   struct shard_exchange **x, const struct slot_state *slots)
{
	memset(sm, 0, sizeof(*sm));
	if (n_workers == 0 || n_workers > SHARD_WORKERS_MAX)
		return -1;
	sm->n_workers = n_workers;
	sm->slots = slots;
	sm->move_timeout_ms = 5000;
	for (uint16_t w = 0; w < n_workers; w++) {
		sm->active[w] = true;
		sm->x[w] = x[w];
	}
	sm->map = shard_map_alloc(n_slots, n_workers);
	sm->slot_prev = calloc(n_slots, sizeof(*sm->slot_prev));
	sm->slot_rate = calloc(n_slots, sizeof(*sm->slot_rate));
	if (sm->map == NULL || sm->slot_prev == NULL || sm->slot_rate == NULL) {
		shard_manager_fini(sm);
		return -1;
	}
	shard_map_assign(sm->map, sm->active);
	for (uint32_t s = 0; s < n_slots; s++)
		x[sm->map->owner[s]]->holds[s] = 1;
	sm->sample_ns = clock_mono_ns();
	return 0;
}

void
shard_manager_fini(struct shard_manager *sm)
{
	free(sm->map);
	free(sm->slot_prev);
	free(sm->slot_rate);
	sm->map = NULL;
	sm->slot_prev = NULL;
	sm->slot_rate = NULL;
}

int
shard_manager_move(struct shard_manager *sm, uint32_t n, const uint32_t *slots,
		   const uint16_t *to, char *err, size_t err_len)
{
	struct shard_map *old = sm->map, *next;
	struct xchg_handover *orders;
	uint64_t expect[SHARD_WORKERS_MAX];
	uint32_t moved = 0;
	bool leak = false;
	int ret = -1;

	for (uint32_t i = 0; i < n; i++) {
		if (slots[i] >= old->n_slots || to[i] >= sm->n_workers) {
			snprintf(err, err_len, "slot %u or worker %u out of range", slots[i], to[i]);
			return -1;
		}
		if (!sm->active[to[i]]) {
			snprintf(err, err_len, "worker %u is drained", to[i]);
			return -1;
		}
	}
	next = shard_map_copy(old);
	orders = calloc(sm->n_workers, sizeof(*orders));
	if (next == NULL || orders == NULL) {
		free(next);
		free(orders);
		snprintf(err, err_len, "out of memory");
		return -1;
	}
	for (uint16_t w = 0; w < sm->n_workers; w++) {
		orders[w].slots = malloc(sizeof(uint32_t) * (n ? n : 1));
		orders[w].to = malloc(sizeof(uint16_t) * (n ? n : 1));
		expect[w] = __atomic_load_n(&sm->x[w]->tokens_seen, __ATOMIC_ACQUIRE);
		if (orders[w].slots == NULL || orders[w].to == NULL) {
			snprintf(err, err_len, "out of memory");
			free(next);
			goto out;
		}
	}
	/* A slot named twice: the last word wins, and it gets one token. */
	for (uint32_t i = 0; i < n; i++)
		next->owner[slots[i]] = to[i];
	for (uint32_t i = 0; i < n; i++) {
		uint32_t s = slots[i];
		uint16_t from = old->owner[s];
		bool seen = false;

		if (from == next->owner[s])
			continue;
		for (uint32_t k = 0; k < orders[from].n && !seen; k++)
			seen = orders[from].slots[k] == s;
		if (seen)
			continue;
		orders[from].slots[orders[from].n] = s;
		orders[from].to[orders[from].n++] = next->owner[s];
		expect[next->owner[s]]++;
		moved++;
	}
	if (moved == 0) {
		free(next);
		ret = 0;
		goto out;
	}
	uint64_t t0 = clock_mono_ns();

	next->version = old->version + 1;
	rcu_assign_pointer(sm->map, next);
	synchronize_rcu();
	free(old);
	for (uint16_t w = 0; w < sm->n_workers; w++) {
		void *h = &orders[w];

		if (orders[w].n && rte_ring_mp_enqueue(sm->x[w]->cmd, h) != 0) {
			snprintf(err, err_len, "worker %u: order ring full", w);
			orders[w].n = 0; /* not sent: nothing to wait for */
		}
	}
	/* Wait for every order to be carried out and every token received;
	 * the orders must live until then. */
	for (uint64_t waited = 0;; waited++) {
		bool all = true;

		for (uint16_t w = 0; w < sm->n_workers; w++) {
			if (orders[w].n && !__atomic_load_n(&orders[w].done, __ATOMIC_ACQUIRE))
				all = false;
			if (__atomic_load_n(&sm->x[w]->tokens_seen, __ATOMIC_ACQUIRE) < expect[w])
				all = false;
		}
		if (all)
			break;
		if (waited * 20 > (uint64_t)sm->move_timeout_ms * 1000) {
			/* A worker that stopped polling: its ring still
			 * points at the orders, so they are left allocated. */
			snprintf(err, err_len, "move did not complete in %u ms", sm->move_timeout_ms);
			leak = true;
			goto out;
		}
		usleep(20);
	}
	uint64_t dt = clock_mono_ns() - t0;

	sm->moves++;
	sm->slots_moved += moved;
	sm->last_move_ns = dt;
	if (dt > sm->max_move_ns)
		sm->max_move_ns = dt;
	ret = 0;
out:
	if (leak)
		return -1;
	for (uint16_t w = 0; w < sm->n_workers; w++) {
		free(orders[w].slots);
		free(orders[w].to);
	}
	free(orders);
	return ret;
}

static int
move_list(struct shard_manager *sm, uint32_t n, uint32_t *slots, uint16_t *to,
	  char *err, size_t err_len)
{
	int ret = shard_manager_move(sm, n, slots, to, err, err_len);

	free(slots);
	free(to);
	return ret < 0 ? -1 : (int)n;
}

int
shard_manager_drain(struct shard_manager *sm, uint16_t w, char *err, size_t err_len)
{
	const struct shard_map *m = sm->map;
	uint32_t *slots = malloc(sizeof(*slots) * m->n_slots), n = 0;
	uint16_t *to = malloc(sizeof(*to) * m->n_slots);
	uint16_t others = 0;

	if (slots == NULL || to == NULL) {
		free(slots);
		free(to);
		snprintf(err, err_len, "out of memory");
		return -1;
	}
	for (uint16_t i = 0; i < sm->n_workers; i++)
		others += (i != w && sm->active[i]);
	if (w >= sm->n_workers || others == 0) {
		free(slots);
		free(to);
		snprintf(err, err_len, w >= sm->n_workers ? "no such worker" :
			 "it is the last active worker: nobody could take its slots");
		return -1;
	}
	sm->active[w] = false;
	for (uint32_t s = 0; s < m->n_slots; s++) {
		if (m->owner[s] != w)
			continue;
		slots[n] = s;
		to[n++] = shard_rendezvous(s, sm->active, sm->n_workers);
	}
	return move_list(sm, n, slots, to, err, err_len);
}

int
shard_manager_fill(struct shard_manager *sm, uint16_t w, char *err, size_t err_len)
{
	const struct shard_map *m = sm->map;
	uint32_t *slots = malloc(sizeof(*slots) * m->n_slots), n = 0;
	uint16_t *to = malloc(sizeof(*to) * m->n_slots);

	if (slots == NULL || to == NULL || w >= sm->n_workers) {
		free(slots);
		free(to);
		snprintf(err, err_len, w >= sm->n_workers ? "no such worker" : "out of memory");
		return -1;
	}
	sm->active[w] = true;
	for (uint32_t s = 0; s < m->n_slots; s++) {
		if (m->owner[s] == w || shard_rendezvous(s, sm->active, sm->n_workers) != w)
			continue;
		slots[n] = s;
		to[n++] = w;
	}
	return move_list(sm, n, slots, to, err, err_len);
}

int
shard_manager_rebalance(struct shard_manager *sm, double ratio, bool *reachable,
			char *why, size_t why_len)
{
	uint32_t *slots = malloc(sizeof(*slots) * REBALANCE_MAX_MOVES);
	uint16_t *to = malloc(sizeof(*to) * REBALANCE_MAX_MOVES);
	uint32_t n;

	if (slots == NULL || to == NULL) {
		free(slots);
		free(to);
		snprintf(why, why_len, "out of memory");
		return -1;
	}
	n = shard_plan_rebalance(sm->map, sm->active, sm->slot_rate, ratio,
				 REBALANCE_MAX_MOVES, slots, to, reachable, why, why_len);
	if (n == 0) {
		free(slots);
		free(to);
		return 0;
	}
	/* The load moves with the slots: keep the rates valid for a second
	 * rebalance before the next sample. */
	return move_list(sm, n, slots, to, why, why_len);
}

void
shard_manager_sample(struct shard_manager *sm)
{
	uint64_t t = clock_mono_ns(), dt = t - sm->sample_ns;

	if (dt == 0)
		return;
	for (uint32_t s = 0; s < sm->map->n_slots; s++) {
		uint64_t f = __atomic_load_n(&sm->slots[s].frames, __ATOMIC_RELAXED);

		sm->slot_rate[s] = (double)(f - sm->slot_prev[s]) * 1e9 / (double)dt;
		sm->slot_prev[s] = f;
	}
	sm->sample_ns = t;
}
