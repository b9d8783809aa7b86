/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * pktgen's pieces: the latency histogram's precision, the workload's
 * messages (they parse, carry what their category says, expect the right
 * code), mix and Zipf shares, and pcap files written and read back.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "iso8583.h"
#include "latency_hist.h"
#include "pcap_file.h"
#include "workload.h"

static const char *src_root;

static void
test_hist(void **state)
{
	static struct latency_hist h;

	(void)state;
	memset(&h, 0, sizeof(h));
	/* 1..100000 ns uniformly: quantile q is ~q * 100000 within 1/32. */
	for (uint64_t v = 1; v <= 100000; v++)
		hist_record(&h, v);
	assert_int_equal(h.count, 100000);
	assert_int_equal(h.max, 100000);
	assert_in_range(hist_quantile(&h, 0.5), 50000, 50000 * 33 / 32);
	assert_in_range(hist_quantile(&h, 0.99), 99000, 100000);
	assert_int_equal(hist_quantile(&h, 1.0), 100000);
	/* Small values are exact. */
	memset(&h, 0, sizeof(h));
	for (int i = 0; i < 10; i++)
		hist_record(&h, 7);
	assert_int_equal(hist_quantile(&h, 0.5), 7);
	/* Huge values do not overflow the table. */
	hist_record(&h, 1ull << 50);
	assert_int_equal(h.max, 1ull << 50);
}

static void
load(struct workload *w)
{
	char m[512], c[512], err[256];

	snprintf(m, sizeof(m), "%s/configs/merchants.csv", src_root);
	snprintf(c, sizeof(c), "%s/configs/cards.csv", src_root);
	assert_int_equal(workload_load(w, m, c, err, sizeof(err)), 0);
}

static void
test_messages(void **state)
{
	static struct workload w;
	struct wl_request r;
	struct iso_msg m;
	char err[256];

	(void)state;
	load(&w);
	for (int cat = 0; cat < CAT_MAX; cat++) {
		char mix[64];

		snprintf(mix, sizeof(mix), "%s=1", category_name[cat]);
		assert_int_equal(workload_set_mix(&w, mix, err, sizeof(err)), 0);
		for (int i = 0; i < 50; i++) {
			workload_next(&w, 3, (uint32_t)i + 1, &r);
			assert_int_equal(r.category, cat);
			assert_int_equal(iso_parse(&m, r.msg, r.len, ISO_BITMAP_BINARY), ISO_PARSE_OK);
			assert_memory_equal(iso_field_ptr(&m, 41), "T0000003", 8);
			if (cat == CAT_ECHO) {
				assert_int_equal(m.mti, 800);
				assert_memory_equal(iso_field_ptr(&m, 70), "301", 3);
				continue;
			}
			bool luhn = workload_luhn((const char *)iso_field_ptr(&m, 2),
						  iso_field_len(&m, 2));

			assert_true(cat == CAT_BAD_LUHN ? !luhn : luhn);
			uint64_t amount;

			assert_true(iso_field_u64(&m, 4, &amount));
			assert_int_equal(amount, r.amount);
			if (cat == CAT_OVER_LIMIT)
				assert_true(amount > 500000);
			if (cat == CAT_UNKNOWN_MERCHANT)
				assert_int_equal(iso_field_ptr(&m, 42)[0], 'U');
		}
		static const char *const expect[CAT_MAX] = { "00", "14", "54", "03", "51",
							     "41", "43", "05", "61", "00" };

		assert_memory_equal(r.rc, expect[cat], 2);
	}
	/* Malformed: answerable ones fail after field 11, the others before. */
	assert_int_equal(workload_set_mix(&w, "valid=1", err, sizeof(err)), 0);
	for (int i = 0; i < 100; i++) {
		workload_next(&w, 1, (uint32_t)i + 1, &r);
		workload_malform(&w, &r);
		iso_parse(&m, r.msg, r.len, ISO_BITMAP_BINARY);
		assert_int_not_equal(m.status, ISO_PARSE_OK);
		assert_int_equal(iso_has(&m, 11), r.rc[0] != 0);
	}
}

static void
test_shares(void **state)
{
	static struct workload w;
	struct wl_request r;
	char err[256];
	unsigned int by_cat[CAT_MAX] = { 0 }, top = 0;
	const int n = 100000;

	(void)state;
	load(&w);
	assert_int_equal(workload_set_mix(&w, "valid=70,bad_luhn=20,echo=10", err, sizeof(err)), 0);
	workload_set_zipf(&w, 1.1);
	for (int i = 0; i < n; i++) {
		workload_next(&w, 0, 1, &r);
		by_cat[r.category]++;
		if (r.category != CAT_ECHO) {
			struct iso_msg m;

			iso_parse(&m, r.msg, r.len, ISO_BITMAP_BINARY);
			top += memcmp(iso_field_ptr(&m, 42), "M00000000000001", 15) == 0;
		}
	}
	assert_in_range(by_cat[CAT_VALID], n * 68 / 100, n * 72 / 100);
	assert_in_range(by_cat[CAT_BAD_LUHN], n * 18 / 100, n * 22 / 100);
	assert_in_range(by_cat[CAT_ECHO], n * 9 / 100, n * 11 / 100);
	/* Zipf s = 1.1 over 16 merchants: the first takes 1/H(16, 1.1). */
	double h = 0;

	for (int k = 1; k <= 16; k++)
		h += 1.0 / pow(k, 1.1);
	double expect = (by_cat[CAT_VALID] + by_cat[CAT_BAD_LUHN]) / h;

	assert_in_range(top, (unsigned int)(expect * 0.9), (unsigned int)(expect * 1.1));
	assert_int_equal(workload_set_mix(&w, "nonsense=1", err, sizeof(err)), -1);
}

static void
test_pcap(void **state)
{
	char path[] = "/tmp/pg_pcap.XXXXXX";
	uint8_t frames[3][100], buf[200];
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	FILE *f = pcap_create(path);

	for (int i = 0; i < 3; i++) {
		memset(frames[i], 'a' + i, sizeof(frames[i]));
		assert_int_equal(pcap_write(f, frames[i], (uint32_t)(60 + i * 10), (uint64_t)i * 1000), 0);
	}
	fclose(f);
	f = pcap_open(path);
	assert_non_null(f);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(pcap_read(f, buf, sizeof(buf)), 60 + i * 10);
		assert_memory_equal(buf, frames[i], (size_t)(60 + i * 10));
	}
	assert_int_equal(pcap_read(f, buf, sizeof(buf)), 0);
	fclose(f);
	unlink(path);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hist),
		cmocka_unit_test(test_messages),
		cmocka_unit_test(test_shares),
		cmocka_unit_test(test_pcap),
	};

	src_root = argc > 1 ? argv[1] : ".";
	return cmocka_run_group_tests_name("pktgen", tests, NULL, NULL);
}
