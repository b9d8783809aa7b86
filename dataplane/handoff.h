/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * handoff - what a worker lcore hands to the control plane when a request
 * needs the bank, and how the answer comes back.
 *
 * Owns: struct auth_request (the record), struct auth_key (the identity of
 * a request: merchant 42 + terminal 41 + STAN 11 + transmission time 7),
 * and the pair of rings per worker.
 *
 * Ownership of a record moves with it and never overlaps:
 *   worker: rte_mempool_get() -> fill -> enqueue on to_control
 *   control plane: dequeue -> bank round trip -> fill outcome -> enqueue on
 *                  the owning worker's to_worker ring
 *   worker: dequeue -> build the answer -> rte_mempool_put()
 * Only workers touch the mempool, so it may use per-lcore caches. The
 * record holds a copy of the message, never the mbuf: an mbuf is not held
 * for the length of a bank round trip.
 */
#ifndef PAYGATE_HANDOFF_H
#define PAYGATE_HANDOFF_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <rte_common.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include "frame.h"
#include "iso8583.h"

/* 15 (42) + 8 (41) + 6 (11) + 10 (7) = 39 bytes, one pad byte. */
#define AUTH_KEY_LEN 40

struct auth_key {
	uint8_t b[AUTH_KEY_LEN];
};

/* Build the key; false if any of 42, 41, 11, 7 is absent or not of its
 * fixed length (the parser already enforces fixed lengths). */
static inline bool
auth_key_from_msg(const struct iso_msg *m, struct auth_key *k)
{
	static const uint8_t fields[4] = { 42, 41, 11, 7 };
	static const uint8_t lens[4] = { 15, 8, 6, 10 };
	unsigned int off = 0;

	for (unsigned int i = 0; i < 4; i++) {
		if (!iso_has(m, fields[i]) ||
		    iso_field_len(m, fields[i]) != lens[i])
			return false;
		memcpy(k->b + off, iso_field_ptr(m, fields[i]), lens[i]);
		off += lens[i];
	}
	k->b[AUTH_KEY_LEN - 1] = 0;
	return true;
}

static inline bool
auth_key_equal(const struct auth_key *a, const struct auth_key *b)
{
	return memcmp(a->b, b->b, AUTH_KEY_LEN) == 0;
}

enum auth_outcome {
	AUTH_OUTCOME_NONE = 0,
	AUTH_OUTCOME_BANK,        /* rc (and auth_code) from the bank */
	AUTH_OUTCOME_TIMEOUT,     /* no answer in time: 91 */
	AUTH_OUTCOME_UNAVAILABLE, /* no bank link could take it: 91 */
	AUTH_OUTCOME_ERROR,       /* could not encode or bank garbage: 96 */
	AUTH_OUTCOME_STANDIN,     /* approved in stand-in (rc 00, auth S.....) */
	AUTH_OUTCOME_DATAPLANE,   /* declined by a worker (journal notes only) */
};

struct auth_request {
	/* Written by the worker before the hand-off. */
	struct auth_key key;
	struct frame_peer peer;   /* who to answer */
	uint64_t rx_tsc;          /* when the request arrived */
	uint32_t slot;            /* merchant's slot: whoever holds it answers */
	uint16_t worker;          /* worker whose result ring gets it back */
	uint8_t bank;             /* issuer, by the card's BIN (bin_route) */
	uint16_t port_id;         /* port the answer leaves by */
	uint16_t msg_len;
	uint8_t enc;              /* enum iso_bitmap_enc of msg */
	/* Written by the control plane. */
	uint64_t bank_sent_ns;    /* when it was written to a bank link */
	uint8_t outcome;          /* enum auth_outcome */
	char rc[2];               /* field 39 to answer with */
	char auth_code[ISO_AUTH_CODE_LEN];
	uint8_t has_auth_code;
	uint8_t msg[ISO_MSG_MAX]; /* the request as received, no length hdr */
} __rte_cache_aligned;

/* A decline decided on the data plane, for the journal: best effort
 * (a full pool or ring only costs the record, counted), never waited for. */
struct decline_note {
	struct auth_key key;
	char rc[2];
	uint16_t mti;
} __rte_cache_aligned;

/* One per worker. All rings are single-producer single-consumer. */
struct handoff_channel {
	struct rte_ring *to_control; /* worker -> control plane */
	struct rte_ring *to_worker;  /* control plane -> worker */
	struct rte_ring *to_journal; /* worker -> control plane: decline_notes;
				      * NULL when [journal] declines = 0 */
	struct rte_mempool *note_pool;
};

#endif /* PAYGATE_HANDOFF_H */
