/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The simulated issuer's accounts and decisions. See card_accounts.h.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "card_accounts.h"
#include "csv_row.h"

static uint64_t
hash_bytes(const void *p, size_t len)
{
	return XXH3_64bits(p, len);
}

int32_t
card_find(const struct card_accounts *a, const char *pan, size_t len)
{
	uint32_t mask = a->pan_slots - 1;
	uint32_t i = (uint32_t)hash_bytes(pan, len) & mask;

	for (uint32_t probes = 0; probes < a->pan_slots; probes++, i = (i + 1) & mask) {
		uint32_t v = a->by_pan[i];

		if (v == 0)
			return -1;
		const struct card *c = &a->cards[v - 1];

		if (strlen(c->pan) == len && memcmp(c->pan, pan, len) == 0)
			return (int32_t)(v - 1);
	}
	return -1;
}

static int
fail(char *err, size_t err_len, const char *path, unsigned int line,
     const char *why)
{
	snprintf(err, err_len, "%s:%u: %s", path, line, why);
	return -1;
}

static bool
parse_i64(const char *s, int64_t *out)
{
	char *end;

	errno = 0;
	long long v = strtoll(s, &end, 10);

	if (errno || end == s || *end != 0 || v < 0)
		return false;
	*out = v;
	return true;
}

int
card_accounts_load(struct card_accounts *a, const char *path, char *err,
		   size_t err_len)
{
	FILE *f = fopen(path, "r");
	char line[512];
	unsigned int lineno = 0, cap = 64;
	bool header = false;

	memset(a, 0, sizeof(*a));
	if (f == NULL) {
		snprintf(err, err_len, "%s: %s", path, strerror(errno));
		return -1;
	}
	a->cards = calloc(cap, sizeof(*a->cards));
	while (fgets(line, sizeof(line), f)) {
		char *fields[4];
		int n = csv_row_split(line, fields, 4);

		lineno++;
		if (n == 0)
			continue;
		if (!header) { /* pan,balance,status,limit */
			header = true;
			continue;
		}
		if (n != 4) {
			fclose(f);
			return fail(err, err_len, path, lineno, "expected 4 fields: pan,balance,status,limit");
		}
		size_t plen = strlen(fields[0]);

		if (plen < 12 || plen > CARD_PAN_MAX ||
		    strspn(fields[0], "0123456789") != plen) {
			fclose(f);
			return fail(err, err_len, path, lineno, "pan must be 12..19 digits");
		}
		if (a->n_cards == cap) {
			cap *= 2;
			a->cards = realloc(a->cards, cap * sizeof(*a->cards));
		}
		struct card *c = &a->cards[a->n_cards];

		memset(c, 0, sizeof(*c));
		memcpy(c->pan, fields[0], plen + 1);
		if (!parse_i64(fields[1], &c->balance) ||
		    !parse_i64(fields[3], &c->limit)) {
			fclose(f);
			return fail(err, err_len, path, lineno, "balance and limit must be integers >= 0 (minor units)");
		}
		if (strcmp(fields[2], "active") == 0)
			c->status = CARD_ACTIVE;
		else if (strcmp(fields[2], "lost") == 0)
			c->status = CARD_LOST;
		else if (strcmp(fields[2], "stolen") == 0)
			c->status = CARD_STOLEN;
		else if (strcmp(fields[2], "blocked") == 0)
			c->status = CARD_BLOCKED;
		else {
			fclose(f);
			return fail(err, err_len, path, lineno, "status must be active, lost, stolen or blocked");
		}
		a->n_cards++;
	}
	fclose(f);

	a->pan_slots = 64;
	while (a->pan_slots < a->n_cards * 2)
		a->pan_slots <<= 1;
	a->by_pan = calloc(a->pan_slots, sizeof(*a->by_pan));
	for (uint32_t i = 0; i < a->n_cards; i++) {
		const char *pan = a->cards[i].pan;
		size_t len = strlen(pan);

		if (card_find(a, pan, len) >= 0)
			return fail(err, err_len, path, 0, "duplicate pan");
		uint32_t j = (uint32_t)hash_bytes(pan, len) & (a->pan_slots - 1);

		while (a->by_pan[j])
			j = (j + 1) & (a->pan_slots - 1);
		a->by_pan[j] = i + 1;
	}
	a->approvals = calloc(CARD_APPROVALS_MAX, sizeof(*a->approvals));
	return 0;
}

void
card_accounts_free(struct card_accounts *a)
{
	free(a->cards);
	free(a->by_pan);
	free(a->approvals);
	memset(a, 0, sizeof(*a));
}

/* Slot of key, or of the empty slot where it would go. The table is
 * cleared when full: a simulator forgets its oldest history wholesale. */
static struct card_approval *
approval_slot(struct card_accounts *a, const uint8_t *key)
{
	uint32_t mask = CARD_APPROVALS_MAX - 1;
	uint32_t i = (uint32_t)hash_bytes(key, CARD_TXN_KEY_LEN) & mask;

	for (;;) {
		struct card_approval *ap = &a->approvals[i];

		if (!ap->used || memcmp(ap->key, key, CARD_TXN_KEY_LEN) == 0)
			return ap;
		i = (i + 1) & mask;
	}
}

static void
set_rc(struct card_result *r, const char *rc)
{
	memcpy(r->rc, rc, 2);
	r->has_auth_code = false;
}

