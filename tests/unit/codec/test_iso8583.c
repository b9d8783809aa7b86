/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Codec tests: conformance against the shared ISO 8583 corpus (decoded by
 * an independent implementation, see shared/corpus/iso8583/README.md),
 * round trips in both bitmap encodings, and hostile input.
 *
 * The corpus directory comes from the environment (PAYGATE_CORPUS), set by
 * meson; it is read in place and never copied into the project.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "iso8583.h"

/* ---- a JSON reader just big enough for expected.json ------------------ */

struct corpus_entry {
	char file[128];
	char mti[5];
	char *field[ISO_FIELD_MAX + 1]; /* NULL when absent */
};

static struct corpus_entry corpus[32];
static int corpus_n;

static const char *
json_ws(const char *p)
{
	while (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')
		p++;
	return p;
}

/* Reads a JSON string without escapes beyond \" and \\ (none in corpus). */
static const char *
json_string(const char *p, char *out, size_t cap)
{
	size_t n = 0;

	p = json_ws(p);
	assert_int_equal(*p, '"');
	p++;
	while (*p && *p != '"') {
		if (*p == '\\')
			p++;
		assert_true(n + 1 < cap);
		out[n++] = *p++;
	}
	assert_int_equal(*p, '"');
	out[n] = 0;
	return p + 1;
}

static const char *
json_expect(const char *p, char c)
{
	p = json_ws(p);
	assert_int_equal(*p, c);
	return p + 1;
}

static char *
read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = 0;
	fclose(f);
	if (len)
		*len = (size_t)n;
	return buf;
}

static const char *
corpus_dir(void)
{
	const char *d = getenv("PAYGATE_CORPUS");

	return d ? d : "../shared/corpus/iso8583";
}

static void
corpus_path(char *out, size_t cap, const char *file)
{
	int n = snprintf(out, cap, "%s/%s", corpus_dir(), file);

	assert_true(n > 0 && (size_t)n < cap);
}

static void
corpus_load(void)
{
	char path[512], key[128], val[1024];
	const char *p;
	char *json;

	corpus_path(path, sizeof(path), "expected.json");
	json = read_file(path, NULL);
	if (json == NULL)
		fail_msg("corpus not found at %s (set PAYGATE_CORPUS)", path);
	p = json_expect(json, '{');
	for (;;) {
		struct corpus_entry *e = &corpus[corpus_n++];

		assert_true(corpus_n <= (int)(sizeof(corpus) / sizeof(corpus[0])));
		memset(e, 0, sizeof(*e));
		p = json_string(p, e->file, sizeof(e->file));
		p = json_expect(p, ':');
		p = json_expect(p, '{');
		for (;;) {
			p = json_string(p, key, sizeof(key));
			p = json_expect(p, ':');
			if (strcmp(key, "mti") == 0) {
				p = json_string(p, e->mti, sizeof(e->mti));
			} else {
				assert_string_equal(key, "fields");
				p = json_expect(p, '{');
				for (;;) {
					p = json_string(p, key, sizeof(key));
					p = json_expect(p, ':');
					p = json_string(p, val, sizeof(val));
					int n = atoi(key);

					assert_true(n >= 2 && n <= ISO_FIELD_MAX);
					e->field[n] = strdup(val);
					p = json_ws(p);
					if (*p == ',') {
						p++;
						continue;
					}
					p = json_expect(p, '}');
					break;
				}
			}
			p = json_ws(p);
			if (*p == ',') {
				p++;
				continue;
			}
			p = json_expect(p, '}');
			break;
		}
		p = json_ws(p);
		if (*p == ',') {
			p++;
			continue;
		}
		break;
	}
	free(json);
}

static int
setup_corpus(void **state)
{
	(void)state;
	if (corpus_n == 0)
		corpus_load();
	return 0;
}

static void
assert_fields_match(const struct iso_msg *m, const struct corpus_entry *e)
{
	for (unsigned int n = 2; n <= ISO_FIELD_MAX; n++) {
		if (e->field[n] == NULL) {
			if (iso_has(m, n))
				fail_msg("%s: field %u present, not expected",
					 e->file, n);
			continue;
		}
		if (!iso_has(m, n))
			fail_msg("%s: field %u missing", e->file, n);
		size_t len = strlen(e->field[n]);

		if (iso_field_len(m, n) != len ||
		    memcmp(iso_field_ptr(m, n), e->field[n], len) != 0)
			fail_msg("%s: field %u is '%.*s', expected '%s'", e->file,
				 n, iso_field_len(m, n),
				 (const char *)iso_field_ptr(m, n), e->field[n]);
	}
}

