/* SPDX-License-Identifier: BSD-3-Clause */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bin_route.h"

static int
bin_of(const char *s, char **end, uint32_t *out)
{
	unsigned long v;

	while (*s == ' ')
		s++;
	if (*s < '0' || *s > '9')
		return -1;
	v = strtoul(s, end, 10);
	if (*end - s != 6 || v > 999999)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

int
bin_routes_add(struct bin_routes *t, const char *spec, uint8_t bank, char *err,
	       size_t err_len)
{
	const char *p = spec;

	while (*p) {
		char *end;
		uint32_t lo, hi;

		if (bin_of(p, &end, &lo) != 0) {
			snprintf(err, err_len, "bins '%s': expected 6-digit BINs", spec);
			return -1;
		}
		hi = lo;
		p = end;
		if (*p == '-' && bin_of(p + 1, &end, &hi) != 0) {
			snprintf(err, err_len, "bins '%s': expected 6-digit BIN after '-'", spec);
			return -1;
		}
		if (*p == '-')
			p = end;
		while (*p == ' ')
			p++;
		if (*p == ',')
			p++;
		else if (*p) {
			snprintf(err, err_len, "bins '%s': expected ',' between ranges", spec);
			return -1;
		}
		if (hi < lo || t->n == BIN_ROUTES_MAX) {
			snprintf(err, err_len, "bins '%s': %s", spec,
				 hi < lo ? "range ends before it starts" : "too many ranges");
			return -1;
		}
		for (uint32_t i = 0; i < t->n; i++) {
			if (lo <= t->r[i].hi && hi >= t->r[i].lo) {
				snprintf(err, err_len, "bins '%s': %06u-%06u overlaps an earlier range",
					 spec, lo, hi);
				return -1;
			}
		}
		t->r[t->n].lo = lo;
		t->r[t->n].hi = hi;
		t->r[t->n++].bank = bank;
	}
	return 0;
}
