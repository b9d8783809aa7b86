/* SPDX-License-Identifier: BSD-3-Clause */
#include <string.h>

#include "bank_breaker.h"

const char *const breaker_state_name[3] = { "closed", "open", "half-open" };

static uint64_t
bucket_ns(const struct bank_breaker *br)
{
	uint64_t ns = (uint64_t)br->cfg.window_ms * 1000000ull / BREAKER_BUCKETS;

	return ns ? ns : 1;
}

static void
enter(struct bank_breaker *br, enum breaker_state s, uint64_t now_ns)
{
	if (s == BREAKER_OPEN && br->state != BREAKER_OPEN)
		br->opened++;
	if (s == BREAKER_CLOSED && br->state != BREAKER_CLOSED) {
		br->closed++;
		memset(br->b, 0, sizeof(br->b));   /* a fresh window */
	}
	br->state = s;
	br->since_ns = now_ns;
	br->consecutive = 0;
	br->probe_ok = 0;
}

void
breaker_init(struct bank_breaker *br, const struct breaker_config *cfg, uint64_t now_ns)
{
	memset(br, 0, sizeof(*br));
	br->cfg = *cfg;
	br->since_ns = now_ns;
}

static void
count(struct bank_breaker *br, uint64_t now_ns, bool ok)
{
	uint64_t e = now_ns / bucket_ns(br);
	unsigned int i = (unsigned int)(e % BREAKER_BUCKETS);

	if (br->b[i].epoch != e) {
		br->b[i].epoch = e;
		br->b[i].ok = br->b[i].fail = 0;
	}
	if (ok)
		br->b[i].ok++;
	else
		br->b[i].fail++;
}

double
breaker_ratio(const struct bank_breaker *br, uint64_t now_ns, uint32_t *n)
{
	uint64_t e = now_ns / bucket_ns(br);
	uint32_t ok = 0, fail = 0;

	for (unsigned int i = 0; i < BREAKER_BUCKETS; i++) {
		if (br->b[i].epoch + BREAKER_BUCKETS <= e || br->b[i].epoch > e)
			continue;
		ok += br->b[i].ok;
		fail += br->b[i].fail;
	}
	*n = ok + fail;
	return *n ? (double)fail / *n : 0.0;
}

void
breaker_success(struct bank_breaker *br, uint64_t now_ns)
{
	switch (br->state) {
	case BREAKER_CLOSED:
		br->consecutive = 0;
		count(br, now_ns, true);
		break;
	case BREAKER_HALF_OPEN:
		if (++br->probe_ok >= br->cfg.probes)
			enter(br, BREAKER_CLOSED, now_ns);
		break;
	case BREAKER_OPEN:
		/* A late answer: the bank is not back until probes say so. */
		break;
	}
}

void
breaker_failure(struct bank_breaker *br, uint64_t now_ns)
{
	uint32_t n;

	switch (br->state) {
	case BREAKER_CLOSED:
		count(br, now_ns, false);
		if (++br->consecutive >= br->cfg.consecutive_failures ||
		    (breaker_ratio(br, now_ns, &n) >= br->cfg.failure_ratio &&
		     n >= br->cfg.min_requests))
			enter(br, BREAKER_OPEN, now_ns);
		break;
	case BREAKER_HALF_OPEN:
		enter(br, BREAKER_OPEN, now_ns);
		break;
	case BREAKER_OPEN:
		break;
	}
}

enum breaker_state
breaker_tick(struct bank_breaker *br, uint64_t now_ns)
{
	if (br->state == BREAKER_OPEN &&
	    now_ns - br->since_ns >= (uint64_t)br->cfg.open_ms * 1000000ull)
		enter(br, BREAKER_HALF_OPEN, now_ns);
	return br->state;
}
