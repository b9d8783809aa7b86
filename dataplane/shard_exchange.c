/* SPDX-License-Identifier: BSD-3-Clause */
#include <string.h>

#include <rte_malloc.h>
#include <rte_prefetch.h>

#include "shard_exchange.h"

int
xchg_init(struct shard_exchange *x, uint16_t self, uint16_t n_workers,
	  uint32_t n_slots, int socket)
{
	memset(x, 0, sizeof(*x));
	x->self = self;
	x->n_workers = n_workers;
	x->n_slots = n_slots;
	x->holds = rte_zmalloc_socket("holds", n_slots, RTE_CACHE_LINE_SIZE, socket);
	x->stage = rte_zmalloc_socket("stage", sizeof(*x->stage) * n_workers,
				      RTE_CACHE_LINE_SIZE, socket);
	x->park = rte_zmalloc_socket("park", sizeof(*x->park) * XCHG_PARK,
				     RTE_CACHE_LINE_SIZE, socket);
	if (x->holds == NULL || x->stage == NULL || x->park == NULL) {
		xchg_free(x);
		return -1;
	}
	return 0;
}

void
xchg_free(struct shard_exchange *x)
{
	rte_free(x->holds);
	rte_free(x->stage);
	rte_free(x->park);
	x->holds = NULL;
	x->stage = NULL;
	x->park = NULL;
}

static void
drop(uintptr_t item)
{
	/* Only frames are ever dropped on purpose; a result or token that
	 * cannot be kept is counted as critical by the caller. */
	if (xchg_kind(item) == XCHG_FRAME)
		rte_pktmbuf_free(xchg_ptr(item));
}

static enum xchg_route
stage(struct shard_exchange *x, uint16_t dst, uintptr_t item)
{
	struct xchg_stage *st = &x->stage[dst];
	uint32_t limit = xchg_kind(item) == XCHG_FRAME ? XCHG_STAGE_FRAMES : XCHG_STAGE;

	if (unlikely(st->n >= limit)) {
		if (xchg_kind(item) == XCHG_FRAME)
			x->c.stage_overflow++;
		else
			x->c.stage_overflow_critical++;
		drop(item);
		return XCHG_ROUTE_DROPPED;
	}
	st->items[st->n++] = item;
	return XCHG_ROUTE_SENT;
}

static enum xchg_route
park(struct shard_exchange *x, uintptr_t item)
{
	if (unlikely(x->park_n >= XCHG_PARK)) {
		x->c.park_overflow++;
		drop(item);
		return XCHG_ROUTE_DROPPED;
	}
	x->park[x->park_n++] = item;
	x->c.parked++;
	return XCHG_ROUTE_PARKED;
}

enum xchg_route
xchg_route(struct shard_exchange *x, const struct shard_map *map, uintptr_t item,
	   uint32_t slot, xchg_process_fn *fn, void *ctx)
{
	uint16_t owner;

	if (likely(x->holds[slot])) {
		fn(ctx, item, slot);
		return XCHG_ROUTE_LOCAL;
	}
	owner = map->owner[slot];
	if (owner == x->self)
		return park(x, item);
	return stage(x, owner, item);
}

/* The slot is ours now: what waited for it goes first, in arrival order. */
static void
take_slot(struct shard_exchange *x, uint32_t slot, xchg_process_fn *fn, void *ctx)
{
	uint32_t keep = 0;

	x->holds[slot] = 1;
	for (uint32_t i = 0; i < x->park_n; i++) {
		uintptr_t item = x->park[i];

		if (xchg_slot(item) == slot) {
			x->c.replayed++;
			fn(ctx, item, slot);
		} else {
			x->park[keep++] = item;
		}
	}
	x->park_n = keep;
	x->c.tokens_in++;
	__atomic_store_n(&x->tokens_seen, x->c.tokens_in, __ATOMIC_RELEASE);
}

