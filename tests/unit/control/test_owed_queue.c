/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The owed queue: a reversal built from its original (fields, 90, its own
 * identity), held until its journal record is durable, repeated as 0401
 * after the interval, settled by an answer with its identity only; an
 * advice queued as built; a message restored from the journal starts as a
 * repeat; capacity bounded.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "owed_queue.h"

#define MS 1000000ull

static int
original(uint8_t *buf, size_t cap, uint16_t mti, const char *stan)
{
	struct iso_builder b;

	iso_build_begin(&b, buf, cap, ISO_BITMAP_BINARY, mti, false);
	iso_build_field(&b, 2, "4000000000079196", 16);
	iso_build_field(&b, 3, "000000", 6);
	iso_build_field(&b, 4, "000000002500", 12);
	iso_build_field(&b, 7, "1125120001", 10);
	iso_build_field(&b, 11, stan, 6);
	iso_build_field(&b, 14, "2812", 4);
	iso_build_field(&b, 41, "T0000001", 8);
	iso_build_field(&b, 42, "M00000000000001", 15);
	iso_build_field(&b, 49, "826", 3);
	return iso_build_end(&b);
}

static void
test_reversal(void **state)
{
	struct owed_queue *q = owed_queue_create(4, 1000 * MS);
	uint8_t msg[512];
	int n = original(msg, sizeof(msg), 100, "000003");
	struct owed_msg *r;
	struct iso_msg m;
	struct auth_key orig, got;

	(void)state;
	assert_non_null(q);
	assert_true(n > 0);
	r = owed_queue_add_reversal(q, msg, (uint16_t)n, ISO_BITMAP_BINARY, 10 * MS);
	assert_non_null(r);
	assert_int_equal(owed_queue_count(q), 1);
	iso_parse(&m, r->msg, r->len, ISO_BITMAP_BINARY);
	assert_int_equal(m.status, ISO_PARSE_OK);
	assert_int_equal(m.mti, 400);
	/* 90 = original MTI, STAN, field 7, then zeros. */
	assert_int_equal(iso_field_len(&m, 90), 42);
	assert_memory_equal(iso_field_ptr(&m, 90), "01000000031125120001", 20);
	assert_memory_equal(iso_field_ptr(&m, 2), "4000000000079196", 16);
	assert_false(iso_has(&m, 14));  /* not carried */
	/* Its own identity differs from the original's (own STAN). */
	iso_parse(&m, msg, (uint16_t)n, ISO_BITMAP_BINARY);
	auth_key_from_msg(&m, &orig);
	assert_false(auth_key_equal(&orig, &r->key));
	assert_true(auth_key_equal(&orig, &r->orig));

	/* Not before its record is durable; then due now. */
	r->seq = 7;
	assert_null(owed_queue_due(q, 10 * MS, 6));
	assert_ptr_equal(owed_queue_due(q, 10 * MS, 7), r);
	owed_queue_sent(q, r, 10 * MS);
	assert_memory_equal(r->msg, "0401", 4);          /* repeats are 0401 */
	assert_null(owed_queue_due(q, 500 * MS, 7));     /* not before the interval */
	assert_ptr_equal(owed_queue_due(q, 1010 * MS, 7), r);

	/* Only its own identity settles it. */
	assert_false(owed_queue_ack(q, &orig, &got));
	assert_true(owed_queue_ack(q, &r->key, &got));
	assert_true(auth_key_equal(&got, &orig));
	assert_int_equal(owed_queue_count(q), 0);
	assert_null(owed_queue_due(q, 5000 * MS, 100));
	owed_queue_destroy(q);
}

static void
test_advice_restore_capacity(void **state)
{
	struct owed_queue *q = owed_queue_create(2, 1000 * MS);
	uint8_t msg[512];
	int n = original(msg, sizeof(msg), 120, "000004");
	struct owed_msg *a, *b;
	struct auth_key got;

	(void)state;
	a = owed_queue_add(q, msg, (uint16_t)n, ISO_BITMAP_BINARY, 0);
	assert_non_null(a);
	assert_memory_equal(a->msg, "0120", 4);          /* first send as built */
	assert_int_equal(a->sends, 0);
	b = owed_queue_restore(q, msg, (uint16_t)n, ISO_BITMAP_BINARY, 0);
	assert_non_null(b);
	assert_memory_equal(b->msg, "0121", 4);          /* from the journal: a repeat */
	/* Full. */
	assert_null(owed_queue_add(q, msg, (uint16_t)n, ISO_BITMAP_BINARY, 0));
	assert_null(owed_queue_add_reversal(q, msg, (uint16_t)n, ISO_BITMAP_BINARY, 0));
	/* A message without its identity fields is refused. */
	assert_true(owed_queue_ack(q, &a->key, &got));
	assert_null(owed_queue_add(q, (const uint8_t *)"0800", 4, ISO_BITMAP_BINARY, 0));
	owed_queue_destroy(q);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reversal),
		cmocka_unit_test(test_advice_restore_capacity),
	};

	return cmocka_run_group_tests_name("owed_queue", tests, NULL, NULL);
}
