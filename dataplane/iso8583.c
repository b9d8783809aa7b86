/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ISO 8583:1987 ASCII codec. See iso8583.h for what it owns.
 *
 * Parsing walks the declared bitmap once, in field order, and records a
 * view (offset, length) per present field. Every read is preceded by a
 * check against the remaining length, so a hostile length prefix or a
 * bitmap announcing more fields than the message carries ends the walk
 * with a status, never a read past the buffer.
 */
#include <string.h>

#include "iso8583.h"

#define F(lt, cs, l) { .len_type = ISO_##lt, .charset = ISO_CS_##cs, .len = (l) }

/*
 * Formats from ISO 8583:1987 as the common ASCII dialects carry them:
 * binary fields (52, 53 of some, 64, 65, 96, 128) travel as hex-ASCII
 * and so take twice their byte length in characters.
 */
const struct iso_field_spec iso_field_spec[ISO_FIELD_MAX + 1] = {
	[2] = F(LLVAR, N, 19),     /* primary account number */
	[3] = F(FIXED, N, 6),      /* processing code */
	[4] = F(FIXED, N, 12),     /* amount, transaction */
	[5] = F(FIXED, N, 12),     /* amount, settlement */
	[6] = F(FIXED, N, 12),     /* amount, cardholder billing */
	[7] = F(FIXED, N, 10),     /* transmission date & time MMDDhhmmss */
	[8] = F(FIXED, N, 8),
	[9] = F(FIXED, N, 8),
	[10] = F(FIXED, N, 8),
	[11] = F(FIXED, N, 6),     /* system trace audit number */
	[12] = F(FIXED, N, 6),     /* local time hhmmss */
	[13] = F(FIXED, N, 4),     /* local date MMDD */
	[14] = F(FIXED, N, 4),     /* expiration date YYMM */
	[15] = F(FIXED, N, 4),
	[16] = F(FIXED, N, 4),
	[17] = F(FIXED, N, 4),
	[18] = F(FIXED, N, 4),     /* merchant type (MCC) */
	[19] = F(FIXED, N, 3),
	[20] = F(FIXED, N, 3),
	[21] = F(FIXED, N, 3),
	[22] = F(FIXED, N, 3),     /* POS entry mode */
	[23] = F(FIXED, N, 3),
	[24] = F(FIXED, N, 3),
	[25] = F(FIXED, N, 2),
	[26] = F(FIXED, N, 2),
	[27] = F(FIXED, N, 1),
	[28] = F(FIXED, XN, 9),
	[29] = F(FIXED, XN, 9),
	[30] = F(FIXED, XN, 9),
	[31] = F(FIXED, XN, 9),
	[32] = F(LLVAR, N, 11),    /* acquiring institution id */
	[33] = F(LLVAR, N, 11),
	[34] = F(LLVAR, ANS, 28),
	[35] = F(LLVAR, Z, 37),    /* track 2 */
	[36] = F(LLLVAR, N, 104),
	[37] = F(FIXED, AN, 12),   /* retrieval reference number */
	[38] = F(FIXED, AN, 6),    /* authorization id response */
	[39] = F(FIXED, AN, 2),    /* response code */
	[40] = F(FIXED, AN, 3),
	[41] = F(FIXED, ANS, 8),   /* card acceptor terminal id */
	[42] = F(FIXED, ANS, 15),  /* card acceptor id (merchant) */
	[43] = F(FIXED, ANS, 40),
	[44] = F(LLVAR, AN, 25),
	[45] = F(LLVAR, AN, 76),
	[46] = F(LLLVAR, AN, 999),
	[47] = F(LLLVAR, AN, 999),
	[48] = F(LLLVAR, ANS, 999),
	[49] = F(FIXED, AN, 3),    /* currency code, transaction */
	[50] = F(FIXED, AN, 3),
	[51] = F(FIXED, AN, 3),
	[52] = F(FIXED, B, 16),    /* PIN data */
	[53] = F(FIXED, N, 16),
	[54] = F(LLLVAR, AN, 120),
	[55] = F(LLLVAR, ANS, 999),
	[56] = F(LLLVAR, ANS, 999),
	[57] = F(LLLVAR, ANS, 999),
	[58] = F(LLLVAR, ANS, 999),
	[59] = F(LLLVAR, ANS, 999),
	[60] = F(LLLVAR, ANS, 999),
	[61] = F(LLLVAR, ANS, 999),
	[62] = F(LLLVAR, ANS, 999),
	[63] = F(LLLVAR, ANS, 999),
	[64] = F(FIXED, B, 16),    /* MAC */
	[65] = F(FIXED, B, 16),    /* tertiary bitmap: refused by the parser */
	[66] = F(FIXED, N, 1),
	[67] = F(FIXED, N, 2),
	[68] = F(FIXED, N, 3),
	[69] = F(FIXED, N, 3),
	[70] = F(FIXED, N, 3),     /* network management information code */
	[71] = F(FIXED, N, 4),
	[72] = F(FIXED, N, 4),
	[73] = F(FIXED, N, 6),
	[74] = F(FIXED, N, 10),
	[75] = F(FIXED, N, 10),
	[76] = F(FIXED, N, 10),
	[77] = F(FIXED, N, 10),
	[78] = F(FIXED, N, 10),
	[79] = F(FIXED, N, 10),
	[80] = F(FIXED, N, 10),
	[81] = F(FIXED, N, 10),
	[82] = F(FIXED, N, 12),
	[83] = F(FIXED, N, 12),
	[84] = F(FIXED, N, 12),
	[85] = F(FIXED, N, 12),
	[86] = F(FIXED, N, 16),
	[87] = F(FIXED, N, 16),
	[88] = F(FIXED, N, 16),
	[89] = F(FIXED, N, 16),
	[90] = F(FIXED, N, 42),    /* original data elements */
	[91] = F(FIXED, AN, 1),
	[92] = F(FIXED, AN, 2),
	[93] = F(FIXED, AN, 5),
	[94] = F(FIXED, AN, 7),
	[95] = F(FIXED, AN, 42),
	[96] = F(FIXED, B, 16),
	[97] = F(FIXED, XN, 17),
	[98] = F(FIXED, ANS, 25),
	[99] = F(LLVAR, N, 11),
	[100] = F(LLVAR, N, 11),
	[101] = F(LLVAR, ANS, 17),
	[102] = F(LLVAR, ANS, 28),
	[103] = F(LLVAR, ANS, 28),
	[104] = F(LLLVAR, ANS, 100),
	[105] = F(LLLVAR, ANS, 999),
	[106] = F(LLLVAR, ANS, 999),
	[107] = F(LLLVAR, ANS, 999),
	[108] = F(LLLVAR, ANS, 999),
	[109] = F(LLLVAR, ANS, 999),
	[110] = F(LLLVAR, ANS, 999),
	[111] = F(LLLVAR, ANS, 999),
	[112] = F(LLLVAR, ANS, 999),
	[113] = F(LLLVAR, ANS, 999),
	[114] = F(LLLVAR, ANS, 999),
	[115] = F(LLLVAR, ANS, 999),
	[116] = F(LLLVAR, ANS, 999),
	[117] = F(LLLVAR, ANS, 999),
	[118] = F(LLLVAR, ANS, 999),
	[119] = F(LLLVAR, ANS, 999),
	[120] = F(LLLVAR, ANS, 999),
	[121] = F(LLLVAR, ANS, 999),
	[122] = F(LLLVAR, ANS, 999),
	[123] = F(LLLVAR, ANS, 999),
	[124] = F(LLLVAR, ANS, 999),
	[125] = F(LLLVAR, ANS, 999),
	[126] = F(LLLVAR, ANS, 999),
	[127] = F(LLLVAR, ANS, 999),
	[128] = F(FIXED, B, 16),   /* MAC */
};

