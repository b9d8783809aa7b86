/* SPDX-License-Identifier: BSD-3-Clause */
#include <string.h>

#include <xxhash.h>

#include "idem_table.h"

size_t
idem_table_mem_size(uint32_t entries)
{
	return (size_t)(entries / IDEM_WAYS) * sizeof(struct idem_bucket);
}

void
idem_table_init(struct idem_table *t, void *mem, uint32_t entries,
		uint64_t ttl_tsc)
{
	memset(t, 0, sizeof(*t));
	t->buckets = mem;
	t->bucket_mask = entries / IDEM_WAYS - 1;
	t->ttl_tsc = ttl_tsc;
}

uint64_t
idem_hash(const struct auth_key *k)
{
	return XXH3_64bits(k->b, AUTH_KEY_LEN);
}

/* Bucket from the low bits, signature from the high: independent. A zero
 * signature marks a free way, so signatures are never zero. */
static inline struct idem_bucket *
bucket_of(struct idem_table *t, uint64_t hash)
{
	return &t->buckets[hash & t->bucket_mask];
}

static inline uint32_t
sig_of(uint64_t hash)
{
	uint32_t s = (uint32_t)(hash >> 32);

	return s ? s : 1;
}

static inline bool
live(const struct idem_bucket *b, unsigned int w, uint64_t now)
{
	return b->sig[w] != 0 && b->e[w].expires_tsc > now;
}

static struct idem_entry *
find(struct idem_table *t, const struct auth_key *k, uint64_t hash,
     uint64_t now)
{
	struct idem_bucket *b = bucket_of(t, hash);
	uint32_t sig = sig_of(hash);

	for (unsigned int w = 0; w < IDEM_WAYS; w++)
		if (b->sig[w] == sig && live(b, w, now) &&
		    auth_key_equal(&b->e[w].key, k))
			return &b->e[w];
	return NULL;
}

struct idem_entry *
idem_find(struct idem_table *t, const struct auth_key *k, uint64_t hash,
	  uint64_t now)
{
	return find(t, k, hash, now);
}

enum idem_verdict
idem_lookup(struct idem_table *t, const struct auth_key *k, uint64_t hash,
	    uint64_t fingerprint, uint64_t now, struct idem_entry **out)
{
	struct idem_entry *e = find(t, k, hash, now);

	*out = e;
	if (e == NULL)
		return IDEM_MISS;
	if (e->fingerprint != fingerprint)
		return IDEM_CONFLICT;
	return e->state == IDEM_PENDING ? IDEM_HIT_PENDING : IDEM_HIT_DONE;
}

struct idem_entry *
idem_insert(struct idem_table *t, const struct auth_key *k, uint64_t hash,
	    uint64_t fingerprint, uint64_t now)
{
	struct idem_bucket *b = bucket_of(t, hash);
	int free_way = -1, oldest_done = -1, oldest_any = 0;

	for (unsigned int w = 0; w < IDEM_WAYS; w++) {
		if (!live(b, w, now)) {
			free_way = (int)w;
			break;
		}
		/* Earliest expiry = oldest, since every entry gets the same TTL
		 * when it is written. */
		if (b->e[w].state == IDEM_DONE &&
		    (oldest_done < 0 ||
		     b->e[w].expires_tsc < b->e[oldest_done].expires_tsc))
			oldest_done = (int)w;
		if (b->e[w].expires_tsc < b->e[oldest_any].expires_tsc)
			oldest_any = (int)w;
	}
	int w = free_way;

	if (w < 0 && oldest_done >= 0) {
		w = oldest_done;
		t->evicted++;
	} else if (w < 0) {
		w = oldest_any;
		t->evicted_pending++;
	}
	struct idem_entry *e = &b->e[w];

	b->sig[w] = sig_of(hash);
	e->key = *k;
	e->fingerprint = fingerprint;
	e->expires_tsc = now + t->ttl_tsc;
	e->state = IDEM_PENDING;
	e->has_auth_code = 0;
	return e;
}

void
idem_complete(struct idem_entry *e, const char rc[2], const char *auth_code,
	      uint64_t now, uint64_t ttl_tsc)
{
	e->state = IDEM_DONE;
	memcpy(e->rc, rc, 2);
	e->has_auth_code = auth_code != NULL;
	if (auth_code)
		memcpy(e->auth_code, auth_code, ISO_AUTH_CODE_LEN);
	/* The TTL runs from the answer: a terminal retransmits after it has
	 * waited, not after it sent. */
	e->expires_tsc = now + ttl_tsc;
}

void
idem_remove(struct idem_table *t, struct idem_entry *e, uint64_t hash)
{
	struct idem_bucket *b = bucket_of(t, hash);
	unsigned int w = (unsigned int)(e - b->e);

	if (w < IDEM_WAYS) {
		b->sig[w] = 0;
		e->state = IDEM_FREE;
	}
}
