/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * latency_hist - a log-linear histogram of latencies in nanoseconds:
 * powers of two, each split into 32 linear sub-buckets, so any value is
 * kept within ~3% from 1 ns to over a minute, in fixed memory.
 */
#ifndef PAYGATE_LATENCY_HIST_H
#define PAYGATE_LATENCY_HIST_H

#include <stdint.h>

#define HIST_SUB_BITS 5
#define HIST_SUB (1u << HIST_SUB_BITS)
#define HIST_MAJOR 40 /* 2^40 ns ~ 18 minutes */

struct latency_hist {
	uint64_t count;
	uint64_t max;
	uint64_t bucket[HIST_MAJOR * HIST_SUB];
};

void hist_record(struct latency_hist *h, uint64_t ns);
/* Value at quantile q (0..1): the upper bound of its bucket, capped at max. */
uint64_t hist_quantile(const struct latency_hist *h, double q);

#endif /* PAYGATE_LATENCY_HIST_H */