/* Every corpus message decodes, with every field as expected.json says. */
static void
test_corpus_conformance(void **state)
{
	char path[512];

	(void)state;
	assert_true(corpus_n >= 12);
	for (int i = 0; i < corpus_n; i++) {
		const struct corpus_entry *e = &corpus[i];
		struct iso_msg m;
		size_t len;
		char *buf;

		corpus_path(path, sizeof(path), e->file);
		buf = read_file(path, &len);
		assert_non_null(buf);
		/* Files end without a newline; tolerate one anyway. */
		while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
			len--;
		if (iso_parse(&m, (const uint8_t *)buf, len, ISO_BITMAP_HEX) !=
		    ISO_PARSE_OK)
			fail_msg("%s: status %d at field %d", e->file, m.status,
				 m.fail_field);
		assert_int_equal(m.mti, atoi(e->mti));
		assert_fields_match(&m, e);
		free(buf);
	}
}

/* Rebuild every corpus message in both encodings; parse it back; same
 * fields. Hex-built bytes must equal the original file byte for byte. */
static void
test_corpus_round_trip(void **state)
{
	char path[512];
	uint8_t out[ISO_MSG_MAX];

	(void)state;
	for (int i = 0; i < corpus_n; i++) {
		const struct corpus_entry *e = &corpus[i];
		struct iso_msg m, back;
		size_t len;
		char *buf;

		corpus_path(path, sizeof(path), e->file);
		buf = read_file(path, &len);
		assert_non_null(buf);
		assert_int_equal(iso_parse(&m, (const uint8_t *)buf, len,
					   ISO_BITMAP_HEX), ISO_PARSE_OK);
		for (int enc = ISO_BITMAP_BINARY; enc <= ISO_BITMAP_HEX; enc++) {
			struct iso_builder b;

			iso_build_begin(&b, out, sizeof(out), enc, m.mti,
					m.declared[0] & 1);
			for (unsigned int n = 2; n <= ISO_FIELD_MAX; n++)
				iso_build_copy(&b, &m, n);
			int olen = iso_build_end(&b);

			assert_true(olen > 0);
			assert_int_equal(iso_parse(&back, out, (size_t)olen, enc),
					 ISO_PARSE_OK);
			assert_int_equal(back.mti, m.mti);
			assert_fields_match(&back, e);
			if (enc == ISO_BITMAP_HEX) {
				assert_int_equal((size_t)olen, len);
				assert_memory_equal(out, buf, len);
			} else {
				/* Binary bitmaps are 8 bytes instead of 16. */
				size_t bms = (m.declared[0] & 1) ? 2 : 1;

				assert_int_equal((size_t)olen, len - 8 * bms);
			}
		}
		free(buf);
	}
}

/* A prefix of a message never parses OK and never yields a view outside
 * the prefix; the fields before the cut stay usable. */
static void
test_every_truncation(void **state)
{
	char path[512];

	(void)state;
	for (int i = 0; i < corpus_n; i++) {
		size_t len;
		char *buf;

		corpus_path(path, sizeof(path), corpus[i].file);
		buf = read_file(path, &len);
		assert_non_null(buf);
		for (size_t cut = 0; cut < len; cut++) {
			/* A heap copy of exactly `cut` bytes so that ASan
			 * would see any read past it. */
			uint8_t *p = malloc(cut ? cut : 1);
			struct iso_msg m;

			memcpy(p, buf, cut);
			assert_int_not_equal(iso_parse(&m, p, cut, ISO_BITMAP_HEX),
					     ISO_PARSE_OK);
			for (unsigned int n = 2; n <= ISO_FIELD_MAX; n++)
				if (iso_has(&m, n))
					assert_true(m.field[n].off +
						    m.field[n].len <= cut);
			free(p);
		}
		free(buf);
	}
}

static int
build_simple(uint8_t *out, size_t cap, enum iso_bitmap_enc enc, bool sec)
{
	struct iso_builder b;

	iso_build_begin(&b, out, cap, enc, 200, sec);
	iso_build_field(&b, 2, "4000000000000002", 16);
	iso_build_field(&b, 3, "000000", 6);
	iso_build_field(&b, 4, "000000001234", 12);
	iso_build_field(&b, 7, "1125120000", 10);
	iso_build_field(&b, 11, "000042", 6);
	iso_build_field(&b, 14, "2812", 4);
	iso_build_field(&b, 41, "T0000001", 8);
	iso_build_field(&b, 42, "M00000000000001", 15);
	iso_build_field(&b, 49, "826", 3);
	return iso_build_end(&b);
}

