/* SPDX-License-Identifier: BSD-3-Clause */
#include <stdlib.h>

#include <xxhash.h>

#include "bank_pending.h"

#define NIL UINT32_MAX

struct pending {
	struct auth_request *rec;
	uint64_t deadline_ns;
	uint32_t hash_next;          /* chain in its hash bucket, or free list */
	uint32_t fifo_prev, fifo_next;
	uint16_t link;
};

struct bank_pending {
	struct pending *p;
	uint32_t *bucket;            /* head index per bucket */
	uint32_t bucket_mask;
	uint32_t free_head;
	uint32_t head, tail;         /* FIFO: oldest at head */
	uint32_t count, capacity;
};

static uint32_t
bucket_of(const struct bank_pending *bp, const struct auth_key *k)
{
	return (uint32_t)XXH3_64bits(k->b, AUTH_KEY_LEN) & bp->bucket_mask;
}

struct bank_pending *
bank_pending_create(uint32_t capacity)
{
	struct bank_pending *bp = calloc(1, sizeof(*bp));
	uint32_t buckets = 16;

	if (bp == NULL || capacity == 0)
		goto fail;
	while (buckets < capacity * 2)
		buckets <<= 1;
	bp->p = calloc(capacity, sizeof(*bp->p));
	bp->bucket = malloc(sizeof(*bp->bucket) * buckets);
	if (bp->p == NULL || bp->bucket == NULL)
		goto fail;
	for (uint32_t i = 0; i < buckets; i++)
		bp->bucket[i] = NIL;
	for (uint32_t i = 0; i < capacity; i++)
		bp->p[i].hash_next = i + 1 < capacity ? i + 1 : NIL;
	bp->bucket_mask = buckets - 1;
	bp->capacity = capacity;
	bp->free_head = 0;
	bp->head = bp->tail = NIL;
	return bp;
fail:
	bank_pending_destroy(bp);
	return NULL;
}

void
bank_pending_destroy(struct bank_pending *bp)
{
	if (bp == NULL)
		return;
	free(bp->p);
	free(bp->bucket);
	free(bp);
}

uint32_t
bank_pending_count(const struct bank_pending *bp)
{
	return bp->count;
}

int
bank_pending_insert(struct bank_pending *bp, struct auth_request *rec,
		    uint64_t deadline_ns, uint16_t link)
{
	uint32_t b = bucket_of(bp, &rec->key);

	for (uint32_t i = bp->bucket[b]; i != NIL; i = bp->p[i].hash_next)
		if (auth_key_equal(&bp->p[i].rec->key, &rec->key))
			return -2;
	if (bp->free_head == NIL)
		return -1;

	uint32_t i = bp->free_head;
	struct pending *e = &bp->p[i];

	bp->free_head = e->hash_next;
	e->rec = rec;
	e->deadline_ns = deadline_ns;
	e->link = link;
	e->hash_next = bp->bucket[b];
	bp->bucket[b] = i;
	e->fifo_next = NIL;
	e->fifo_prev = bp->tail;
	if (bp->tail != NIL)
		bp->p[bp->tail].fifo_next = i;
	else
		bp->head = i;
	bp->tail = i;
	bp->count++;
	return 0;
}

static struct auth_request *
unlink_entry(struct bank_pending *bp, uint32_t i)
{
	struct pending *e = &bp->p[i];
	uint32_t b = bucket_of(bp, &e->rec->key);
	uint32_t *pp = &bp->bucket[b];

	while (*pp != i)
		pp = &bp->p[*pp].hash_next;
	*pp = e->hash_next;
	if (e->fifo_prev != NIL)
		bp->p[e->fifo_prev].fifo_next = e->fifo_next;
	else
		bp->head = e->fifo_next;
	if (e->fifo_next != NIL)
		bp->p[e->fifo_next].fifo_prev = e->fifo_prev;
	else
		bp->tail = e->fifo_prev;

	struct auth_request *rec = e->rec;

	e->rec = NULL;
	e->hash_next = bp->free_head;
	bp->free_head = i;
	bp->count--;
	return rec;
}

struct auth_request *
bank_pending_take(struct bank_pending *bp, const struct auth_key *key)
{
	uint32_t b = bucket_of(bp, key);

	for (uint32_t i = bp->bucket[b]; i != NIL; i = bp->p[i].hash_next)
		if (auth_key_equal(&bp->p[i].rec->key, key))
			return unlink_entry(bp, i);
	return NULL;
}

struct auth_request *
bank_pending_expire(struct bank_pending *bp, uint64_t now_ns)
{
	if (bp->head == NIL || bp->p[bp->head].deadline_ns > now_ns)
		return NULL;
	return unlink_entry(bp, bp->head);
}

struct auth_request *
bank_pending_pop(struct bank_pending *bp)
{
	return bp->head == NIL ? NULL : unlink_entry(bp, bp->head);
}
