/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * slot_state - everything paygate remembers about the merchants of one
 * slot: their idempotency entries (including requests still at the bank)
 * and the slot's frame count for rebalancing. Merchants' token buckets
 * live in merchant_state, indexed by merchant, and follow the same rule.
 *
 * The rule: only the worker that holds the slot (shard_exchange's holds[])
 * reads or writes it. State never moves in memory; ownership does, by a
 * token passed on a ring, whose release/acquire order makes the old
 * holder's writes visible to the new one. Hence no lock and no copy.
 */
#ifndef PAYGATE_SLOT_STATE_H
#define PAYGATE_SLOT_STATE_H

#include <stdint.h>

#include <rte_common.h>

#include "idem_table.h"
#include "token_bucket.h"

struct slot_state {
	struct idem_table idem;
	uint64_t frames;          /* decided here; read racily for rates */
} __rte_cache_aligned;

/* One merchant's fast-path state, padded so that two merchants owned by
 * different workers never share a cache line. */
struct merchant_state {
	struct token_bucket bucket;
} __rte_cache_aligned;

#endif /* PAYGATE_SLOT_STATE_H */
