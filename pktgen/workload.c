/* SPDX-License-Identifier: BSD-3-Clause */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv_row.h"
#include "workload.h"

const char *const category_name[CAT_MAX] = {
#define _(sym, str) [CAT_##sym] = str,
	foreach_category
#undef _
};

/* Expected answer per category (VALID depends on the card's limit). */
static const char *const category_rc[CAT_MAX] = {
	[CAT_VALID] = "00", [CAT_BAD_LUHN] = "14", [CAT_EXPIRED] = "54",
	[CAT_UNKNOWN_MERCHANT] = "03", [CAT_INSUFFICIENT] = "51",
	[CAT_LOST] = "41", [CAT_STOLEN] = "43", [CAT_BLOCKED] = "05",
	[CAT_OVER_LIMIT] = "61", [CAT_ECHO] = "00",
};

/* Smallest and largest amounts of a valid request, minor units. */
#define AMOUNT_MIN 1
#define AMOUNT_MAX 10000
/* Cards rich enough to stay rich for any run's worth of AMOUNT_MAX. */
#define RICH_BALANCE 100000000

uint64_t
workload_rand(struct workload *w)
{
	w->rng ^= w->rng >> 12;
	w->rng ^= w->rng << 25;
	w->rng ^= w->rng >> 27;
	return w->rng * 0x2545F4914F6CDD1DULL;
}

double
workload_rand01(struct workload *w)
{
	return (double)(workload_rand(w) >> 11) / 9007199254740992.0;
}

bool
workload_luhn(const char *pan, size_t len)
{
	unsigned int sum = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned int d = (unsigned int)(pan[len - 1 - i] - '0');

		if (i & 1) {
			d *= 2;
			if (d > 9)
				d -= 9;
		}
		sum += d;
	}
	return sum % 10 == 0;
}

static int
read_csv(const char *path, int nfields, void (*row)(void *, char **), void *ctx,
	 char *err, size_t err_len)
{
	FILE *f = fopen(path, "r");
	char line[512];
	bool header = false;
	unsigned int lineno = 0;

	if (f == NULL) {
		snprintf(err, err_len, "cannot open %s", path);
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		char *fld[16];
		int n = csv_row_split(line, fld, 16);

		lineno++;
		if (n == 0)
			continue;
		if (!header) {
			header = true;
			continue;
		}
		if (n < nfields || n > 16) {
			snprintf(err, err_len, "%s:%u: expected %d fields", path, lineno, nfields);
			fclose(f);
			return -1;
		}
		row(ctx, fld);
	}
	fclose(f);
	return 0;
}

static void
merchant_row(void *ctx, char **f)
{
	struct workload *w = ctx;
	struct wl_merchant *m;

	w->merchants = realloc(w->merchants, (w->n_merchants + 1) * sizeof(*m));
	m = &w->merchants[w->n_merchants++];
	snprintf(m->id, sizeof(m->id), "%-15.15s", f[0]);
	snprintf(m->currency, sizeof(m->currency), "%.3s", f[4]);
	m->max_amount = strtoull(f[7], NULL, 10);
}

static void
card_row(void *ctx, char **f)
{
	struct workload *w = ctx;
	struct wl_card *c;

	w->cards = realloc(w->cards, (w->n_cards + 1) * sizeof(*c));
	c = &w->cards[w->n_cards++];
	snprintf(c->pan, sizeof(c->pan), "%s", f[0]);
	c->balance = strtoll(f[1], NULL, 10);
	snprintf(c->status, sizeof(c->status), "%s", f[2]);
	c->limit = strtoll(f[3], NULL, 10);
}

static void
pool_add(struct workload *w, enum category c, uint32_t card)
{
	w->pool[c] = realloc(w->pool[c], (w->pool_n[c] + 1) * sizeof(uint32_t));
	w->pool[c][w->pool_n[c]++] = card;
}