void
card_authorise(struct card_accounts *a, const char *pan, size_t pan_len,
	       int64_t amount, const uint8_t key[CARD_TXN_KEY_LEN],
	       struct card_result *r)
{
	static const char b36[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
	int32_t idx = card_find(a, pan, pan_len);

	if (idx < 0)
		return set_rc(r, "14");
	struct card *c = &a->cards[idx];

	switch (c->status) {
	case CARD_LOST:
		return set_rc(r, "41");
	case CARD_STOLEN:
		return set_rc(r, "43");
	case CARD_BLOCKED:
		return set_rc(r, "05");
	default:
		break;
	}
	if (c->limit > 0 && amount > c->limit)
		return set_rc(r, "61");

	struct card_approval *ap = approval_slot(a, key);

	if (ap->used && ap->card == (uint32_t)idx && ap->amount == amount) {
		/* The same request again: an issuer answers it the same way
		 * and does not debit twice. */
		a->duplicates++;
		set_rc(r, "00");
		memcpy(r->auth_code, ap->auth_code, 6);
		r->has_auth_code = true;
		return;
	}
	if (c->balance < amount)
		return set_rc(r, "51");
	if (a->approvals_used >= CARD_APPROVALS_MAX / 2) {
		memset(a->approvals, 0, CARD_APPROVALS_MAX * sizeof(*a->approvals));
		a->approvals_used = 0;
		ap = approval_slot(a, key);
	}
	c->balance -= amount;
	c->approved_count++;
	c->approved_amount += amount;

	uint64_t n = ++a->auth_counter;

	for (int i = 5; i >= 0; i--) {
		r->auth_code[i] = b36[n % 36];
		n /= 36;
	}
	set_rc(r, "00");
	r->has_auth_code = true;
	memcpy(ap->key, key, CARD_TXN_KEY_LEN);
	ap->card = (uint32_t)idx;
	ap->amount = amount;
	memcpy(ap->auth_code, r->auth_code, 6);
	ap->reversed = 0;
	if (!ap->used)
		a->approvals_used++;
	ap->used = 1;
}

void
card_advise(struct card_accounts *a, const char *pan, size_t pan_len, int64_t amount,
	    const uint8_t key[CARD_TXN_KEY_LEN], const char auth_code[6],
	    struct card_result *r)
{
	int32_t idx = card_find(a, pan, pan_len);
	struct card_approval *ap;

	if (idx < 0)
		return set_rc(r, "14");
	ap = approval_slot(a, key);
	set_rc(r, "00");
	if (ap->used)      /* a repeat (0121): posted already */
		return;
	if (a->approvals_used >= CARD_APPROVALS_MAX / 2) {
		memset(a->approvals, 0, CARD_APPROVALS_MAX * sizeof(*a->approvals));
		a->approvals_used = 0;
		ap = approval_slot(a, key);
	}
	struct card *c = &a->cards[idx];

	c->balance -= amount;
	c->approved_count++;
	c->approved_amount += amount;
	c->advised_count++;
	memcpy(ap->key, key, CARD_TXN_KEY_LEN);
	ap->card = (uint32_t)idx;
	ap->amount = amount;
	memcpy(ap->auth_code, auth_code, 6);
	ap->reversed = 0;
	ap->used = 1;
	a->approvals_used++;
}

void
card_reverse(struct card_accounts *a, const uint8_t key[CARD_TXN_KEY_LEN],
	     struct card_result *r)
{
	struct card_approval *ap = approval_slot(a, key);

	if (!ap->used)
		return set_rc(r, "25");
	if (!ap->reversed) {
		struct card *c = &a->cards[ap->card];

		c->balance += ap->amount;
		c->reversed_count++;
		c->reversed_amount += ap->amount;
		ap->reversed = 1;
	}
	set_rc(r, "00");
}

void
card_mask(const char *pan, size_t len, char *out, size_t out_len)
{
	size_t i;

	if (out_len < CARD_PAN_MAX + 1 || len > CARD_PAN_MAX) {
		if (out_len)
			out[0] = 0;
		return;
	}
	for (i = 0; i < len; i++)
		out[i] = (i < 6 || i + 4 >= len) ? pan[i] : '*';
	out[i] = 0;
}

int
card_accounts_write(const struct card_accounts *a, FILE *f)
{
	uint64_t ac = 0, rc = 0, adv = 0;
	int64_t aa = 0, ra = 0;
	char masked[CARD_PAN_MAX + 1];

	fprintf(f, "card_index,pan_masked,balance,approved_count,approved_amount,"
		   "reversed_count,reversed_amount\n");
	for (uint32_t i = 0; i < a->n_cards; i++) {
		const struct card *c = &a->cards[i];

		card_mask(c->pan, strlen(c->pan), masked, sizeof(masked));
		fprintf(f, "%u,%s,%" PRId64 ",%" PRIu64 ",%" PRId64 ",%" PRIu64 ",%" PRId64 "\n",
			i, masked, c->balance, c->approved_count, c->approved_amount,
			c->reversed_count, c->reversed_amount);
		ac += c->approved_count;
		aa += c->approved_amount;
		rc += c->reversed_count;
		ra += c->reversed_amount;
		adv += c->advised_count;
	}
	fprintf(f, "#total,approved_count=%" PRIu64 ",approved_amount=%" PRId64
		   ",reversed_count=%" PRIu64 ",reversed_amount=%" PRId64
		   ",advised_count=%" PRIu64 "\n", ac, aa, rc, ra, adv);
	return ferror(f) ? -1 : 0;
}
