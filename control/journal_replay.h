/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * journal_replay - what recovery learns from the journal, per request
 * identity (auth_key): its last decision (for the idempotency tables, so
 * that a retransmission after a restart gets the same answer), requests
 * handed to the bank with no outcome (to be reversed), and reversals sent
 * but never acknowledged (to be sent again). Built by journal_recover()'s
 * callback, read once, freed. Control-plane memory (jemalloc).
 */
#ifndef PAYGATE_JOURNAL_REPLAY_H
#define PAYGATE_JOURNAL_REPLAY_H

#include <stdbool.h>
#include <stdint.h>

#include "journal.h"

struct replay_item {
	struct auth_key key;
	uint64_t fingerprint;     /* of the request, as the workers compute it */
	uint64_t time_ns;         /* of the decision */
	uint8_t has_request;
	uint8_t has_decision;
	uint8_t is_owed;      /* key is an owed message's (reversal, advice) */
	uint8_t acked;            /* ... acknowledged */
	uint8_t outcome;
	uint8_t has_auth_code;
	uint8_t enc;
	char rc[2];
	char auth_code[ISO_AUTH_CODE_LEN];
	uint16_t msg_len;         /* kept while it may be needed */
	uint8_t *msg;
};

struct journal_replay_stats {
	uint64_t records, requests, decisions, approvals;
	uint64_t dataplane_declines;
	uint64_t orphans;         /* requests with no outcome */
	uint64_t reversals_open;  /* sent, not acknowledged */
};

struct journal_replay;

/* checkpoint_cutoff_ns: the newest checkpoint at or before this realtime
 * is where later recoveries may start (journal_replay_horizon). */
struct journal_replay *journal_replay_create(uint64_t checkpoint_cutoff_ns);
/* Seq of that checkpoint's first record, 0 if none. */
uint64_t journal_replay_horizon(const struct journal_replay *r);
void journal_replay_destroy(struct journal_replay *r);
/* A journal_scan_fn: ctx is the journal_replay. */
void journal_replay_add(void *ctx, const struct journal_entry *e);
void journal_replay_each(struct journal_replay *r,
			 void (*fn)(void *ctx, const struct replay_item *it), void *ctx);
void journal_replay_get_stats(const struct journal_replay *r,
			      struct journal_replay_stats *out);

#endif /* PAYGATE_JOURNAL_REPLAY_H */