static void
test_round_trip_both_encodings(void **state)
{
	uint8_t out[256];

	(void)state;
	for (int enc = ISO_BITMAP_BINARY; enc <= ISO_BITMAP_HEX; enc++) {
		for (int sec = 0; sec <= 1; sec++) {
			struct iso_msg m;
			int len = build_simple(out, sizeof(out), enc, sec);
			uint64_t amount;

			assert_true(len > 0);
			assert_int_equal(iso_parse(&m, out, (size_t)len, enc),
					 ISO_PARSE_OK);
			assert_int_equal(m.mti, 200);
			assert_true(iso_has(&m, 2));
			assert_int_equal(iso_field_len(&m, 2), 16);
			assert_memory_equal(iso_field_ptr(&m, 2), "4000000000000002", 16);
			assert_true(iso_field_u64(&m, 4, &amount));
			assert_int_equal(amount, 1234);
			assert_true(iso_has(&m, 49));
			assert_false(iso_has(&m, 39));
			/* An all-zero secondary bitmap is accepted. */
			assert_int_equal(m.declared[1], 0);
			assert_int_equal(m.declared[0] & 1, (uint64_t)sec);
		}
	}
}

static void
test_hostile_inputs(void **state)
{
	uint8_t out[256];
	struct iso_msg m;
	int len;

	(void)state;
	assert_int_equal(iso_parse(&m, (const uint8_t *)"", 0, ISO_BITMAP_BINARY),
			 ISO_PARSE_NO_MTI);
	assert_int_equal(iso_parse(&m, (const uint8_t *)"02X0", 4, ISO_BITMAP_BINARY),
			 ISO_PARSE_NO_MTI);
	assert_int_equal(iso_parse(&m, (const uint8_t *)"0200ABC", 7, ISO_BITMAP_BINARY),
			 ISO_PARSE_BITMAP);
	assert_int_equal(iso_parse(&m, (const uint8_t *)"0200G000000000000000", 20,
				   ISO_BITMAP_HEX), ISO_PARSE_BITMAP);
	/* Secondary announced but absent. */
	assert_int_equal(iso_parse(&m, (const uint8_t *)"08008000000000000000", 20,
				   ISO_BITMAP_HEX), ISO_PARSE_BITMAP);
	/* Tertiary bitmap announced (bit 65). */
	assert_int_equal(iso_parse(&m, (const uint8_t *)"080080000000000000008000000000000000",
				   36, ISO_BITMAP_HEX), ISO_PARSE_TERTIARY);

	len = build_simple(out, sizeof(out), ISO_BITMAP_HEX, false);
	assert_true(len > 0);
	/* LLVAR of field 2 over its maximum of 19. */
	out[20] = '9';
	out[21] = '9';
	assert_int_equal(iso_parse(&m, out, (size_t)len, ISO_BITMAP_HEX),
			 ISO_PARSE_FIELD_LEN);
	assert_int_equal(m.fail_field, 2);
	/* Non-digit length prefix. */
	out[20] = 'x';
	assert_int_equal(iso_parse(&m, out, (size_t)len, ISO_BITMAP_HEX),
			 ISO_PARSE_FIELD_LEN);
	out[20] = '1';
	out[21] = '6';
	assert_int_equal(iso_parse(&m, out, (size_t)len, ISO_BITMAP_HEX), ISO_PARSE_OK);
	/* Trailing garbage. */
	out[len] = 'Z';
	assert_int_equal(iso_parse(&m, out, (size_t)len + 1, ISO_BITMAP_HEX),
			 ISO_PARSE_TRAILING);
	/* Truncated in field 42: 11 and what precedes it remain usable. */
	assert_int_equal(iso_parse(&m, out, (size_t)len - 10, ISO_BITMAP_HEX),
			 ISO_PARSE_FIELD_TRUNC);
	assert_int_equal(m.fail_field, 42);
	assert_true(iso_has(&m, 11));
	assert_true(iso_has(&m, 41));
	assert_false(iso_has(&m, 42));
	assert_false(iso_has(&m, 49));
	/* Over the maximum message size. */
	assert_int_equal(iso_parse(&m, out, ISO_MSG_MAX + 1, ISO_BITMAP_HEX),
			 ISO_PARSE_NO_MTI);
}

