/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * iso8583 - ISO 8583:1987 codec with ASCII fields.
 *
 * Owns: the field specification table (format and length of fields 2..128),
 * zero-copy parsing of one message into field views, and building a message
 * field by field. Shared by the data plane, the control plane, pktgen and the
 * bank simulator; it knows nothing about frames, length headers or sockets.
 *
 * A message is: 4 ASCII digits of MTI, the primary bitmap, the secondary
 * bitmap when bit 1 is set, then the present fields in ascending order.
 * Bitmaps are binary (8 bytes each) or hex-ASCII (16 characters each).
 * Variable fields carry an ASCII LL or LLL length prefix.
 *
 * The parser never reads outside [buf, buf + len). It stops at the first
 * field it cannot take and reports which one, so that a caller can still
 * answer a message whose early fields (MTI, STAN) are intact.
 */
#ifndef PAYGATE_ISO8583_H
#define PAYGATE_ISO8583_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define ISO_FIELD_MAX 128
/* Largest message we accept or build: one Ethernet frame's UDP payload
 * less the 2-byte length header, rounded down. Jumbo frames are not used. */
#define ISO_MSG_MAX 1400

enum iso_bitmap_enc {
	ISO_BITMAP_BINARY = 0, /* 8 raw bytes per bitmap */
	ISO_BITMAP_HEX = 1,    /* 16 hex-ASCII characters per bitmap */
};

enum iso_len_type {
	ISO_FIXED = 0,
	ISO_LLVAR = 2,  /* 2 ASCII digits of length */
	ISO_LLLVAR = 3, /* 3 ASCII digits of length */
};

/* Character class a field's content must belong to; checked by
 * iso_field_valid(), not by the parser (a wrong class is a format
 * error to answer with 30, not a reason to stop parsing). */
enum iso_charset {
	ISO_CS_N = 0,   /* digits */
	ISO_CS_AN,      /* letters and digits (spaces tolerated as padding) */
	ISO_CS_ANS,     /* any printable ASCII */
	ISO_CS_B,       /* binary data, carried as hex-ASCII in this dialect */
	ISO_CS_Z,       /* track data: digits, '=', 'D' */
	ISO_CS_XN,      /* 'C' or 'D' then digits (amount with sign) */
};

struct iso_field_spec {
	uint8_t len_type; /* enum iso_len_type */
	uint8_t charset;  /* enum iso_charset */
	uint16_t len;     /* fixed length, or maximum for LL/LLL */
};

/* Index 0 and 1 are unused (MTI and bitmap are not fields here). */
extern const struct iso_field_spec iso_field_spec[ISO_FIELD_MAX + 1];

/* Where a field's content lies in the message (after any length prefix). */
struct iso_view {
	uint16_t off;
	uint16_t len;
};

enum iso_parse_status {
	ISO_PARSE_OK = 0,
	ISO_PARSE_NO_MTI,      /* fewer than 4 bytes, or MTI not 4 digits */
	ISO_PARSE_BITMAP,      /* bitmap truncated or not hex */
	ISO_PARSE_TERTIARY,    /* bit 65 set: a third bitmap is not supported */
	ISO_PARSE_FIELD_TRUNC, /* a field or its prefix runs past the end */
	ISO_PARSE_FIELD_LEN,   /* length prefix not digits, or over maximum */
	ISO_PARSE_TRAILING,    /* bytes left after the last field */
};

struct iso_msg {
	const uint8_t *buf;
	uint16_t len;
	uint16_t mti;            /* the 4 digits as a number: 0100 -> 100 */
	uint8_t status;          /* enum iso_parse_status */
	uint8_t fail_field;      /* field where parsing stopped, 0 if none */
	uint64_t declared[2];    /* bitmap as sent: bit n-1 of [0] is field n */
	uint64_t present[2];     /* fields parsed and usable */
	struct iso_view field[ISO_FIELD_MAX + 1]; /* valid where present */
};

/* Parse buf[0..len) into m. Returns m->status. Fields parsed before an
 * error stay usable (see iso_has()). Does not copy the message. */
enum iso_parse_status iso_parse(struct iso_msg *m, const uint8_t *buf,
				size_t len, enum iso_bitmap_enc enc);

static inline bool
iso_has(const struct iso_msg *m, unsigned int n)
{
	if (n < 2 || n > ISO_FIELD_MAX)
		return false;
	return (m->present[(n - 1) >> 6] >> ((n - 1) & 63)) & 1;
}

static inline const uint8_t *
iso_field_ptr(const struct iso_msg *m, unsigned int n)
{
	return m->buf + m->field[n].off;
}

static inline uint16_t
iso_field_len(const struct iso_msg *m, unsigned int n)
{
	return m->field[n].len;
}

/* True if the field's content belongs to its charset (see iso_charset). */
bool iso_field_valid(const struct iso_msg *m, unsigned int n);

/* Numeric field as an integer. False if absent, not all digits, or more
 * than 18 digits. */
bool iso_field_u64(const struct iso_msg *m, unsigned int n, uint64_t *out);

/* True if both messages carry field n with the same bytes, or neither. */
bool iso_field_equal(const struct iso_msg *a, const struct iso_msg *b,
		     unsigned int n);

/* Request MTI -> response MTI: function digit + 1, repeat origin cleared
 * (0100->0110, 0200->0210, 0401->0410, 0800->0810). */
static inline uint16_t
iso_response_mti(uint16_t mti)
{
	unsigned int origin = mti % 10;

	return (uint16_t)(mti - origin + (origin & ~1u) + 10);
}

/* Requests have an even function digit (x0xx, x2xx ...); responses odd. */
static inline bool
iso_mti_is_request(uint16_t mti)
{
	return ((mti / 10) % 2) == 0;
}

/*
 * Building. Fields must be added in ascending order. The builder checks
 * fixed lengths and maximums against iso_field_spec and writes LL/LLL
 * prefixes itself. Any error makes iso_build_end() fail.
 */
struct iso_builder {
	uint8_t *buf;
	uint16_t cap;
	uint16_t len;
	uint16_t bitmap_off;
	uint8_t enc;
	uint8_t secondary;   /* secondary bitmap space reserved */
	uint8_t error;
	uint8_t last_field;
	uint64_t bitmap[2];
};

/* secondary: reserve a secondary bitmap (needed for fields 65..128; some
 * peers also expect an all-zero one). */
void iso_build_begin(struct iso_builder *b, uint8_t *buf, size_t cap,
		     enum iso_bitmap_enc enc, uint16_t mti, bool secondary);
/* Content only: the builder adds the length prefix. */
void iso_build_field(struct iso_builder *b, unsigned int n, const void *data,
		     size_t len);
/* Convenience for a field copied from a parsed message, if present. */
void iso_build_copy(struct iso_builder *b, const struct iso_msg *from,
		    unsigned int n);
/* Returns the message length, or -1 on any error (overflow, order,
 * length). */
int iso_build_end(struct iso_builder *b);

/* Field 7, transmission date and time, for t in UTC: MMDDhhmmss (no NUL). */
void iso_transmission_time(char f7[10], time_t t);

/*
 * Response construction shared by the gateway and the bank simulator:
 * MTI + 10 echoing the request's 2, 3, 4, 7, 11, 12, 13, 32, 37, 41, 42,
 * 49 and 70 where present, then 38 (if auth_code is not NULL) and 39.
 */
#define ISO_AUTH_CODE_LEN 6
int iso_response_build(uint8_t *buf, size_t cap, enum iso_bitmap_enc enc,
		       const struct iso_msg *req, const char rc[2],
		       const char *auth_code);

#endif /* PAYGATE_ISO8583_H */
