/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * owed_queue - messages paygate owes a bank, repeated until the bank
 * answers them: reversals (0400 then 0401 repeats, answered 0410) for a
 * request that timed out (the bank may have approved it) or was found at
 * the bank after a crash; advices (0120 then 0121, answered 0130) of
 * stand-in approvals. The repeat is the same message with the MTI's last
 * digit set to 1. Any answer code settles it (00 done, 25 nothing to
 * reverse). Rebuilt from the journal after a restart (*_SENT without
 * *_ACK).
 *
 * A reversal's own identity (42 + 41 + its 11 + its 7) is what its 0410
 * is matched by; its 11 comes from the gateway's counter and its 7 is the
 * gateway's clock. Field 90 carries the original MTI, STAN and field 7.
 *
 * Fixed capacity, allocated at create (jemalloc); owned by the control
 * thread.
 */
#ifndef PAYGATE_OWED_QUEUE_H
#define PAYGATE_OWED_QUEUE_H

#include <stdbool.h>
#include <stdint.h>

#include "handoff.h"

struct owed_msg {
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

struct owed_queue;

struct owed_queue *owed_queue_create(uint32_t capacity, uint64_t retry_ns);
void owed_queue_destroy(struct owed_queue *q);

/* Build the 0400 for the original request msg (in enc) and queue it, due
 * now. Returns the entry, or NULL when full or msg lacks 41/42/11/7. */
struct owed_msg *owed_queue_add_reversal(struct owed_queue *q, const uint8_t *msg,
				    uint16_t len, uint8_t enc, uint64_t now_ns);
/* Queue a message already built (an advice; or from the journal, then
 * as a repeat): its identity is its own 42 + 41 + 11 + 7. */
struct owed_msg *owed_queue_add(struct owed_queue *q, const uint8_t *msg, uint16_t len,
				uint8_t enc, uint64_t now_ns);
struct owed_msg *owed_queue_restore(struct owed_queue *q, const uint8_t *msg,
					uint16_t len, uint8_t enc, uint64_t now_ns);
/* The next message due at now whose record is durable, or NULL. */
struct owed_msg *owed_queue_due(struct owed_queue *q, uint64_t now_ns,
				    uint64_t durable_seq);
/* It was written to a bank link: next time as 0401, after the interval. */
void owed_queue_sent(struct owed_queue *q, struct owed_msg *r, uint64_t now_ns);
/* It could not be written (no link up, bank not answering): due again
 * after the interval, unchanged. */
void owed_queue_postpone(struct owed_queue *q, struct owed_msg *r, uint64_t now_ns);
/* A 0410 for key: remove it. Returns the entry's original key in *orig and
 * true, or false if it was not ours. */
bool owed_queue_ack(struct owed_queue *q, const struct auth_key *key,
			struct auth_key *orig);
uint32_t owed_queue_count(const struct owed_queue *q);
/* Every open message, for checkpoints. */
void owed_queue_each(const struct owed_queue *q,
		     void (*fn)(void *ctx, const struct owed_msg *m), void *ctx);

#endif /* PAYGATE_OWED_QUEUE_H */
