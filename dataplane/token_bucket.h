/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * token_bucket - a merchant's rate limit, written as GCRA (the generic cell
 * rate algorithm): the bucket is a theoretical arrival time in TSC ticks.
 * A request conforms if it arrives no earlier than tat - tolerance; then tat
 * moves one emission interval on. One compare and one add per request, no
 * division. Owned by the worker that owns the merchant.
 */
#ifndef PAYGATE_TOKEN_BUCKET_H
#define PAYGATE_TOKEN_BUCKET_H

#include <stdbool.h>
#include <stdint.h>

struct token_bucket {
	uint64_t tat;          /* theoretical arrival time, TSC */
	uint64_t interval;     /* TSC ticks per token: hz / rate */
	uint64_t tolerance;    /* (burst - 1) * interval */
};

static inline void
token_bucket_init(struct token_bucket *tb, uint64_t tsc_hz, uint32_t rate,
		  uint32_t burst, uint64_t now)
{
	tb->interval = tsc_hz / (rate ? rate : 1);
	if (tb->interval == 0)
		tb->interval = 1;
	tb->tolerance = (uint64_t)(burst ? burst - 1 : 0) * tb->interval;
	tb->tat = now;
}

/* True and one token taken, or false and nothing changed. */
static inline bool
token_bucket_take(struct token_bucket *tb, uint64_t now)
{
	uint64_t tat = tb->tat > now ? tb->tat : now;

	if (tat - now > tb->tolerance)
		return false;
	tb->tat = tat + tb->interval;
	return true;
}

/* Tokens available now, for operators (divides: not for the fast path). */
static inline uint32_t
token_bucket_level(const struct token_bucket *tb, uint64_t now)
{
	uint64_t used = tb->tat > now ? tb->tat - now : 0;

	if (used > tb->tolerance + tb->interval)
		return 0;
	return (uint32_t)((tb->tolerance + tb->interval - used) / tb->interval);
}

#endif /* PAYGATE_TOKEN_BUCKET_H */
