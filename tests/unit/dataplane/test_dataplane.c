/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Data-plane decisions without a port: validation (every response code the
 * data plane gives), Luhn, expiry across New Year, the token bucket, the
 * idempotency table against a model, and loading config and merchants.
 * Needs EAL for rte_hash and rte_cfgfile: initialised without hugepages.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <rte_eal.h>

#include "config.h"
#include "idem_table.h"
#include "merchant_table.h"
#include "token_bucket.h"
#include "validate.h"

static char dir[] = "/tmp/pg_dp_test.XXXXXX";
static struct merchant_table mt;
static const struct gateway_clock nov2026 = { .year = 2026, .month = 11 };

static void
write_file(const char *name, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static const char merchants_csv[] =
	"# test merchants\n"
	"merchant_id,name,mcc,country,currency,rate_tps,burst,max_amount,bank_route\n"
	"M00000000000001,Cafe,5814,GB,826,100,10,50000,default\n"
	"SHORT,Shop,5999,DE,978,100,10,1000,default\n";

static int
setup(void **state)
{
	char err[256], path[256];

	(void)state;
	assert_non_null(mkdtemp(dir));
	write_file("merchants.csv", merchants_csv);
	snprintf(path, sizeof(path), "%s/merchants.csv", dir);
	assert_int_equal(merchant_table_load(&mt, path, err, sizeof(err)), 0);
	return 0;
}

/* A 0100 with every mandatory field; fields overridable by number. */
struct req_spec {
	uint16_t mti;
	const char *f[129];
};

static int
build(uint8_t *buf, size_t cap, const struct req_spec *s)
{
	static const char *const defaults[129] = {
		[2] = "4000000000000002", [3] = "000000", [4] = "000000001000",
		[7] = "1125120000", [11] = "000001", [14] = "2812",
		[41] = "T0000001", [42] = "M00000000000001", [49] = "826",
	};
	struct iso_builder b;

	iso_build_begin(&b, buf, cap, ISO_BITMAP_BINARY, s->mti ? s->mti : 100, false);
	for (unsigned int n = 2; n <= 64; n++) {
		const char *v = s->f[n] ? s->f[n] : defaults[n];

		if (v && strcmp(v, "-") != 0)
			iso_build_field(&b, n, v, strlen(v));
	}
	return iso_build_end(&b);
}

static const char *
decide(const struct req_spec *s)
{
	static char rc[3];
	uint8_t buf[512];
	struct iso_msg m;
	struct validate_result v;
	int len = build(buf, sizeof(buf), s);

	assert_true(len > 0);
	iso_parse(&m, buf, (size_t)len, ISO_BITMAP_BINARY);
	validate_request(&m, false, &mt, &nov2026, &v);
	if (v.rc == NULL)
		return "ok";
	memcpy(rc, v.rc, 2);
	rc[2] = 0;
	return rc;
}

static void
test_validate_codes(void **state)
{
	(void)state;
	assert_string_equal(decide(&(struct req_spec){ 0 }), "ok");
	assert_string_equal(decide(&(struct req_spec){ .mti = 200 }), "ok");
	/* 30: missing mandatory field, non-numeric amount, short PAN, bad month */
	assert_string_equal(decide(&(struct req_spec){ .f[14] = "-" }), "30");
	assert_string_equal(decide(&(struct req_spec){ .f[4] = "00000000100A" }), "30");
	assert_string_equal(decide(&(struct req_spec){ .f[2] = "40000000002" }), "30");
	assert_string_equal(decide(&(struct req_spec){ .f[14] = "2813" }), "30");
	/* 03: unknown merchant; also a known one with other padding */
	assert_string_equal(decide(&(struct req_spec){ .f[42] = "M00000000000009" }), "03");
	assert_string_equal(decide(&(struct req_spec){ .f[42] = "SHORT          ", .f[49] = "978" }), "ok");
	/* 12: processing code, currency, unsupported MTI */
	assert_string_equal(decide(&(struct req_spec){ .f[3] = "200000" }), "12");
	assert_string_equal(decide(&(struct req_spec){ .f[49] = "840" }), "12");
	assert_string_equal(decide(&(struct req_spec){ .mti = 300 }), "12");
	/* 14: Luhn */
	assert_string_equal(decide(&(struct req_spec){ .f[2] = "4000000000000003" }), "14");
	/* 54: expired last month; valid through the end of this month */
	assert_string_equal(decide(&(struct req_spec){ .f[14] = "2610" }), "54");
	assert_string_equal(decide(&(struct req_spec){ .f[14] = "2611" }), "ok");
	/* 13, 61: amount zero, over the merchant's maximum */
	assert_string_equal(decide(&(struct req_spec){ .f[4] = "000000000000" }), "13");
	assert_string_equal(decide(&(struct req_spec){ .f[4] = "000000050001" }), "61");
	assert_string_equal(decide(&(struct req_spec){ .f[4] = "000000050000" }), "ok");
	/* Reversal: needs 90; no card checks */
	assert_string_equal(decide(&(struct req_spec){ .mti = 400 }), "30");
}

static void
test_validate_network(void **state)
{
	uint8_t buf[128];
	struct iso_builder b;
	struct iso_msg m;
	struct validate_result v;
	const char *codes[][2] = { { "301", "00" }, { "001", "00" }, { "002", "00" }, { "161", "12" } };

	(void)state;
	for (unsigned int i = 0; i < 4; i++) {
		iso_build_begin(&b, buf, sizeof(buf), ISO_BITMAP_BINARY, 800, true);
		iso_build_field(&b, 7, "1125120000", 10);
		iso_build_field(&b, 11, "000001", 6);
		iso_build_field(&b, 70, codes[i][0], 3);
		int len = iso_build_end(&b);

		iso_parse(&m, buf, (size_t)len, ISO_BITMAP_BINARY);
		validate_request(&m, false, &mt, &nov2026, &v);
		assert_non_null(v.rc);
		assert_memory_equal(v.rc, codes[i][1], 2);
		assert_int_equal(v.kind, REQUEST_NETWORK);
	}
	/* A length-header mismatch makes any message a format error. */
	int len = build(buf, sizeof(buf), &(struct req_spec){ 0 });

	iso_parse(&m, buf, (size_t)len, ISO_BITMAP_BINARY);
	validate_request(&m, true, &mt, &nov2026, &v);
	assert_memory_equal(v.rc, "30", 2);
}

static void
test_luhn(void **state)
{
	(void)state;
	assert_true(luhn_valid((const uint8_t *)"4000000000000002", 16));
	assert_true(luhn_valid((const uint8_t *)"79927398713", 11));
	assert_false(luhn_valid((const uint8_t *)"79927398710", 11));
	assert_true(luhn_valid((const uint8_t *)"6011000000000000001", 19));
	assert_false(luhn_valid((const uint8_t *)"6011000000000000002", 19));
	assert_false(luhn_valid((const uint8_t *)"40000000000000A2", 16));
	assert_false(luhn_valid((const uint8_t *)"", 0));
}

static void
test_expiry_new_year(void **state)
{
	const struct gateway_clock jan = { .year = 2027, .month = 1 };
	const struct gateway_clock dec = { .year = 2026, .month = 12 };
	bool expired;

	(void)state;
	/* Clock says January 2027, transaction stamped 31 December: 2026. */
	assert_true(expiry_check((const uint8_t *)"2612", (const uint8_t *)"1231", &jan, &expired));
	assert_false(expired);
	/* Clock says December 2026, transaction stamped 1 January: 2027. */
	assert_true(expiry_check((const uint8_t *)"2612", (const uint8_t *)"0101", &dec, &expired));
	assert_true(expired);
	assert_true(expiry_check((const uint8_t *)"2701", (const uint8_t *)"0101", &dec, &expired));
	assert_false(expired);
	assert_false(expiry_check((const uint8_t *)"2600", (const uint8_t *)"0101", &dec, &expired));
	assert_false(expiry_check((const uint8_t *)"2601", (const uint8_t *)"1301", &dec, &expired));
}

static void
test_token_bucket(void **state)
{
	struct token_bucket tb;
	const uint64_t hz = 1000000; /* 1 tick = 1 us */
	uint64_t now = 5000000;
	int taken = 0;

	(void)state;
	token_bucket_init(&tb, hz, 100, 10, now); /* 100/s, burst 10 */
	assert_int_equal(token_bucket_level(&tb, now), 10);
	while (token_bucket_take(&tb, now))
		taken++;
	assert_int_equal(taken, 10);
	assert_int_equal(token_bucket_level(&tb, now), 0);
	/* 10 ms later: one token (interval 10 ms). */
	now += 10000;
	assert_true(token_bucket_take(&tb, now));
	assert_false(token_bucket_take(&tb, now));
	/* A second idle refills to the burst, not beyond. */
	now += 1000000;
	assert_int_equal(token_bucket_level(&tb, now), 10);
	taken = 0;
	while (token_bucket_take(&tb, now))
		taken++;
	assert_int_equal(taken, 10);
	/* Sustained: over 1 s at 1 request per ms, ~100 pass. */
	taken = 0;
	for (int i = 0; i < 1000; i++) {
		now += 1000;
		taken += token_bucket_take(&tb, now);
	}
	assert_in_range(taken, 99, 101);
}

static struct auth_key
key_of(unsigned int i)
{
	struct auth_key k;

	memset(&k, 0, sizeof(k));
	snprintf((char *)k.b, sizeof(k.b), "M%014uT%07u%06u1125120000", i % 7, i % 13, i);
	return k;
}

static void
test_idem_basic(void **state)
{
	const uint32_t entries = 64;
	void *mem = aligned_alloc(64, idem_table_mem_size(entries));
	struct idem_table t;
	struct idem_entry *e;
	struct auth_key k = key_of(1);
	uint64_t h = idem_hash(&k), now = 1000;

	(void)state;
	memset(mem, 0, idem_table_mem_size(entries));
	idem_table_init(&t, mem, entries, 500);
	assert_int_equal(idem_lookup(&t, &k, h, 42, now, &e), IDEM_MISS);
	e = idem_insert(&t, &k, h, 42, now);
	assert_int_equal(idem_lookup(&t, &k, h, 42, now, &e), IDEM_HIT_PENDING);
	assert_int_equal(idem_lookup(&t, &k, h, 43, now, &e), IDEM_CONFLICT);
	idem_complete(e, "00", "ABC123", now + 10, 500);
	assert_int_equal(idem_lookup(&t, &k, h, 42, now + 20, &e), IDEM_HIT_DONE);
	assert_memory_equal(e->rc, "00", 2);
	assert_memory_equal(e->auth_code, "ABC123", 6);
	/* TTL runs from the answer: alive at 509, gone at 510. */
	assert_int_equal(idem_lookup(&t, &k, h, 42, now + 509, &e), IDEM_HIT_DONE);
	assert_int_equal(idem_lookup(&t, &k, h, 42, now + 510, &e), IDEM_MISS);
	free(mem);
}

/* Against a model: every key the table still holds answers like the
 * model; misses only for evicted or expired keys; evictions counted. */
static void
test_idem_model(void **state)
{
	const uint32_t entries = 256, keys = 2000;
	void *mem = aligned_alloc(64, idem_table_mem_size(entries));
	struct idem_table t;
	struct { uint64_t fp; uint64_t expires; int state; } model[2000];
	unsigned int seed = 7;
	uint64_t now = 1, inserts = 0;

	(void)state;
	memset(mem, 0, idem_table_mem_size(entries));
	memset(model, 0, sizeof(model));
	idem_table_init(&t, mem, entries, 100000);
	for (int step = 0; step < 200000; step++) {
		unsigned int i = (unsigned int)rand_r(&seed) % keys;
		struct auth_key k = key_of(i);
		uint64_t h = idem_hash(&k), fp = i * 31 + 1;
		struct idem_entry *e;
		enum idem_verdict v = idem_lookup(&t, &k, h, fp, now, &e);

		now += 1 + (uint64_t)(rand_r(&seed) % 3);
		if (v == IDEM_MISS) {
			/* The model may remember it; the table may have evicted
			 * or expired it, never invented it. */
			e = idem_insert(&t, &k, h, fp, now);
			inserts++;
			model[i].fp = fp;
			model[i].state = 1;
			model[i].expires = now + 100000;
			if (rand_r(&seed) & 1) {
				idem_complete(e, "51", NULL, now, 100000);
				model[i].state = 2;
			}
		} else {
			assert_int_not_equal(v, IDEM_CONFLICT);
			assert_int_not_equal(model[i].state, 0);
			assert_true(model[i].expires > now - 3);
			assert_int_equal(v == IDEM_HIT_DONE ? 2 : 1, model[i].state);
			if (v == IDEM_HIT_DONE)
				assert_memory_equal(e->rc, "51", 2);
		}
	}
	/* More distinct keys than entries: evictions must have happened. */
	assert_true(t.evicted + t.evicted_pending > 0);
	assert_true(inserts > entries);
	free(mem);
}

static void
test_config(void **state)
{
	struct paygate_config cfg;
	char err[512], path[256];
	const char *good =
		"[gateway]\nmac = 02:00:00:00:00:01\nip = 198.18.0.1\nudp_port = 8583\n"
		"bitmap = hex\nmerchants = merchants.csv\nidle_sleep_us = 0\n"
		"[limits]\nidem_ttl_ms = 1000\nrequests_max = 1024\n"
		"mbufs = 2048\nring_size = 1024\n"
		"[bank]\nhost = 127.0.0.1\nport = 9000\nconnections = 2\nbitmap = binary\n"
		"timeout_ms = 100\ninflight_max = 512\nreversal_retry_ms = 500\n"
		"keepalive_ms = 2000\nbreaker_window_ms = 1000\nbreaker_min_requests = 20\nbreaker_failure_pct = 50\n"
		"breaker_consecutive = 5\nbreaker_open_ms = 1000\nbreaker_probes = 3\n"
		"[bank.mc]\nhost = 127.0.0.1\nport = 9001\nconnections = 1\n"
		"bins = 510000-559999, 222100-272099\n"
		"[standin]\nenabled = 1\nmax_amount = 100\ncard_limit = 200\nmerchant_limit = 300\n"
		"[journal]\ndir = j\nsegment_mb = 4\nbatch_us = 200\nbatch_kb = 64\n"
		"buffer_mb = 1\ncheckpoint_s = 5\ndeclines_per_s = 1000\n[control]\nidle_sleep_us = 10\n"
		"socket = ctl.sock\n[shards]\nslots = 1024\nidem_entries_per_slot = 64\n"
		"rebalance_ratio = 1.25\n";

	(void)state;
	write_file("good.ini", good);
	snprintf(path, sizeof(path), "%s/good.ini", dir);
	if (paygate_config_load(path, &cfg, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(cfg.enc, ISO_BITMAP_HEX);
	assert_int_equal(rte_be_to_cpu_16(cfg.local.port), 8583);
	assert_int_equal(cfg.control.banks[0].port, 9000);
	assert_int_equal(cfg.control.n_banks, 2);
	assert_string_equal(cfg.control.banks[1].name, "mc");
	assert_int_equal(bin_route(&cfg.control.routes, (const uint8_t *)"5100000000712719", 16), 1);
	assert_int_equal(bin_route(&cfg.control.routes, (const uint8_t *)"4000000000079196", 16), 0);
	assert_int_equal(cfg.slots, 1024);
	assert_int_equal(cfg.idem_entries_per_slot, 64);
	assert_true(cfg.rebalance_ratio > 1.24 && cfg.rebalance_ratio < 1.26);
	assert_non_null(strstr(cfg.ctl_socket, "/ctl.sock"));
	assert_int_equal(cfg.journal.batch_us, 200);
	assert_int_equal(cfg.journal_declines_per_s, 1000);
	assert_int_equal(cfg.journal.batch_bytes, 64 * 1024);
	assert_int_equal(cfg.control.reversal_retry_ms, 500);
	assert_int_equal(cfg.control.standin.enabled, 1);
	assert_int_equal(cfg.control.standin.merchant_limit, 300);
	/* merchants is relative to the ini's directory */
	assert_non_null(strstr(cfg.merchants_path, dir));

	/* Each broken variant names its key. */
	const char *cases[][3] = {
		{ "udp_port = 8583\n", "", "udp_port" },
		{ "slots = 1024\n", "slots = 1000\n", "slots" },
		{ "bins = 510000-559999, 222100-272099\n", "bins = 510000-5599\n", "bins" },
		{ "bins = 510000-559999, 222100-272099\n", "bins = 510000-559999, 520000\n", "overlaps" },
		{ "batch_kb = 64\n", "batch_kb = 1024\n", "buffer_mb" },
		{ "rebalance_ratio = 1.25\n", "rebalance_ratio = 0.5\n", "rebalance_ratio" },
		{ "bitmap = hex\n", "bitmap = ebcdic\n", "bitmap" },
		{ "ip = 198.18.0.1\n", "ip = 198.18.0\n", "ip" },
		{ "timeout_ms = 100\n", "timeout_ms = 0\n", "timeout_ms" },
	};
	for (unsigned int i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char text[2048], *p;

		snprintf(text, sizeof(text), "%s", good);
		p = strstr(text, cases[i][0]);
		assert_non_null(p);
		memmove(p + strlen(cases[i][1]), p + strlen(cases[i][0]),
			strlen(p + strlen(cases[i][0])) + 1);
		memcpy(p, cases[i][1], strlen(cases[i][1]));
		write_file("bad.ini", text);
		snprintf(path, sizeof(path), "%s/bad.ini", dir);
		assert_int_equal(paygate_config_load(path, &cfg, err, sizeof(err)), -1);
		if (strstr(err, cases[i][2]) == NULL)
			fail_msg("error '%s' does not name %s", err, cases[i][2]);
	}
}

/* The shipped samples are what operators copy: they must load as they are. */
static void
test_shipped_samples(void **state)
{
	const char *src = getenv("PAYGATE_SRC");
	struct paygate_config cfg;
	struct merchant_table t;
	char err[512], path[PATH_MAX];

	(void)state;
	assert_non_null(src);
	snprintf(path, sizeof(path), "%s/configs/paygate.ini", src);
	if (paygate_config_load(path, &cfg, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(cfg.control.banks[0].port, 8584);
	assert_int_equal(merchant_table_load(&t, cfg.merchants_path, err, sizeof(err)), 0);
	assert_int_equal(t.n, 16);
	merchant_table_free(&t);
}

static void
test_merchants_csv(void **state)
{
	struct merchant_table t;
	char err[512], path[256];
	const char *bad[][2] = {
		{ "h\nM1,A,5814,GB,826,100,10\n", ":2:" },              /* fields */
		{ "h\nM1,A,58X4,GB,826,100,10,5,d\n", "mcc" },
		{ "h\nM1,A,5814,GB,82,100,10,5,d\n", "currency" },
		{ "h\nM1,A,5814,GB,826,0,10,5,d\n", "rate_tps" },
		{ "h\nM1,A,5814,GB,826,1,10,5,d\nM1,B,5814,GB,826,1,10,5,d\n", "duplicate" },
		{ "h\nM1234567890123456,A,5814,GB,826,1,10,5,d\n", "merchant_id" },
	};

	(void)state;
	snprintf(path, sizeof(path), "%s/m.csv", dir);
	for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		write_file("m.csv", bad[i][0]);
		assert_int_equal(merchant_table_load(&t, path, err, sizeof(err)), -1);
		if (strstr(err, bad[i][1]) == NULL)
			fail_msg("error '%s' does not mention '%s'", err, bad[i][1]);
		merchant_table_free(&t);
	}
	assert_int_equal(mt.n, 2);
	assert_int_equal(merchant_lookup(&mt, (const uint8_t *)"SHORT          "), 1);
	assert_int_equal(merchant_lookup(&mt, (const uint8_t *)"SHORT__________"), -1);
	assert_memory_equal(mt.merchants[1].currency, "978", 3);
	assert_int_equal(mt.merchants[0].max_amount, 50000);
}

int
main(void)
{
	char prefix[64];

	snprintf(prefix, sizeof(prefix), "--file-prefix=dptest%d", getpid());
	char *eal[] = { "test", "--no-huge", "-m", "64", "--no-pci", prefix,
			"--log-level=*:error", "--no-telemetry" };

	if (rte_eal_init(8, eal) < 0) {
		fprintf(stderr, "EAL init failed\n");
		return 1;
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_validate_codes),
		cmocka_unit_test(test_validate_network),
		cmocka_unit_test(test_luhn),
		cmocka_unit_test(test_expiry_new_year),
		cmocka_unit_test(test_token_bucket),
		cmocka_unit_test(test_idem_basic),
		cmocka_unit_test(test_idem_model),
		cmocka_unit_test(test_config),
		cmocka_unit_test(test_merchants_csv),
		cmocka_unit_test(test_shipped_samples),
	};
	int rc = cmocka_run_group_tests_name("dataplane", tests, setup, NULL);

	rte_eal_cleanup();
	return rc;
}
