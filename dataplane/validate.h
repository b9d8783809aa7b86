/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * validate - what the data plane can decide from a request alone: format
 * (mandatory fields per MTI, every present field in its character class),
 * merchant, processing code, currency, Luhn, expiry against field 7, and
 * amount limits. Pure functions of the message, the merchant table and the
 * gateway's clock; no state, so the same request always gets the same
 * answer (which is why these declines are not stored for idempotency).
 */
#ifndef PAYGATE_VALIDATE_H
#define PAYGATE_VALIDATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "iso8583.h"
#include "merchant_table.h"

/* UTC year and month, refreshed once a second by the main lcore so that
 * workers never call the clock. */
struct gateway_clock {
	volatile uint16_t year;
	volatile uint8_t month;
};

enum request_kind {
	REQUEST_AUTH = 0,    /* 0100, 0200 */
	REQUEST_REVERSAL,    /* 0400, 0401 */
	REQUEST_NETWORK,     /* 0800 */
	REQUEST_OTHER,
};

struct validate_result {
	const char *rc;       /* answer now with this; NULL = passes */
	int32_t merchant;     /* index, when rc is NULL */
	uint8_t kind;         /* enum request_kind */
};

/* m parsed far enough to be answerable (MTI and 11 present). */
void validate_request(const struct iso_msg *m, bool len_mismatch,
		      const struct merchant_table *mt,
		      const struct gateway_clock *clk,
		      struct validate_result *out);

bool luhn_valid(const uint8_t *digits, size_t len);
/* yymm: field 14; mmdd: first 4 of field 7. false if a month is invalid
 * (then *expired is untouched). */
bool expiry_check(const uint8_t yymm[4], const uint8_t f7[4],
		  const struct gateway_clock *clk, bool *expired);
/* What a retransmission must repeat: MTI, 2, 3, 4, 49. */
uint64_t request_fingerprint(const struct iso_msg *m);

#endif /* PAYGATE_VALIDATE_H */
