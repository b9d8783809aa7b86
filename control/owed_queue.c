/* SPDX-License-Identifier: BSD-3-Clause */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "owed_queue.h"

struct owed_queue {
	uint32_t cap, n;
	uint32_t stan;            /* the gateway's own STAN for reversals */
	uint64_t retry_ns;
	struct owed_msg *r;
};

struct owed_queue *
owed_queue_create(uint32_t capacity, uint64_t retry_ns)
{
	struct owed_queue *q = calloc(1, sizeof(*q));

	if (q == NULL)
		return NULL;
	q->r = calloc(capacity, sizeof(*q->r));
	if (q->r == NULL) {
		free(q);
		return NULL;
	}
	q->cap = capacity;
	q->retry_ns = retry_ns;
	/* Reversal STANs start from the clock, so that a restart does not
	 * reuse the identities of reversals sent just before it. */
	q->stan = (uint32_t)(time(NULL) % 900000);
	return q;
}

void
owed_queue_destroy(struct owed_queue *q)
{
	if (q == NULL)
		return;
	free(q->r);
	free(q);
}

static struct owed_msg *
slot(struct owed_queue *q)
{
	if (q->n == q->cap)
		return NULL;
	for (uint32_t i = 0; i < q->cap; i++)
		if (!q->r[i].used)
			return &q->r[i];
	return NULL;
}

static bool
take_key(const uint8_t *msg, uint16_t len, uint8_t enc, struct auth_key *k)
{
	struct iso_msg m;

	iso_parse(&m, msg, len, (enum iso_bitmap_enc)enc);
	return m.status == ISO_PARSE_OK && auth_key_from_msg(&m, k);
}

struct owed_msg *
owed_queue_add_reversal(struct owed_queue *q, const uint8_t *msg, uint16_t len,
		   uint8_t enc, uint64_t now_ns)
{
	static const uint8_t copy_before[] = { 2, 3, 4 };
	struct owed_msg *r = slot(q);
	struct iso_msg m;
	struct iso_builder b;
	char f7[10], f11[16], f90[64];

	if (r == NULL)
		return NULL;
	iso_parse(&m, msg, len, (enum iso_bitmap_enc)enc);
	if (m.status != ISO_PARSE_OK || !auth_key_from_msg(&m, &r->orig))
		return NULL;
	iso_transmission_time(f7, time(NULL));
	q->stan = q->stan % 999999 + 1;
	snprintf(f11, sizeof(f11), "%06u", q->stan);
	/* 90: original MTI, STAN, transmission time; acquirer and forwarder
	 * ids (zeros: we do not send 32/33). */
	snprintf(f90, sizeof(f90), "%04u%.6s%.10s%022d", m.mti % 10000u,
		 (const char *)iso_field_ptr(&m, 11), (const char *)iso_field_ptr(&m, 7), 0);

	iso_build_begin(&b, r->msg, sizeof(r->msg), (enum iso_bitmap_enc)enc, 400, true);
	for (unsigned int i = 0; i < sizeof(copy_before); i++)
		iso_build_copy(&b, &m, copy_before[i]);
	iso_build_field(&b, 7, f7, 10);
	iso_build_field(&b, 11, f11, 6);
	iso_build_copy(&b, &m, 41);
	iso_build_copy(&b, &m, 42);
	iso_build_copy(&b, &m, 49);
	iso_build_field(&b, 90, f90, 42);

	int n = iso_build_end(&b);

	if (n <= 0 || !take_key(r->msg, (uint16_t)n, enc, &r->key))
		return NULL;
	r->len = (uint16_t)n;
	r->enc = enc;
	r->sends = 0;
	r->seq = 0;
	r->next_ns = now_ns;
	r->used = 1;
	q->n++;
	return r;
}

struct owed_msg *
owed_queue_add(struct owed_queue *q, const uint8_t *msg, uint16_t len, uint8_t enc,
	       uint64_t now_ns)
{
	struct owed_msg *r = owed_queue_restore(q, msg, len, enc, now_ns);

	if (r) {
		r->sends = 0;
		r->msg[3] = msg[3];     /* first send: as built */
	}
	return r;
}

struct owed_msg *
owed_queue_restore(struct owed_queue *q, const uint8_t *msg, uint16_t len,
		       uint8_t enc, uint64_t now_ns)
{
	struct owed_msg *r = slot(q);
	struct iso_msg m;

	if (r == NULL || len > sizeof(r->msg))
		return NULL;
	memcpy(r->msg, msg, len);
	iso_parse(&m, r->msg, len, (enum iso_bitmap_enc)enc);
	if (m.status != ISO_PARSE_OK || !auth_key_from_msg(&m, &r->key))
		return NULL;
	memset(&r->orig, 0, sizeof(r->orig));
	r->len = len;
	r->enc = enc;
	r->sends = 1;
	r->seq = 0;
	r->msg[3] = '1';          /* a repeat: 0401 */
	r->next_ns = now_ns;
	r->used = 1;
	q->n++;
	return r;
}

struct owed_msg *
owed_queue_due(struct owed_queue *q, uint64_t now_ns, uint64_t durable_seq)
{
	if (q->n == 0)
		return NULL;
	for (uint32_t i = 0; i < q->cap; i++)
		if (q->r[i].used && q->r[i].next_ns <= now_ns && q->r[i].seq <= durable_seq)
			return &q->r[i];
	return NULL;
}

void
owed_queue_sent(struct owed_queue *q, struct owed_msg *r, uint64_t now_ns)
{
	r->sends++;
	r->msg[3] = '1';          /* MTI 0400 -> 0401 for every repeat */
	r->next_ns = now_ns + q->retry_ns;
}

void
owed_queue_postpone(struct owed_queue *q, struct owed_msg *r, uint64_t now_ns)
{
	r->next_ns = now_ns + q->retry_ns;
}

bool
owed_queue_ack(struct owed_queue *q, const struct auth_key *key,
		   struct auth_key *orig)
{
	if (q->n == 0)
		return false;
	for (uint32_t i = 0; i < q->cap; i++) {
		struct owed_msg *r = &q->r[i];

		if (r->used && auth_key_equal(&r->key, key)) {
			*orig = r->orig;
			r->used = 0;
			q->n--;
			return true;
		}
	}
	return false;
}

uint32_t
owed_queue_count(const struct owed_queue *q)
{
	return q->n;
}

void
owed_queue_each(const struct owed_queue *q, void (*fn)(void *ctx, const struct owed_msg *m),
		void *ctx)
{
	for (uint32_t i = 0; i < q->cap && q->n; i++)
		if (q->r[i].used)
			fn(ctx, &q->r[i]);
}