static void
test_charsets_and_numbers(void **state)
{
	uint8_t out[256];
	struct iso_builder b;
	struct iso_msg m;
	uint64_t v;
	int len;

	(void)state;
	iso_build_begin(&b, out, sizeof(out), ISO_BITMAP_BINARY, 100, false);
	iso_build_field(&b, 4, "00000000012A", 12);   /* not numeric */
	iso_build_field(&b, 11, "000001", 6);
	iso_build_field(&b, 28, "D00000100", 9);      /* x+n */
	iso_build_field(&b, 35, "4000000000000002=2812", 21);
	iso_build_field(&b, 38, "AB12 z", 6);
	iso_build_field(&b, 43, "Caf\x01", 4);        /* wrong length: error */
	assert_int_equal(iso_build_end(&b), -1);

	iso_build_begin(&b, out, sizeof(out), ISO_BITMAP_BINARY, 100, false);
	iso_build_field(&b, 4, "00000000012A", 12);
	iso_build_field(&b, 11, "000001", 6);
	iso_build_field(&b, 28, "D00000100", 9);
	iso_build_field(&b, 35, "4000000000000002=2812", 21);
	iso_build_field(&b, 38, "AB12 z", 6);
	iso_build_field(&b, 48, "bad\x01", 4);
	len = iso_build_end(&b);
	assert_true(len > 0);
	assert_int_equal(iso_parse(&m, out, (size_t)len, ISO_BITMAP_BINARY),
			 ISO_PARSE_OK);
	assert_false(iso_field_valid(&m, 4));
	assert_false(iso_field_u64(&m, 4, &v));
	assert_true(iso_field_valid(&m, 11));
	assert_true(iso_field_u64(&m, 11, &v));
	assert_int_equal(v, 1);
	assert_true(iso_field_valid(&m, 28));
	assert_true(iso_field_valid(&m, 35));
	assert_true(iso_field_valid(&m, 38));
	assert_false(iso_field_valid(&m, 48));
	assert_false(iso_field_valid(&m, 2)); /* absent */
}

static void
test_builder_errors(void **state)
{
	uint8_t out[64];
	struct iso_builder b;

	(void)state;
	/* Out of order. */
	iso_build_begin(&b, out, sizeof(out), ISO_BITMAP_BINARY, 100, false);
	iso_build_field(&b, 11, "000001", 6);
	iso_build_field(&b, 7, "1125120000", 10);
	assert_int_equal(iso_build_end(&b), -1);
	/* Field > 64 without a secondary bitmap. */
	iso_build_begin(&b, out, sizeof(out), ISO_BITMAP_BINARY, 800, false);
	iso_build_field(&b, 70, "301", 3);
	assert_int_equal(iso_build_end(&b), -1);
	/* Overflow. */
	iso_build_begin(&b, out, 20, ISO_BITMAP_BINARY, 100, false);
	iso_build_field(&b, 42, "M00000000000001", 15);
	assert_int_equal(iso_build_end(&b), -1);
	/* LLVAR over maximum. */
	iso_build_begin(&b, out, sizeof(out), ISO_BITMAP_BINARY, 100, false);
	iso_build_field(&b, 2, "40000000000000000000", 20);
	assert_int_equal(iso_build_end(&b), -1);
}

static void
test_response_mti(void **state)
{
	(void)state;
	assert_int_equal(iso_response_mti(100), 110);
	assert_int_equal(iso_response_mti(200), 210);
	assert_int_equal(iso_response_mti(400), 410);
	assert_int_equal(iso_response_mti(401), 410);
	assert_int_equal(iso_response_mti(420), 430);
	assert_int_equal(iso_response_mti(800), 810);
	assert_true(iso_mti_is_request(100));
	assert_true(iso_mti_is_request(401));
	assert_false(iso_mti_is_request(110));
	assert_false(iso_mti_is_request(810));
}

