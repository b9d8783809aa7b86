/* SPDX-License-Identifier: BSD-3-Clause */
#include <string.h>

#include <xxhash.h>

#include "validate.h"

bool
luhn_valid(const uint8_t *d, size_t len)
{
	/* Doubling table for every second digit from the right. */
	static const uint8_t dbl[10] = { 0, 2, 4, 6, 8, 1, 3, 5, 7, 9 };
	unsigned int sum = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned int v = (unsigned int)(d[len - 1 - i] - '0');

		if (v > 9)
			return false;
		sum += (i & 1) ? dbl[v] : v;
	}
	return len > 0 && sum % 10 == 0;
}

static inline unsigned int
two(const uint8_t *p)
{
	return (unsigned int)(p[0] - '0') * 10 + (unsigned int)(p[1] - '0');
}

bool
expiry_check(const uint8_t yymm[4], const uint8_t f7[4],
	     const struct gateway_clock *clk, bool *expired)
{
	unsigned int exp_year = 2000 + two(yymm), exp_month = two(yymm + 2);
	unsigned int txn_month = two(f7), year = clk->year, month = clk->month;

	if (exp_month < 1 || exp_month > 12 || txn_month < 1 || txn_month > 12)
		return false;
	/* Field 7 has no year: take ours, corrected across New Year. */
	if (txn_month == 12 && month == 1)
		year--;
	else if (txn_month == 1 && month == 12)
		year++;
	*expired = exp_year < year || (exp_year == year && exp_month < txn_month);
	return true;
}

uint64_t
request_fingerprint(const struct iso_msg *m)
{
	static const uint8_t fields[] = { 2, 3, 4, 49 };
	XXH64_hash_t h = m->mti;

	for (unsigned int i = 0; i < sizeof(fields); i++) {
		unsigned int n = fields[i];

		if (iso_has(m, n))
			h = XXH3_64bits_withSeed(iso_field_ptr(m, n),
						 iso_field_len(m, n), h + n);
	}
	return h;
}

static bool
has_all(const struct iso_msg *m, const uint8_t *fields, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!iso_has(m, fields[i]))
			return false;
	return true;
}

/* Every present field in its character class. */
static bool
fields_valid(const struct iso_msg *m)
{
	for (unsigned int w = 0; w < 2; w++) {
		uint64_t bits = m->present[w];

		while (bits) {
			unsigned int n = (unsigned int)__builtin_ctzll(bits) + 1 + 64 * w;

			bits &= bits - 1;
			if (!iso_field_valid(m, n))
				return false;
		}
	}
	return true;
}

void
validate_request(const struct iso_msg *m, bool len_mismatch,
		 const struct merchant_table *mt, const struct gateway_clock *clk,
		 struct validate_result *out)
{
	static const uint8_t need_auth[] = { 2, 3, 4, 7, 11, 14, 41, 42, 49 };
	static const uint8_t need_rev[] = { 2, 3, 4, 7, 11, 41, 42, 49, 90 };
	static const uint8_t need_net[] = { 7, 11, 70 };
	uint64_t amount;

	out->rc = NULL;
	out->merchant = -1;
	switch (m->mti) {
	case 100:
	case 200:
		out->kind = REQUEST_AUTH;
		break;
	case 400:
	case 401:
		out->kind = REQUEST_REVERSAL;
		break;
	case 800:
		out->kind = REQUEST_NETWORK;
		break;
	default:
		out->kind = REQUEST_OTHER;
		break;
	}
	if (m->status != ISO_PARSE_OK || len_mismatch || !fields_valid(m)) {
		out->rc = "30";
		return;
	}
	switch (out->kind) {
	case REQUEST_OTHER:
		out->rc = "12";
		return;
	case REQUEST_NETWORK:
		if (!has_all(m, need_net, sizeof(need_net))) {
			out->rc = "30";
			return;
		}
		/* 301 echo, 001 sign-on, 002 sign-off: all just need an ack. */
		const uint8_t *c = iso_field_ptr(m, 70);

		out->rc = (memcmp(c, "301", 3) == 0 || memcmp(c, "001", 3) == 0 ||
			   memcmp(c, "002", 3) == 0) ? "00" : "12";
		return;
	case REQUEST_REVERSAL:
		if (!has_all(m, need_rev, sizeof(need_rev)) ||
		    iso_field_len(m, 2) < 12) {
			out->rc = "30";
			return;
		}
		break;
	case REQUEST_AUTH:
		if (!has_all(m, need_auth, sizeof(need_auth)) ||
		    iso_field_len(m, 2) < 12) {
			out->rc = "30";
			return;
		}
		break;
	}

	out->merchant = merchant_lookup(mt, iso_field_ptr(m, 42));
	if (out->merchant < 0) {
		out->rc = "03";
		return;
	}
	if (out->kind == REQUEST_REVERSAL)
		return;

	const struct merchant *mer = &mt->merchants[out->merchant];
	bool expired = false;

	if (iso_field_ptr(m, 3)[0] != '0' || iso_field_ptr(m, 3)[1] != '0' ||
	    memcmp(iso_field_ptr(m, 49), mer->currency, 3) != 0) {
		out->rc = "12";
		return;
	}
	if (!expiry_check(iso_field_ptr(m, 14), iso_field_ptr(m, 7), clk, &expired)) {
		out->rc = "30";
		return;
	}
	if (!luhn_valid(iso_field_ptr(m, 2), iso_field_len(m, 2))) {
		out->rc = "14";
		return;
	}
	if (expired) {
		out->rc = "54";
		return;
	}
	iso_field_u64(m, 4, &amount); /* n12: already checked numeric */
	if (amount == 0) {
		out->rc = "13";
		return;
	}
	if (amount > mer->max_amount) {
		out->rc = "61";
		return;
	}
}