#undef F

static inline bool
is_digit(uint8_t c)
{
	return c >= '0' && c <= '9';
}

static inline int
hex_value(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Wire order puts field 1 in the most significant bit; we keep field n at
 * bit n-1 so that iso_has() is a shift and a mask. */
static inline uint64_t
bit_reverse64(uint64_t x)
{
	x = ((x >> 1) & 0x5555555555555555ULL) | ((x & 0x5555555555555555ULL) << 1);
	x = ((x >> 2) & 0x3333333333333333ULL) | ((x & 0x3333333333333333ULL) << 2);
	x = ((x >> 4) & 0x0F0F0F0F0F0F0F0FULL) | ((x & 0x0F0F0F0F0F0F0F0FULL) << 4);
	return __builtin_bswap64(x);
}

/* Reads one 64-bit bitmap at buf (enough bytes checked by the caller).
 */
static bool
bitmap_read(const uint8_t *buf, enum iso_bitmap_enc enc, uint64_t *out)
{
	uint64_t wire = 0;

	if (enc == ISO_BITMAP_BINARY) {
		for (int i = 0; i < 8; i++)
			wire = (wire << 8) | buf[i];
	} else {
		for (int i = 0; i < 16; i++) {
			int v = hex_value(buf[i]);

			if (v < 0)
				return false;
			wire = (wire << 4) | (uint64_t)v;
		}
	}
	*out = bit_reverse64(wire);
	return true;
}

static inline unsigned int
bitmap_size(enum iso_bitmap_enc enc)
{
	return enc == ISO_BITMAP_BINARY ? 8 : 16;
}

enum iso_parse_status
iso_parse(struct iso_msg *m, const uint8_t *buf, size_t len,
	  enum iso_bitmap_enc enc)
{
	const unsigned int bm_size = bitmap_size(enc);
	size_t pos;

	m->buf = buf;
	m->len = len > UINT16_MAX ? UINT16_MAX : (uint16_t)len;
	m->mti = 0;
	m->fail_field = 0;
	m->declared[0] = m->declared[1] = 0;
	m->present[0] = m->present[1] = 0;

	if (len < 4 || len > ISO_MSG_MAX || !is_digit(buf[0]) ||
	    !is_digit(buf[1]) || !is_digit(buf[2]) || !is_digit(buf[3])) {
		m->status = ISO_PARSE_NO_MTI;
		return m->status;
	}
	m->mti = (uint16_t)((buf[0] - '0') * 1000 + (buf[1] - '0') * 100 +
			    (buf[2] - '0') * 10 + (buf[3] - '0'));
	pos = 4;

	if (len - pos < bm_size || !bitmap_read(buf + pos, enc, &m->declared[0])) {
		m->status = ISO_PARSE_BITMAP;
		return m->status;
	}
	pos += bm_size;
	if (m->declared[0] & 1) {
		if (len - pos < bm_size ||
		    !bitmap_read(buf + pos, enc, &m->declared[1])) {
			m->status = ISO_PARSE_BITMAP;
			return m->status;
		}
		pos += bm_size;
		/* Bit 65 announces a third bitmap, which 1987 does not use. */
		if (m->declared[1] & 1) {
			m->status = ISO_PARSE_TERTIARY;
			m->fail_field = 65;
			return m->status;
		}
	}

	for (unsigned int w = 0; w < 2; w++) {
		/* Bit 0 of the primary map is field 1, the secondary bitmap
		 * itself, already consumed above. */
		uint64_t bits = m->declared[w] & (w == 0 ? ~1ULL : ~0ULL);

		while (bits) {
			unsigned int n = (unsigned int)__builtin_ctzll(bits) +
					 1 + 64 * w;
			const struct iso_field_spec *s = &iso_field_spec[n];
			size_t flen = s->len;

			bits &= bits - 1;
			if (s->len_type != ISO_FIXED) {
				unsigned int digits = s->len_type;

				if (len - pos < digits) {
					m->status = ISO_PARSE_FIELD_TRUNC;
					m->fail_field = (uint8_t)n;
					return m->status;
				}
				flen = 0;
				for (unsigned int i = 0; i < digits; i++) {
					if (!is_digit(buf[pos + i])) {
						m->status = ISO_PARSE_FIELD_LEN;
						m->fail_field = (uint8_t)n;
						return m->status;
					}
					flen = flen * 10 + (buf[pos + i] - '0');
				}
				if (flen > s->len) {
					m->status = ISO_PARSE_FIELD_LEN;
					m->fail_field = (uint8_t)n;
					return m->status;
				}
				pos += digits;
			}
			if (len - pos < flen) {
				m->status = ISO_PARSE_FIELD_TRUNC;
				m->fail_field = (uint8_t)n;
				return m->status;
			}
			m->field[n].off = (uint16_t)pos;
			m->field[n].len = (uint16_t)flen;
			m->present[w] |= 1ULL << ((n - 1) & 63);
			pos += flen;
		}
	}
	if (pos != len) {
		m->status = ISO_PARSE_TRAILING;
		return m->status;
	}
	m->status = ISO_PARSE_OK;
	return m->status;
}

/* Character classes as bits per byte value, so that checking a field is
 * one load and one test per byte (this runs on every field of every frame). */
enum { CL_N = 1, CL_AN = 2, CL_ANS = 4, CL_B = 8, CL_Z = 16 };

static uint8_t char_class[256];

static void __attribute__((constructor))
char_class_init(void)
{
	for (int c = 0x20; c <= 0x7e; c++)
		char_class[c] |= CL_ANS;
	for (int c = '0'; c <= '9'; c++)
		char_class[c] |= CL_N | CL_AN | CL_B | CL_Z;
	for (int c = 'A'; c <= 'Z'; c++)
		char_class[c] |= CL_AN;
	for (int c = 'a'; c <= 'z'; c++)
		char_class[c] |= CL_AN;
	char_class[' '] |= CL_AN;
	for (int c = 'A'; c <= 'F'; c++)
		char_class[c] |= CL_B;
	for (int c = 'a'; c <= 'f'; c++)
		char_class[c] |= CL_B;
	char_class['='] |= CL_Z;
	char_class['D'] |= CL_Z;
}

static const uint8_t charset_bit[] = {
	[ISO_CS_N] = CL_N, [ISO_CS_AN] = CL_AN, [ISO_CS_ANS] = CL_ANS,
	[ISO_CS_B] = CL_B, [ISO_CS_Z] = CL_Z, [ISO_CS_XN] = CL_N,
};

static inline bool
charset_ok(uint8_t cs, const uint8_t *p, uint16_t len)
{
	uint8_t bit = charset_bit[cs], all = 0xff;

	if (cs == ISO_CS_XN) {
		if (len < 1 || (p[0] != 'C' && p[0] != 'D'))
			return false;
		p++;
		len--;
	}
	/* No early exit: the loop stays branch-free and vectorisable. */
	for (uint16_t i = 0; i < len; i++)
		all &= char_class[p[i]];
	return (all & bit) != 0;
}

bool
iso_field_valid(const struct iso_msg *m, unsigned int n)
{
	if (!iso_has(m, n))
		return false;
	return charset_ok(iso_field_spec[n].charset, iso_field_ptr(m, n),
			  iso_field_len(m, n));
}

bool
iso_field_u64(const struct iso_msg *m, unsigned int n, uint64_t *out)
{
	uint64_t v = 0;

	if (!iso_has(m, n))
		return false;
	const uint8_t *p = iso_field_ptr(m, n);
	uint16_t len = iso_field_len(m, n);

	if (len == 0 || len > 18)
		return false;
	for (uint16_t i = 0; i < len; i++) {
		if (!is_digit(p[i]))
			return false;
		v = v * 10 + (uint64_t)(p[i] - '0');
	}
	*out = v;
	return true;
}

bool
iso_field_equal(const struct iso_msg *a, const struct iso_msg *b,
		unsigned int n)
{
	bool ha = iso_has(a, n), hb = iso_has(b, n);

	if (ha != hb)
		return false;
	if (!ha)
		return true;
	return iso_field_len(a, n) == iso_field_len(b, n) &&
	       memcmp(iso_field_ptr(a, n), iso_field_ptr(b, n),
		      iso_field_len(a, n)) == 0;
}

static void
put_digits(uint8_t *p, unsigned int v, unsigned int digits)
{
	for (unsigned int i = digits; i > 0; i--) {
		p[i - 1] = (uint8_t)('0' + v % 10);
		v /= 10;
	}
}

void
iso_build_begin(struct iso_builder *b, uint8_t *buf, size_t cap,
		enum iso_bitmap_enc enc, uint16_t mti, bool secondary)
{
	unsigned int need = 4 + bitmap_size(enc) * (secondary ? 2 : 1);

	b->buf = buf;
	b->cap = cap > UINT16_MAX ? UINT16_MAX : (uint16_t)cap;
	b->enc = (uint8_t)enc;
	b->secondary = secondary;
	b->error = 0;
	b->last_field = 1;
	b->bitmap[0] = b->bitmap[1] = 0;
	if (mti > 9999 || b->cap < need) {
		b->error = 1;
		b->len = 0;
		return;
	}
	put_digits(buf, mti, 4);
	b->bitmap_off = 4;
	b->len = (uint16_t)need;
}

void
iso_build_field(struct iso_builder *b, unsigned int n, const void *data,
		size_t len)
{
	const struct iso_field_spec *s;
	unsigned int prefix;

	if (b->error)
		return;
	if (n < 2 || n > ISO_FIELD_MAX || n <= b->last_field || n == 65 ||
	    (n > 64 && !b->secondary)) {
		b->error = 1;
		return;
	}
	s = &iso_field_spec[n];
	if (s->len_type == ISO_FIXED ? len != s->len : len > s->len) {
		b->error = 1;
		return;
	}
	prefix = s->len_type; /* 0, 2 or 3 digits */
	if ((size_t)b->cap - b->len < prefix + len) {
		b->error = 1;
		return;
	}
	if (prefix)
		put_digits(b->buf + b->len, (unsigned int)len, prefix);
	memcpy(b->buf + b->len + prefix, data, len);
	b->len = (uint16_t)(b->len + prefix + len);
	b->bitmap[(n - 1) >> 6] |= 1ULL << ((n - 1) & 63);
	b->last_field = (uint8_t)n;
}

void
iso_build_copy(struct iso_builder *b, const struct iso_msg *from,
	       unsigned int n)
{
	if (iso_has(from, n))
		iso_build_field(b, n, iso_field_ptr(from, n),
				iso_field_len(from, n));
}

static void
bitmap_write(uint8_t *p, uint64_t bits, enum iso_bitmap_enc enc)
{
	static const char hex[] = "0123456789ABCDEF";
	uint64_t wire = bit_reverse64(bits);

	if (enc == ISO_BITMAP_BINARY) {
		for (int i = 0; i < 8; i++)
			p[i] = (uint8_t)(wire >> (56 - 8 * i));
	} else {
		for (int i = 0; i < 16; i++)
			p[i] = (uint8_t)hex[(wire >> (60 - 4 * i)) & 0xf];
	}
}

int
iso_build_end(struct iso_builder *b)
{
	unsigned int bm = bitmap_size(b->enc);

	if (b->error)
		return -1;
	if (b->secondary)
		b->bitmap[0] |= 1; /* field 1: secondary bitmap follows */
	bitmap_write(b->buf + b->bitmap_off, b->bitmap[0], b->enc);
	if (b->secondary)
		bitmap_write(b->buf + b->bitmap_off + bm, b->bitmap[1], b->enc);
	return b->len;
}

int
iso_response_build(uint8_t *buf, size_t cap, enum iso_bitmap_enc enc,
		   const struct iso_msg *req, const char rc[2],
		   const char *auth_code)
{
	/* Fields a client needs to tie the answer to its request and to
	 * print a receipt; 70 only appears on network management. */
	static const uint8_t echo_before_38[] = { 2, 3, 4, 7, 11, 12, 13, 32, 37 };
	static const uint8_t echo_after_39[] = { 41, 42, 49, 70 };
	struct iso_builder b;

	iso_build_begin(&b, buf, cap, enc, iso_response_mti(req->mti),
			iso_has(req, 70));
	for (unsigned int i = 0; i < sizeof(echo_before_38); i++)
		iso_build_copy(&b, req, echo_before_38[i]);
	if (auth_code != NULL)
		iso_build_field(&b, 38, auth_code, ISO_AUTH_CODE_LEN);
	iso_build_field(&b, 39, rc, 2);
	for (unsigned int i = 0; i < sizeof(echo_after_39); i++)
		iso_build_copy(&b, req, echo_after_39[i]);
	return iso_build_end(&b);
}

void
iso_transmission_time(char f7[10], time_t t)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	const int parts[5] = { tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec };

	for (int i = 0; i < 5; i++) {
		f7[2 * i] = (char)('0' + parts[i] / 10 % 10);
		f7[2 * i + 1] = (char)('0' + parts[i] % 10);
	}
}