static void
test_response_build(void **state)
{
	uint8_t req_buf[256], resp_buf[256];
	struct iso_msg req, resp;
	int len;

	(void)state;
	for (int enc = ISO_BITMAP_BINARY; enc <= ISO_BITMAP_HEX; enc++) {
		len = build_simple(req_buf, sizeof(req_buf), enc, false);
		assert_int_equal(iso_parse(&req, req_buf, (size_t)len, enc),
				 ISO_PARSE_OK);
		len = iso_response_build(resp_buf, sizeof(resp_buf), enc, &req,
					 "00", "A1B2C3");
		assert_true(len > 0);
		assert_int_equal(iso_parse(&resp, resp_buf, (size_t)len, enc),
				 ISO_PARSE_OK);
		assert_int_equal(resp.mti, 210);
		const unsigned int echoed[] = { 2, 3, 4, 7, 11, 41, 42, 49 };

		for (unsigned int i = 0; i < sizeof(echoed) / sizeof(echoed[0]); i++)
			assert_true(iso_field_equal(&req, &resp, echoed[i]));
		assert_false(iso_has(&resp, 14)); /* expiry is not echoed */
		assert_memory_equal(iso_field_ptr(&resp, 38), "A1B2C3", 6);
		assert_memory_equal(iso_field_ptr(&resp, 39), "00", 2);

		len = iso_response_build(resp_buf, sizeof(resp_buf), enc, &req,
					 "54", NULL);
		assert_int_equal(iso_parse(&resp, resp_buf, (size_t)len, enc),
				 ISO_PARSE_OK);
		assert_false(iso_has(&resp, 38));
		assert_memory_equal(iso_field_ptr(&resp, 39), "54", 2);
	}
}

/* 0800 echo answered with 70 echoed: needs the secondary bitmap. */
static void
test_response_network(void **state)
{
	uint8_t req_buf[128], resp_buf[128];
	struct iso_builder b;
	struct iso_msg req, resp;
	int len;

	(void)state;
	iso_build_begin(&b, req_buf, sizeof(req_buf), ISO_BITMAP_BINARY, 800, true);
	iso_build_field(&b, 7, "1125120000", 10);
	iso_build_field(&b, 11, "000007", 6);
	iso_build_field(&b, 70, "301", 3);
	len = iso_build_end(&b);
	assert_int_equal(iso_parse(&req, req_buf, (size_t)len, ISO_BITMAP_BINARY),
			 ISO_PARSE_OK);
	len = iso_response_build(resp_buf, sizeof(resp_buf), ISO_BITMAP_BINARY,
				 &req, "00", NULL);
	assert_int_equal(iso_parse(&resp, resp_buf, (size_t)len, ISO_BITMAP_BINARY),
			 ISO_PARSE_OK);
	assert_int_equal(resp.mti, 810);
	assert_true(iso_field_equal(&req, &resp, 70));
	assert_true(iso_field_equal(&req, &resp, 11));
}

/* Random bytes behind a valid MTI and bitmap: never a view out of bounds. */
static void
test_random_bodies(void **state)
{
	uint8_t buf[512];
	unsigned int seed = 12345;

	(void)state;
	for (int iter = 0; iter < 200000; iter++) {
		size_t len = (size_t)(rand_r(&seed) % sizeof(buf));
		struct iso_msg m;

		for (size_t i = 0; i < len; i++)
			buf[i] = (uint8_t)rand_r(&seed);
		if (len >= 4)
			memcpy(buf, "0200", 4);
		if (len >= 12 && (iter & 1)) /* plausible ASCII bodies */
			for (size_t i = 12; i < len; i++)
				buf[i] = (uint8_t)('0' + buf[i] % 10);
		iso_parse(&m, buf, len, (enum iso_bitmap_enc)(iter & 1 ? 0 : 1));
		for (unsigned int n = 2; n <= ISO_FIELD_MAX; n++)
			if (iso_has(&m, n))
				assert_true(m.field[n].off + m.field[n].len <= len);
	}
}

/* Field 7 as the gateway writes it: UTC, MMDDhhmmss. */
static void
test_transmission_time(void **state)
{
	char f7[10];

	(void)state;
	iso_transmission_time(f7, 1764072305);     /* 2025-11-25 12:05:05 UTC */
	assert_memory_equal(f7, "1125120505", 10);
	iso_transmission_time(f7, 1767225599);     /* 2025-12-31 23:59:59 UTC */
	assert_memory_equal(f7, "1231235959", 10);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_corpus_conformance, setup_corpus),
		cmocka_unit_test_setup(test_corpus_round_trip, setup_corpus),
		cmocka_unit_test_setup(test_every_truncation, setup_corpus),
		cmocka_unit_test(test_round_trip_both_encodings),
		cmocka_unit_test(test_hostile_inputs),
		cmocka_unit_test(test_charsets_and_numbers),
		cmocka_unit_test(test_builder_errors),
		cmocka_unit_test(test_response_mti),
		cmocka_unit_test(test_response_build),
		cmocka_unit_test(test_response_network),
		cmocka_unit_test(test_random_bodies),
		cmocka_unit_test(test_transmission_time),
	};

	return cmocka_run_group_tests_name("iso8583", tests, NULL, NULL);
}