static void
receive(struct shard_exchange *x, const struct shard_map *map, uintptr_t item,
	xchg_process_fn *fn, void *ctx)
{
	uint32_t slot = xchg_slot(item);

	x->c.received++;
	if (xchg_kind(item) == XCHG_TOKEN) {
		take_slot(x, slot, fn, ctx);
		return;
	}
	if (xchg_route(x, map, item, slot, fn, ctx) == XCHG_ROUTE_SENT)
		x->c.forwarded++;
}

unsigned int
xchg_poll(struct shard_exchange *x, const struct shard_map *map,
	  xchg_process_fn *fn, void *ctx)
{
	uintptr_t items[XCHG_BURST];
	unsigned int total = 0;

	for (uint16_t src = 0; src < x->n_workers; src++) {
		unsigned int n;

		if (x->in[src] == NULL)
			continue;
		n = rte_ring_sc_dequeue_burst(x->in[src], (void **)items, XCHG_BURST, NULL);
		/* The frames were last written on another core: start fetching
		 * them all before working on the first. */
		for (unsigned int i = 0; i < n; i++)
			if (xchg_kind(items[i]) == XCHG_FRAME)
				rte_prefetch0(xchg_ptr(items[i]));
		for (unsigned int i = 0; i < n; i++) {
			if (i + 2 < n && xchg_kind(items[i + 2]) == XCHG_FRAME)
				rte_prefetch0(rte_pktmbuf_mtod((struct rte_mbuf *)xchg_ptr(items[i + 2]),
							       void *));
			receive(x, map, items[i], fn, ctx);
		}
		total += n;
	}
	return total;
}

/* Everything enqueued to us before the order was given; items that arrive
 * while we drain are harmless (routed by the same rule) but not waited for. */
static void
drain_inbound(struct shard_exchange *x, const struct shard_map *map,
	      xchg_process_fn *fn, void *ctx)
{
	uintptr_t items[XCHG_BURST];

	for (uint16_t src = 0; src < x->n_workers; src++) {
		unsigned int left, n;

		if (x->in[src] == NULL)
			continue;
		left = rte_ring_count(x->in[src]);
		while (left > 0) {
			n = rte_ring_sc_dequeue_burst(x->in[src], (void **)items,
				RTE_MIN(left, (unsigned int)XCHG_BURST), NULL);
			if (n == 0)
				break;
			for (unsigned int i = 0; i < n; i++)
				receive(x, map, items[i], fn, ctx);
			left -= n;
		}
	}
}

unsigned int
xchg_commands(struct shard_exchange *x, const struct shard_map *map,
	      xchg_process_fn *fn, void *ctx)
{
	struct xchg_handover *h;
	unsigned int n = 0;

	while (rte_ring_sc_dequeue(x->cmd, (void **)&h) == 0) {
		drain_inbound(x, map, fn, ctx);
		for (uint32_t i = 0; i < h->n; i++) {
			uint32_t slot = h->slots[i];

			if (!x->holds[slot]) {
				x->c.handover_missing++;
				continue;
			}
			x->holds[slot] = 0;
			x->c.tokens_out++;
			stage(x, h->to[i], ((uintptr_t)slot << 2) | XCHG_TOKEN);
		}
		__atomic_store_n(&h->done, 1, __ATOMIC_RELEASE);
		n++;
	}
	return n;
}

uint32_t
xchg_flush(struct shard_exchange *x)
{
	uint32_t left = 0;

	for (uint16_t dst = 0; dst < x->n_workers; dst++) {
		struct xchg_stage *st = &x->stage[dst];
		unsigned int sent;

		if (st->n == 0)
			continue;
		sent = rte_ring_sp_enqueue_burst(x->out[dst], (void **)st->items, st->n, NULL);
		if (sent < st->n)
			memmove(st->items, st->items + sent, (st->n - sent) * sizeof(st->items[0]));
		st->n -= sent;
		left += st->n;
	}
	return left;
}
