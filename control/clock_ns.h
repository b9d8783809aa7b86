/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * clock_ns - the two clocks the control side reads, in nanoseconds:
 * monotonic for deadlines and intervals, realtime for what is written
 * down (journal records, TTLs across restarts). Not for the fast path,
 * which uses the TSC.
 */
#ifndef PAYGATE_CLOCK_NS_H
#define PAYGATE_CLOCK_NS_H

#include <stdint.h>
#include <time.h>

static inline uint64_t
clock_ns(clockid_t which)
{
	struct timespec ts;

	clock_gettime(which, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline uint64_t
clock_mono_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

static inline uint64_t
clock_real_ns(void)
{
	return clock_ns(CLOCK_REALTIME);
}

#endif /* PAYGATE_CLOCK_NS_H */
