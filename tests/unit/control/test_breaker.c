/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The bank breaker's state machine: consecutive failures open it, so does
 * a failure ratio over the window once enough outcomes were seen (and old
 * outcomes leave the window), it waits open_ms, probes in half-open, a
 * probe failure reopens, enough probe successes close it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "bank_breaker.h"

#define MS 1000000ull

static const struct breaker_config cfg = {
	.window_ms = 1000, .min_requests = 20, .failure_ratio = 0.5,
	.consecutive_failures = 5, .open_ms = 2000, .probes = 3,
};

static void
test_consecutive(void **state)
{
	struct bank_breaker br;
	uint64_t t = 1000 * MS;

	(void)state;
	breaker_init(&br, &cfg, t);
	for (int i = 0; i < 4; i++)
		breaker_failure(&br, t += MS);
	breaker_success(&br, t += MS);          /* resets the run */
	for (int i = 0; i < 4; i++)
		breaker_failure(&br, t += MS);
	assert_int_equal(br.state, BREAKER_CLOSED);
	breaker_failure(&br, t += MS);
	assert_int_equal(br.state, BREAKER_OPEN);
	assert_int_equal(br.opened, 1);
	/* Open: answers do not close it, only time and probes. */
	breaker_success(&br, t += MS);
	assert_int_equal(breaker_tick(&br, t + 1998 * MS), BREAKER_OPEN); /* opened 1 ms ago */
	t += 2000 * MS;
	assert_int_equal(breaker_tick(&br, t), BREAKER_HALF_OPEN);
	breaker_success(&br, t += MS);
	breaker_success(&br, t += MS);
	breaker_failure(&br, t += MS);          /* a probe fails: open again */
	assert_int_equal(br.state, BREAKER_OPEN);
	assert_int_equal(br.opened, 2);
	t += 2000 * MS;
	assert_int_equal(breaker_tick(&br, t), BREAKER_HALF_OPEN);
	for (int i = 0; i < 3; i++)
		breaker_success(&br, t += MS);
	assert_int_equal(br.state, BREAKER_CLOSED);
	assert_int_equal(br.closed, 1);
}

static void
test_ratio(void **state)
{
	struct bank_breaker br;
	uint64_t t = 5000 * MS;
	uint32_t n;

	(void)state;
	breaker_init(&br, &cfg, t);
	/* Alternate: 50 % failures, but never 5 in a row; below 20 outcomes
	 * it stays closed. */
	for (int i = 0; i < 18; i++) {
		if (i % 2)
			breaker_failure(&br, t += 10 * MS);
		else
			breaker_success(&br, t += 10 * MS);
	}
	assert_int_equal(br.state, BREAKER_CLOSED);
	assert_true(breaker_ratio(&br, t, &n) > 0.49 && n == 18);
	breaker_success(&br, t += 10 * MS);
	breaker_failure(&br, t += 10 * MS);   /* 20 outcomes, 10 failures */
	assert_int_equal(br.state, BREAKER_OPEN);

	/* Old outcomes leave the window. */
	breaker_init(&br, &cfg, t);
	for (int i = 0; i < 15; i++)
		breaker_failure(&br, t += (i % 4 == 3) ? 0 : MS), breaker_success(&br, t);
	t += 1500 * MS;
	breaker_ratio(&br, t, &n);
	assert_int_equal(n, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_consecutive),
		cmocka_unit_test(test_ratio),
	};

	return cmocka_run_group_tests_name("breaker", tests, NULL, NULL);
}
