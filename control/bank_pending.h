/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bank_pending - requests the control plane has sent to a bank and not yet
 * answered: found by auth_key when the answer comes, and kept in send
 * order for timeouts. Every request has the same timeout, so send order is
 * deadline order and the FIFO's head is always the next to expire; removal
 * on a match is O(1) (doubly linked). Fixed capacity, allocated at create;
 * owned by the control thread.
 */
#ifndef PAYGATE_BANK_PENDING_H
#define PAYGATE_BANK_PENDING_H

#include <stdint.h>

#include "handoff.h"

struct bank_pending;

struct bank_pending *bank_pending_create(uint32_t capacity);
void bank_pending_destroy(struct bank_pending *bp);

/* 0, or -1 when full, or -2 when the key is already pending. */
int bank_pending_insert(struct bank_pending *bp, struct auth_request *rec,
			uint64_t deadline_ns, uint16_t link);
/* Remove and return the request with this key, or NULL. */
struct auth_request *bank_pending_take(struct bank_pending *bp,
				       const struct auth_key *key);
/* Remove and return the oldest request if its deadline is <= now. */
struct auth_request *bank_pending_expire(struct bank_pending *bp,
					 uint64_t now_ns);
/* Remove and return any request (shutdown), or NULL when empty. */
struct auth_request *bank_pending_pop(struct bank_pending *bp);
uint32_t bank_pending_count(const struct bank_pending *bp);

#endif /* PAYGATE_BANK_PENDING_H */
