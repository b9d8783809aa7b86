/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * workload - what pktgen sends and what it expects back: merchants and
 * cards from the same CSV files the gateway and the bank simulator read,
 * a mix of request categories each with the response code it must get,
 * merchant choice uniform or Zipf, and the ISO 8583 message of a request.
 * Deterministic for a given seed and epoch.
 */
#ifndef PAYGATE_WORKLOAD_H
#define PAYGATE_WORKLOAD_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "iso8583.h"

#define foreach_category                                        \
	_(VALID, "valid")                                       \
	_(BAD_LUHN, "bad_luhn")                                 \
	_(EXPIRED, "expired")                                   \
	_(UNKNOWN_MERCHANT, "unknown_merchant")                 \
	_(INSUFFICIENT, "insufficient")                         \
	_(LOST, "lost")                                         \
	_(STOLEN, "stolen")                                     \
	_(BLOCKED, "blocked")                                   \
	_(OVER_LIMIT, "over_limit")                             \
	_(ECHO, "echo")

enum category {
#define _(sym, str) CAT_##sym,
	foreach_category
#undef _
	CAT_MAX,
};

extern const char *const category_name[CAT_MAX];

struct wl_merchant {
	char id[16];          /* padded to 15 */
	char currency[4];
	uint64_t max_amount;
};

struct wl_card {
	char pan[20];
	int64_t balance, limit;
	char status[12];
};

struct workload {
	struct wl_merchant *merchants;
	uint32_t n_merchants;
	struct wl_card *cards;
	uint32_t n_cards;
	/* Cards usable for each category (indices into cards). */
	uint32_t *pool[CAT_MAX];
	uint32_t pool_n[CAT_MAX];
	double mix_cdf[CAT_MAX];
	double mti_0100_share;
	double *zipf_cdf;     /* NULL: uniform */
	uint64_t rng;
	struct tm epoch;      /* UTC: field 7 and expiry dates */
	enum iso_bitmap_enc enc;
};

/* One generated request and what must come back. */
struct wl_request {
	uint8_t category;
	uint16_t mti;
	char rc[3];           /* expected 39; "" = no answer expected */
	bool to_bank;         /* decided by the bank (can be absorbed) */
	uint32_t card;        /* index, when a card is used */
	uint32_t merchant;    /* index; UINT32_MAX: none or not in the table */
	uint64_t amount;
	uint16_t len;
	uint8_t msg[ISO_MSG_MAX];
};

int workload_load(struct workload *w, const char *merchants_csv,
		  const char *cards_csv, char *err, size_t err_len);
/* "valid=70,bad_luhn=5,..." */
int workload_set_mix(struct workload *w, const char *mix, char *err, size_t err_len);
int workload_set_mti(struct workload *w, const char *mti, char *err, size_t err_len);
void workload_set_zipf(struct workload *w, double s);
uint64_t workload_rand(struct workload *w);
double workload_rand01(struct workload *w);

/* Build request for flow (terminal "T%07u") and seq (STAN). */
void workload_next(struct workload *w, uint32_t flow, uint32_t seq,
		   struct wl_request *r);
/* Corrupt r into a malformed request: answerable (expected 30) or not
 * (expected no answer), half and half. */
void workload_malform(struct workload *w, struct wl_request *r);

bool workload_luhn(const char *pan, size_t len);

#endif /* PAYGATE_WORKLOAD_H */
