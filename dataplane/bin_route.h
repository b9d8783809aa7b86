/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bin_route - which bank issues a card: ranges of the card number's first
 * six digits (its BIN) mapped to a bank index; anything else goes to bank
 * 0, the default. Read-only after configuration; the workers consult it
 * to know whose breaker applies, the control plane to pick the links.
 */
#ifndef PAYGATE_BIN_ROUTE_H
#define PAYGATE_BIN_ROUTE_H

#include <stddef.h>
#include <stdint.h>

#define BIN_ROUTES_MAX 64
#define BANKS_MAX 8

struct bin_routes {
	uint32_t n;
	struct bin_range {
		uint32_t lo, hi;     /* inclusive, six-digit BINs */
		uint8_t bank;
	} r[BIN_ROUTES_MAX];
};

/* "400000-449999, 510000" for bank; 0 or -1 with err set (bad range,
 * overlap with an earlier range, table full). */
int bin_routes_add(struct bin_routes *t, const char *spec, uint8_t bank,
		   char *err, size_t err_len);

static inline uint8_t
bin_route(const struct bin_routes *t, const uint8_t *pan, size_t len)
{
	uint32_t bin = 0;

	if (len < 6)
		return 0;
	for (int i = 0; i < 6; i++) {
		if (pan[i] < '0' || pan[i] > '9')
			return 0;
		bin = bin * 10 + (uint32_t)(pan[i] - '0');
	}
	for (uint32_t i = 0; i < t->n; i++)
		if (bin >= t->r[i].lo && bin <= t->r[i].hi)
			return t->r[i].bank;
	return 0;
}

#endif /* PAYGATE_BIN_ROUTE_H */
