/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bank_breaker - whether a bank is worth asking. Closed: requests flow,
 * outcomes are counted in a sliding window. Open: after N consecutive
 * timeouts, or a failure ratio over the window (with a minimum of
 * requests); requests are answered 91 at once, on the data plane.
 * Half-open: after open_ms, echo probes (0800) go to the bank; after
 * `probes` answered in a row it closes, a failure reopens it.
 *
 * Owns its counters and window; driven by the control thread, which
 * publishes state() for the workers. Pure: time is passed in.
 */
#ifndef PAYGATE_BANK_BREAKER_H
#define PAYGATE_BANK_BREAKER_H

#include <stdbool.h>
#include <stdint.h>

#define BREAKER_BUCKETS 10

enum breaker_state {
	BREAKER_CLOSED = 0,
	BREAKER_OPEN,
	BREAKER_HALF_OPEN,
};

extern const char *const breaker_state_name[3];

struct breaker_config {
	uint32_t window_ms;           /* failure ratio over this long */
	uint32_t min_requests;        /* ... once at least this many */
	double failure_ratio;         /* 0..1 */
	uint32_t consecutive_failures;
	uint32_t open_ms;             /* before probing */
	uint32_t probes;              /* successes in a row to close */
};

struct bank_breaker {
	struct breaker_config cfg;
	enum breaker_state state;
	uint64_t since_ns;            /* entered the state */
	uint32_t consecutive;         /* failures in a row */
	uint32_t probe_ok;            /* half-open successes in a row */
	struct {
		uint64_t epoch;       /* now / bucket length */
		uint32_t ok, fail;
	} b[BREAKER_BUCKETS];
	uint64_t opened, closed;      /* transitions, for operators */
};

void breaker_init(struct bank_breaker *br, const struct breaker_config *cfg, uint64_t now_ns);
/* An answer from the bank (any code): it is alive. */
void breaker_success(struct bank_breaker *br, uint64_t now_ns);
/* A timeout, a refused or lost connection, garbage. */
void breaker_failure(struct bank_breaker *br, uint64_t now_ns);
/* Time passes: open -> half-open. Returns the state. */
enum breaker_state breaker_tick(struct bank_breaker *br, uint64_t now_ns);
/* Failure ratio over the window, and the number of outcomes it is over. */
double breaker_ratio(const struct bank_breaker *br, uint64_t now_ns, uint32_t *n);

#endif /* PAYGATE_BANK_BREAKER_H */
