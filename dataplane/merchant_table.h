/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * merchant_table - the merchants the gateway accepts, loaded from CSV at
 * start, found by field 42 exactly as it travels (15 characters, right
 * padded with spaces) through an rte_hash. Read-only once workers run;
 * mutable per-merchant state (rate limiter) lives with its worker.
 */
#ifndef PAYGATE_MERCHANT_TABLE_H
#define PAYGATE_MERCHANT_TABLE_H

#include <stdint.h>

#define MERCHANT_ID_LEN 15
/* More than any single acquirer's merchant file in a test or demo; a real
 * deployment sets it from its portfolio. */
#define MERCHANTS_MAX 65536

struct merchant {
	char id[MERCHANT_ID_LEN];     /* padded with spaces, as in field 42 */
	char name[40];
	uint16_t mcc;
	char country[3];
	char currency[3];             /* ISO 4217 numeric, as in field 49 */
	uint32_t rate_tps;
	uint32_t burst;
	uint64_t max_amount;          /* minor units */
	char bank_route[16];
};

struct rte_hash;

struct merchant_table {
	struct merchant *merchants;
	uint32_t n;
	struct rte_hash *by_id;
};

/* Needs EAL (rte_hash). Errors name the file and line. */
int merchant_table_load(struct merchant_table *t, const char *path,
			char *err, size_t err_len);
void merchant_table_free(struct merchant_table *t);
/* Index of the merchant whose id is these 15 bytes, or -1. */
int32_t merchant_lookup(const struct merchant_table *t, const uint8_t *id42);

#endif /* PAYGATE_MERCHANT_TABLE_H */