int
workload_load(struct workload *w, const char *merchants_csv,
	      const char *cards_csv, char *err, size_t err_len)
{
	time_t now = time(NULL);

	memset(w, 0, sizeof(*w));
	w->rng = 0x9E3779B97F4A7C15ULL;
	gmtime_r(&now, &w->epoch);
	w->mti_0100_share = 0.5;
	if (read_csv(merchants_csv, 9, merchant_row, w, err, err_len) != 0 ||
	    read_csv(cards_csv, 4, card_row, w, err, err_len) != 0)
		return -1;
	if (w->n_merchants == 0 || w->n_cards == 0) {
		snprintf(err, err_len, "no merchants or no cards");
		return -1;
	}
	for (uint32_t i = 0; i < w->n_cards; i++) {
		const struct wl_card *c = &w->cards[i];
		bool active = strcmp(c->status, "active") == 0;

		if (active && c->balance >= RICH_BALANCE) {
			pool_add(w, CAT_VALID, i);
			if (c->limit == 0) {
				/* Declined before the bank: any card with a
				 * plain account will do. */
				pool_add(w, CAT_BAD_LUHN, i);
				pool_add(w, CAT_EXPIRED, i);
				pool_add(w, CAT_UNKNOWN_MERCHANT, i);
				pool_add(w, CAT_OVER_LIMIT, i);
			}
		} else if (active && c->balance < AMOUNT_MIN) {
			pool_add(w, CAT_INSUFFICIENT, i);
		} else if (strcmp(c->status, "lost") == 0) {
			pool_add(w, CAT_LOST, i);
		} else if (strcmp(c->status, "stolen") == 0) {
			pool_add(w, CAT_STOLEN, i);
		} else if (strcmp(c->status, "blocked") == 0) {
			pool_add(w, CAT_BLOCKED, i);
		}
	}
	pool_add(w, CAT_ECHO, 0);
	return workload_set_mix(w, "valid=100", err, err_len);
}

int
workload_set_mix(struct workload *w, const char *mix, char *err, size_t err_len)
{
	double share[CAT_MAX] = { 0 }, total = 0;
	char buf[512], *save = NULL;

	snprintf(buf, sizeof(buf), "%s", mix);
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(t, '=');
		int c;

		if (eq == NULL) {
			snprintf(err, err_len, "mix: '%s' is not name=share", t);
			return -1;
		}
		*eq = 0;
		for (c = 0; c < CAT_MAX && strcmp(category_name[c], t) != 0; c++)
			;
		if (c == CAT_MAX) {
			snprintf(err, err_len, "mix: unknown category '%s'", t);
			return -1;
		}
		share[c] = atof(eq + 1);
		if (share[c] > 0 && w->pool_n[c] == 0) {
			fprintf(stderr, "pktgen: no card for category %s in the cards file: skipped\n", t);
			share[c] = 0;
		}
		total += share[c];
	}
	if (total <= 0) {
		snprintf(err, err_len, "mix: nothing to send");
		return -1;
	}
	double acc = 0;

	for (int c = 0; c < CAT_MAX; c++) {
		acc += share[c] / total;
		w->mix_cdf[c] = acc;
	}
	w->mix_cdf[CAT_MAX - 1] = 1.0;
	return 0;
}

int
workload_set_mti(struct workload *w, const char *mti, char *err, size_t err_len)
{
	unsigned int a = 0, b = 0;

	if (sscanf(mti, "0100=%u,0200=%u", &a, &b) != 2 || a + b == 0) {
		snprintf(err, err_len, "--mti: expected 0100=N,0200=M");
		return -1;
	}
	w->mti_0100_share = (double)a / (double)(a + b);
	return 0;
}

void
workload_set_zipf(struct workload *w, double s)
{
	double total = 0;

	w->zipf_cdf = malloc(sizeof(double) * w->n_merchants);
	for (uint32_t k = 0; k < w->n_merchants; k++)
		total += 1.0 / pow((double)(k + 1), s);
	double acc = 0;

	for (uint32_t k = 0; k < w->n_merchants; k++) {
		acc += 1.0 / pow((double)(k + 1), s) / total;
		w->zipf_cdf[k] = acc;
	}
	w->zipf_cdf[w->n_merchants - 1] = 1.0;
}

