/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_malloc.h>

#include "csv_row.h"
#include "merchant_table.h"

static bool
digits(const char *s, size_t n)
{
	return strlen(s) == n && strspn(s, "0123456789") == n;
}

static bool
to_u64(const char *s, uint64_t *out)
{
	char *end;

	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);

	if (errno || end == s || *end || s[0] == '-')
		return false;
	*out = v;
	return true;
}

static int
fail(char *err, size_t err_len, const char *path, unsigned int line,
     const char *why, FILE *f)
{
	snprintf(err, err_len, "%s:%u: %s", path, line, why);
	if (f)
		fclose(f);
	return -1;
}

int
merchant_table_load(struct merchant_table *t, const char *path, char *err,
		    size_t err_len)
{
	static unsigned int instance;
	char name[RTE_HASH_NAMESIZE], line[512];
	FILE *f = fopen(path, "r");
	unsigned int lineno = 0;
	bool header = false;

	memset(t, 0, sizeof(*t));
	if (f == NULL) {
		snprintf(err, err_len, "%s: %s", path, strerror(errno));
		return -1;
	}
	snprintf(name, sizeof(name), "merchants_%u", instance++);
	struct rte_hash_parameters hp = {
		.name = name,
		.entries = MERCHANTS_MAX,
		.key_len = MERCHANT_ID_LEN,
		.hash_func = rte_hash_crc,
		.socket_id = SOCKET_ID_ANY,
	};

	t->by_id = rte_hash_create(&hp);
	t->merchants = rte_zmalloc("merchants", sizeof(struct merchant) * MERCHANTS_MAX, 0);
	if (t->by_id == NULL || t->merchants == NULL)
		return fail(err, err_len, path, 0, "out of memory for the merchant table", f);

	while (fgets(line, sizeof(line), f)) {
		char *fld[9];
		int n = csv_row_split(line, fld, 9);
		uint64_t v;

		lineno++;
		if (n == 0)
			continue;
		if (!header) {
			header = true;
			continue;
		}
		if (n != 9)
			return fail(err, err_len, path, lineno,
				    "expected 9 fields: merchant_id,name,mcc,country,currency,rate_tps,burst,max_amount,bank_route", f);
		if (t->n == MERCHANTS_MAX)
			return fail(err, err_len, path, lineno, "more than MERCHANTS_MAX merchants", f);

		struct merchant *m = &t->merchants[t->n];
		size_t idlen = strlen(fld[0]);

		if (idlen == 0 || idlen > MERCHANT_ID_LEN)
			return fail(err, err_len, path, lineno, "merchant_id must be 1..15 characters", f);
		memset(m->id, ' ', MERCHANT_ID_LEN);
		memcpy(m->id, fld[0], idlen);
		snprintf(m->name, sizeof(m->name), "%s", fld[1]);
		if (!digits(fld[2], 4) || !to_u64(fld[2], &v))
			return fail(err, err_len, path, lineno, "mcc must be 4 digits", f);
		m->mcc = (uint16_t)v;
		if (strlen(fld[3]) != 2)
			return fail(err, err_len, path, lineno, "country must be 2 letters", f);
		memcpy(m->country, fld[3], 2);
		if (!digits(fld[4], 3))
			return fail(err, err_len, path, lineno, "currency must be 3 digits (ISO 4217 numeric)", f);
		memcpy(m->currency, fld[4], 3);
		if (!to_u64(fld[5], &v) || v == 0 || v > 10000000)
			return fail(err, err_len, path, lineno, "rate_tps must be 1..10000000", f);
		m->rate_tps = (uint32_t)v;
		if (!to_u64(fld[6], &v) || v == 0 || v > 10000000)
			return fail(err, err_len, path, lineno, "burst must be 1..10000000", f);
		m->burst = (uint32_t)v;
		if (!to_u64(fld[7], &m->max_amount) || m->max_amount == 0 ||
		    m->max_amount > 999999999999ull)
			return fail(err, err_len, path, lineno, "max_amount must be 1..999999999999 (minor units)", f);
		snprintf(m->bank_route, sizeof(m->bank_route), "%s", fld[8]);
		if (rte_hash_lookup(t->by_id, m->id) >= 0)
			return fail(err, err_len, path, lineno, "duplicate merchant_id", f);
		if (rte_hash_add_key_data(t->by_id, m->id, (void *)(uintptr_t)t->n) != 0)
			return fail(err, err_len, path, lineno, "cannot add to the merchant hash", f);
		t->n++;
	}
	fclose(f);
	if (t->n == 0)
		return fail(err, err_len, path, lineno, "no merchants", NULL);
	return 0;
}

void
merchant_table_free(struct merchant_table *t)
{
	rte_hash_free(t->by_id);
	rte_free(t->merchants);
	memset(t, 0, sizeof(*t));
}

int32_t
merchant_lookup(const struct merchant_table *t, const uint8_t *id42)
{
	void *data;

	if (rte_hash_lookup_data(t->by_id, id42, &data) < 0)
		return -1;
	return (int32_t)(uintptr_t)data;
}
