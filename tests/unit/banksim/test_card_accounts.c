/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The simulated issuer: loading (errors name the line), every decision
 * code, debits, duplicate requests not debited twice, reversals credited
 * once, masking, the balances file; and the latency models' shapes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "card_accounts.h"
#include "latency_model.h"

static char path[] = "/tmp/pg_cards.XXXXXX";

static void
write_cards(const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static const char cards[] =
	"# cards\npan,balance,status,limit\n"
	"4000000000000002,10000,active,0\n"
	"4000000000000010,10000,active,500\n"
	"4000000000000028,10000,lost,0\n"
	"4000000000000036,10000,stolen,0\n"
	"4000000000000044,10000,blocked,0\n";

static void
key(uint8_t k[CARD_TXN_KEY_LEN], unsigned int stan)
{
	char s[CARD_TXN_KEY_LEN + 1];

	snprintf(s, sizeof(s), "T0000001%06u1125120000", stan);
	memcpy(k, s, CARD_TXN_KEY_LEN);
}

static const char *
auth(struct card_accounts *a, const char *pan, int64_t amount, unsigned int stan,
     struct card_result *r)
{
	static char rc[3];
	uint8_t k[CARD_TXN_KEY_LEN];

	key(k, stan);
	card_authorise(a, pan, strlen(pan), amount, k, r);
	memcpy(rc, r->rc, 2);
	return rc;
}

static void
test_decisions(void **state)
{
	struct card_accounts a;
	struct card_result r, r2;
	char err[256];
	uint8_t k[CARD_TXN_KEY_LEN];

	(void)state;
	assert_non_null(mkstemp(path) >= 0 ? path : NULL);
	write_cards(cards);
	assert_int_equal(card_accounts_load(&a, path, err, sizeof(err)), 0);
	assert_int_equal(a.n_cards, 5);
	assert_string_equal(auth(&a, "4000000000000002", 3000, 1, &r), "00");
	assert_true(r.has_auth_code);
	assert_int_equal(a.cards[0].balance, 7000);
	/* The same request again: same code, no second debit. */
	assert_string_equal(auth(&a, "4000000000000002", 3000, 1, &r2), "00");
	assert_memory_equal(r.auth_code, r2.auth_code, 6);
	assert_int_equal(a.cards[0].balance, 7000);
	assert_int_equal(a.duplicates, 1);
	assert_string_equal(auth(&a, "4000000000000002", 7001, 2, &r), "51");
	assert_int_equal(a.cards[0].balance, 7000);
	assert_string_equal(auth(&a, "4000000000000010", 501, 3, &r), "61");
	assert_string_equal(auth(&a, "4000000000000010", 500, 4, &r), "00");
	assert_string_equal(auth(&a, "4000000000000028", 1, 5, &r), "41");
	assert_string_equal(auth(&a, "4000000000000036", 1, 6, &r), "43");
	assert_string_equal(auth(&a, "4000000000000044", 1, 7, &r), "05");
	assert_string_equal(auth(&a, "4000000000000051", 1, 8, &r), "14");
	assert_false(r.has_auth_code);

	/* Reversal of STAN 1: credited once, repeat answered 00 again. */
	key(k, 1);
	card_reverse(&a, k, &r);
	assert_memory_equal(r.rc, "00", 2);
	assert_int_equal(a.cards[0].balance, 10000);
	card_reverse(&a, k, &r);
	assert_memory_equal(r.rc, "00", 2);
	assert_int_equal(a.cards[0].balance, 10000);
	assert_int_equal(a.cards[0].reversed_count, 1);
	key(k, 99);
	card_reverse(&a, k, &r);
	assert_memory_equal(r.rc, "25", 2);

	/* Balances file: masked PANs, per-card and total. */
	char out[4096] = { 0 };
	FILE *f = fmemopen(out, sizeof(out), "w");

	assert_int_equal(card_accounts_write(&a, f), 0);
	fclose(f);
	assert_non_null(strstr(out, "0,400000******0002,10000,1,3000,1,3000"));
	assert_non_null(strstr(out, "#total,approved_count=2,approved_amount=3500"));
	assert_null(strstr(out, "4000000000000002"));
	card_accounts_free(&a);
}

static void
test_load_errors(void **state)
{
	struct card_accounts a;
	char err[256];
	const char *bad[][2] = {
		{ "pan,balance,status,limit\n4000000000000002,10,active\n", ":2:" },
		{ "pan,balance,status,limit\n40000000002,10,active,0\n", "pan" },
		{ "pan,balance,status,limit\n4000000000000002,-1,active,0\n", "balance" },
		{ "pan,balance,status,limit\n4000000000000002,1,frozen,0\n", "status" },
		{ "pan,balance,status,limit\n4000000000000002,1,active,0\n4000000000000002,1,active,0\n", "duplicate" },
	};

	(void)state;
	for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		write_cards(bad[i][0]);
		assert_int_equal(card_accounts_load(&a, path, err, sizeof(err)), -1);
		if (strstr(err, bad[i][1]) == NULL)
			fail_msg("'%s' does not mention '%s'", err, bad[i][1]);
		card_accounts_free(&a);
	}
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void
test_latency_models(void **state)
{
	static uint64_t v[100000];
	struct latency_model m;
	char err[256];

	(void)state;
	assert_int_equal(latency_parse(&m, "fixed:250", 1, err, sizeof(err)), 0);
	assert_int_equal(latency_sample_ns(&m), 250000);
	assert_int_equal(latency_parse(&m, "uniform:100:200", 1, err, sizeof(err)), 0);
	for (int i = 0; i < 10000; i++) {
		uint64_t s = latency_sample_ns(&m);

		assert_in_range(s, 100000, 200000);
	}
	assert_int_equal(latency_parse(&m, "longtail:300:3000", 42, err, sizeof(err)), 0);
	for (int i = 0; i < 100000; i++)
		v[i] = latency_sample_ns(&m);
	qsort(v, 100000, sizeof(v[0]), cmp_u64);
	/* Median 300 us and p99 3 ms, within 15 %. */
	assert_in_range(v[50000], 255000, 345000);
	assert_in_range(v[99000], 2550000, 3450000);
	assert_int_equal(latency_parse(&m, "longtail:300:200", 1, err, sizeof(err)), -1);
	assert_int_equal(latency_parse(&m, "gaussian:1", 1, err, sizeof(err)), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decisions),
		cmocka_unit_test(test_load_errors),
		cmocka_unit_test(test_latency_models),
	};
	int rc = cmocka_run_group_tests_name("banksim", tests, NULL, NULL);

	unlink(path);
	return rc;
}
