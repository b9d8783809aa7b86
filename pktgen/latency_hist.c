/* SPDX-License-Identifier: BSD-3-Clause */
#include "latency_hist.h"

/* Values below HIST_SUB map 1:1; above, the top HIST_SUB_BITS+1 bits pick
 * the bucket within their power of two. */
static unsigned int
index_of(uint64_t v)
{
	if (v < HIST_SUB)
		return (unsigned int)v;
	unsigned int msb = 63u - (unsigned int)__builtin_clzll(v);
	unsigned int shift = msb - HIST_SUB_BITS;
	unsigned int major = shift + 1;

	if (major >= HIST_MAJOR)
		return HIST_MAJOR * HIST_SUB - 1;
	return major * HIST_SUB + (unsigned int)((v >> shift) - HIST_SUB);
}

static uint64_t
upper_of(unsigned int idx)
{
	unsigned int major = idx / HIST_SUB, sub = idx % HIST_SUB;

	if (major == 0)
		return sub;
	unsigned int shift = major - 1;

	return (((uint64_t)(sub + HIST_SUB) + 1) << shift) - 1;
}

void
hist_record(struct latency_hist *h, uint64_t ns)
{
	h->bucket[index_of(ns)]++;
	h->count++;
	if (ns > h->max)
		h->max = ns;
}

uint64_t
hist_quantile(const struct latency_hist *h, double q)
{
	if (h->count == 0)
		return 0;
	uint64_t rank = (uint64_t)(q * (double)h->count);
	uint64_t seen = 0;

	if (rank >= h->count)
		rank = h->count - 1;
	for (unsigned int i = 0; i < HIST_MAJOR * HIST_SUB; i++) {
		seen += h->bucket[i];
		if (seen > rank) {
			uint64_t v = upper_of(i);

			return v < h->max ? v : h->max;
		}
	}
	return h->max;
}
