/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * reversal_queue - reversals paygate owes a bank: for a request that timed
 * out (the bank may have approved it), and for requests found at the bank
 * after a crash. Each is sent as 0400, then repeated as 0401 every
 * retry interval until the bank answers 0410 (any code: 00 reversed, 25
 * nothing to reverse; both settle it). The queue itself is rebuilt from
 * the journal after a restart (REVERSAL_SENT without REVERSAL_ACK).
 *
 * The reversal's own identity (42 + 41 + its 11 + its 7) is what its 0410
 * is matched by; its 11 comes from the gateway's counter and its 7 is the
 * gateway's clock. Field 90 carries the original MTI, STAN and field 7.
 *
 * Fixed capacity, allocated at create (jemalloc); owned by the control
 * thread.
 */
#ifndef PAYGATE_REVERSAL_QUEUE_H
#define PAYGATE_REVERSAL_QUEUE_H

#include <stdbool.h>
#include <stdint.h>

#include "handoff.h"

struct reversal {
	struct auth_key orig;      /* the request reversed */
	struct auth_key key;       /* the reversal's own identity */
	uint64_t next_ns;          /* due (re)send, CLOCK_MONOTONIC */
	uint64_t seq;              /* its REVERSAL_SENT record: sent once durable */
	uint32_t sends;
	uint16_t len;
	uint8_t enc;
	uint8_t used;
	uint8_t msg[ISO_MSG_MAX];  /* 0400, or 0401 once sent */
};

struct reversal_queue;

struct reversal_queue *reversal_queue_create(uint32_t capacity, uint64_t retry_ns);
void reversal_queue_destroy(struct reversal_queue *q);

/* Build the 0400 for the original request msg (in enc) and queue it, due
 * now. Returns the entry, or NULL when full or msg lacks 41/42/11/7. */
struct reversal *reversal_queue_add(struct reversal_queue *q, const uint8_t *msg,
				    uint16_t len, uint8_t enc, uint64_t now_ns);
/* Queue a reversal message already built (from the journal): as a repeat. */
struct reversal *reversal_queue_restore(struct reversal_queue *q, const uint8_t *msg,
					uint16_t len, uint8_t enc, uint64_t now_ns);
/* The next reversal due at now whose record is durable, or NULL. */
struct reversal *reversal_queue_due(struct reversal_queue *q, uint64_t now_ns,
				    uint64_t durable_seq);
/* It was written to a bank link: next time as 0401, after the interval. */
void reversal_queue_sent(struct reversal_queue *q, struct reversal *r, uint64_t now_ns);
/* A 0410 for key: remove it. Returns the entry's original key in *orig and
 * true, or false if it was not ours. */
bool reversal_queue_ack(struct reversal_queue *q, const struct auth_key *key,
			struct auth_key *orig);
uint32_t reversal_queue_count(const struct reversal_queue *q);

#endif /* PAYGATE_REVERSAL_QUEUE_H */
