/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * idem_table - one worker's memory of requests it has sent to the bank or
 * answered with a stored decision, by identity (auth_key: 42+41+11+7), so
 * that a retransmission is answered the same way and never reaches the
 * bank twice.
 *
 * Set-associative: the key's hash picks a bucket of IDEM_WAYS entries; a
 * 32-bit signature per way avoids most key compares. An entry whose TTL has
 * passed is free. A full bucket evicts its oldest DONE entry, or, if every
 * entry is still at the bank, its oldest PENDING entry (counted apart: its
 * answer will still go out, but a retransmission after that would reach
 * the bank again). Fixed size, owned and touched by one worker only.
 */
#ifndef PAYGATE_IDEM_TABLE_H
#define PAYGATE_IDEM_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "handoff.h"

/* 8 ways: one bucket's signatures fill half a cache line. */
#define IDEM_WAYS 8

enum idem_state {
	IDEM_FREE = 0,
	IDEM_PENDING,   /* at the bank */
	IDEM_DONE,      /* answered; rc and auth code stored */
};

struct idem_entry {
	struct auth_key key;
	uint64_t fingerprint;   /* MTI, 2, 3, 4, 49 */
	uint64_t expires_tsc;
	uint8_t state;          /* enum idem_state */
	uint8_t has_auth_code;
	uint8_t origin;         /* worker that created it; it may have moved */
	char rc[2];
	char auth_code[ISO_AUTH_CODE_LEN];
};

struct idem_bucket {
	uint32_t sig[IDEM_WAYS];
	struct idem_entry e[IDEM_WAYS];
};

struct idem_table {
	struct idem_bucket *buckets;
	uint32_t bucket_mask;
	uint64_t ttl_tsc;
	uint64_t evicted;
	uint64_t evicted_pending;
};

enum idem_verdict {
	IDEM_MISS = 0,      /* new request */
	IDEM_HIT_PENDING,   /* same request, still at the bank: absorb */
	IDEM_HIT_DONE,      /* same request, answered: replay */
	IDEM_CONFLICT,      /* same identity, different content: 94 */
};

/* Bytes of memory for `entries` entries (a power of two >= IDEM_WAYS). */
size_t idem_table_mem_size(uint32_t entries);
/* mem: zeroed, idem_table_mem_size() bytes, cache-line aligned. */
void idem_table_init(struct idem_table *t, void *mem, uint32_t entries,
		     uint64_t ttl_tsc);

uint64_t idem_hash(const struct auth_key *k);

/* On a hit, *out is the entry (valid until the next insert). */
enum idem_verdict idem_lookup(struct idem_table *t, const struct auth_key *k,
			      uint64_t hash, uint64_t fingerprint, uint64_t now,
			      struct idem_entry **out);
/* Insert as PENDING (key known absent). Never fails: evicts if needed. */
struct idem_entry *idem_insert(struct idem_table *t, const struct auth_key *k,
			       uint64_t hash, uint64_t fingerprint,
			       uint64_t now);
/* Find the entry of k regardless of state; NULL if gone. */
struct idem_entry *idem_find(struct idem_table *t, const struct auth_key *k,
			     uint64_t hash, uint64_t now);
void idem_complete(struct idem_entry *e, const char rc[2],
		   const char *auth_code, uint64_t now, uint64_t ttl_tsc);
void idem_remove(struct idem_table *t, struct idem_entry *e, uint64_t hash);

#endif /* PAYGATE_IDEM_TABLE_H */
