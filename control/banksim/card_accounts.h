/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * card_accounts - the bank simulator's issuer: card accounts loaded from a
 * CSV file, the decision for each authorisation, and the approvals it has
 * given (needed to reverse them). Single-threaded, owned by banksim's loop.
 */
#ifndef PAYGATE_CARD_ACCOUNTS_H
#define PAYGATE_CARD_ACCOUNTS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define CARD_PAN_MAX 19
/* Approvals remembered for reversals and duplicate detection; the oldest
 * is forgotten first. A million covers any test run many times over. */
#define CARD_APPROVALS_MAX (1u << 20)
/* 41 (8) + 11 (6) + 7 (10) */
#define CARD_TXN_KEY_LEN 24

enum card_status {
	CARD_ACTIVE = 0,
	CARD_LOST,
	CARD_STOLEN,
	CARD_BLOCKED,
};

struct card {
	char pan[CARD_PAN_MAX + 1];
	int64_t balance;          /* minor units */
	int64_t limit;            /* per transaction; 0 = none */
	uint8_t status;           /* enum card_status */
	uint64_t approved_count;
	int64_t approved_amount;
	uint64_t reversed_count;
	int64_t reversed_amount;
	uint64_t advised_count;       /* stand-in approvals posted (also in approved) */
};

struct card_approval {
	uint8_t key[CARD_TXN_KEY_LEN];
	uint32_t card;            /* index */
	int64_t amount;
	char auth_code[6];
	uint8_t used;
	uint8_t reversed;
};

struct card_accounts {
	struct card *cards;
	uint32_t n_cards;
	uint32_t *by_pan;         /* open addressing: card index + 1, 0 = empty */
	uint32_t pan_slots;
	struct card_approval *approvals; /* open addressing by key */
	uint32_t approvals_used;
	uint64_t auth_counter;
	uint64_t duplicates;      /* same 41+11+7 approved again without debit */
};

struct card_result {
	char rc[2];
	char auth_code[6];
	bool has_auth_code;
};

/* Load; on error returns -1 and writes "file:line: reason" to err. */
int card_accounts_load(struct card_accounts *a, const char *path, char *err,
		       size_t err_len);
void card_accounts_free(struct card_accounts *a);
int32_t card_find(const struct card_accounts *a, const char *pan, size_t len);

/* 0100/0200: decide and debit. key = 41 + 11 + 7 of the request. */
void card_authorise(struct card_accounts *a, const char *pan, size_t pan_len,
		    int64_t amount, const uint8_t key[CARD_TXN_KEY_LEN],
		    struct card_result *r);
/* 0400/0401: key = 41 + original 11 + original 7 (from field 90). */
void card_reverse(struct card_accounts *a, const uint8_t key[CARD_TXN_KEY_LEN],
		  struct card_result *r);

/* 0120/0121 advice of a stand-in approval the acquirer already gave: the
 * issuer must post it (even past the balance); once per key. */
void card_advise(struct card_accounts *a, const char *pan, size_t pan_len,
		 int64_t amount, const uint8_t key[CARD_TXN_KEY_LEN],
		 const char auth_code[6], struct card_result *r);
/* Advices posted (first time) and repeats seen. */

/* "400000******0002": never log a PAN in clear. out >= 20 bytes. */
void card_mask(const char *pan, size_t len, char *out, size_t out_len);

/* Balances file: card_index,pan_masked,balance,approved_count,... */
int card_accounts_write(const struct card_accounts *a, FILE *f);

#endif /* PAYGATE_CARD_ACCOUNTS_H */