static uint32_t
pick_merchant(struct workload *w)
{
	if (w->zipf_cdf == NULL)
		return (uint32_t)(workload_rand(w) % w->n_merchants);

	double u = workload_rand01(w);
	uint32_t lo = 0, hi = w->n_merchants - 1;

	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;

		if (w->zipf_cdf[mid] < u)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* n decimal digits of v, zero padded (v taken modulo 10^n). */
static void
digits(char *out, unsigned int v, int n)
{
	for (int i = n - 1; i >= 0; i--) {
		out[i] = (char)('0' + v % 10);
		v /= 10;
	}
	out[n] = 0;
}

static void
put(struct iso_builder *b, unsigned int n, const char *s)
{
	iso_build_field(b, n, s, strlen(s));
}

void
workload_next(struct workload *w, uint32_t flow, uint32_t seq, struct wl_request *r)
{
	double u = workload_rand01(w);
	enum category cat = CAT_VALID;
	char f7[11], f12[7], f13[5], f11[7], f41[9], f4[13], f14[5], pan[20];
	struct iso_builder b;
	const struct tm *t = &w->epoch;

	while (cat < CAT_MAX - 1 && u >= w->mix_cdf[cat])
		cat++;
	r->category = (uint8_t)cat;
	unsigned int mon = (unsigned int)t->tm_mon + 1, day = (unsigned int)t->tm_mday;
	unsigned int hms = (unsigned int)(t->tm_hour * 10000 + t->tm_min * 100 + t->tm_sec);
	unsigned int year = (unsigned int)t->tm_year + 1900;

	digits(f7, mon * 100 + day, 4);
	digits(f7 + 4, hms, 6);
	digits(f12, hms, 6);
	digits(f13, mon * 100 + day, 4);
	digits(f11, seq, 6);
	f41[0] = 'T';
	digits(f41 + 1, flow, 7);

	if (cat == CAT_ECHO) {
		r->mti = 800;
		r->merchant = UINT32_MAX;
		memcpy(r->rc, "00", 3);
		r->to_bank = false;
		r->amount = 0;
		iso_build_begin(&b, r->msg, sizeof(r->msg), w->enc, 800, true);
		put(&b, 7, f7);
		put(&b, 11, f11);
		put(&b, 41, f41);
		put(&b, 70, "301");
		r->len = (uint16_t)iso_build_end(&b);
		return;
	}

	uint32_t card = w->pool[cat][workload_rand(w) % w->pool_n[cat]];
	const struct wl_card *c = &w->cards[card];
	uint32_t mi = pick_merchant(w);
	const struct wl_merchant *m = &w->merchants[mi];
	char mid[16];
	uint64_t cap = m->max_amount < AMOUNT_MAX ? m->max_amount : AMOUNT_MAX;

	r->card = card;
	r->merchant = cat == CAT_UNKNOWN_MERCHANT ? UINT32_MAX : mi;
	r->mti = workload_rand01(w) < w->mti_0100_share ? 100 : 200;
	r->amount = AMOUNT_MIN + workload_rand(w) % cap;
	memcpy(mid, m->id, 16);
	snprintf(pan, sizeof(pan), "%s", c->pan);
	/* Valid through two years after the epoch; expired: last year. */
	digits(f14, ((year + 2) % 100) * 100 + mon, 4);
	memcpy(r->rc, category_rc[cat], 3);
	r->to_bank = cat == CAT_VALID || cat == CAT_INSUFFICIENT || cat == CAT_LOST ||
		     cat == CAT_STOLEN || cat == CAT_BLOCKED;

	switch (cat) {
	case CAT_BAD_LUHN: {
		size_t l = strlen(pan);

		pan[l - 1] = (char)('0' + (pan[l - 1] - '0' + 1) % 10);
		break;
	}
	case CAT_EXPIRED:
		digits(f14, ((year - 1) % 100) * 100 + mon, 4);
		break;
	case CAT_UNKNOWN_MERCHANT:
		mid[0] = 'U';
		digits(mid + 1, (unsigned int)(workload_rand(w) % 1000000), 14);
		break;
	case CAT_OVER_LIMIT:
		r->amount = m->max_amount + 1 + workload_rand(w) % 1000;
		break;
	case CAT_VALID:
		if (c->limit > 0 && (int64_t)r->amount > c->limit)
			memcpy(r->rc, "61", 3); /* the bank's per-card limit */
		break;
	default:
		break;
	}
	digits(f4, (unsigned int)(r->amount / 1000000), 6);
	digits(f4 + 6, (unsigned int)(r->amount % 1000000), 6);

	iso_build_begin(&b, r->msg, sizeof(r->msg), w->enc, r->mti, false);
	put(&b, 2, pan);
	put(&b, 3, "000000");
	put(&b, 4, f4);
	put(&b, 7, f7);
	put(&b, 11, f11);
	put(&b, 12, f12);
	put(&b, 13, f13);
	put(&b, 14, f14);
	put(&b, 22, "051");
	put(&b, 41, f41);
	iso_build_field(&b, 42, mid, 15);
	put(&b, 49, m->currency);
	r->len = (uint16_t)iso_build_end(&b);
}

void
workload_malform(struct workload *w, struct wl_request *r)
{
	r->to_bank = false;
	if (workload_rand(w) & 1) {
		/* Answerable: cut inside the last field (49), after 11. */
		r->len = (uint16_t)(r->len - 1);
		memcpy(r->rc, "30", 3);
	} else {
		/* Unanswerable: MTI and bitmap only, the STAN never comes. */
		r->len = (uint16_t)(4 + (w->enc == ISO_BITMAP_BINARY ? 8 : 16) + 3);
		r->rc[0] = 0;
	}
}
