/* SPDX-License-Identifier: BSD-3-Clause */
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "journal_replay.h"
#include "validate.h"

struct journal_replay {
	struct replay_item *items;     /* open addressing, linear probing */
	uint64_t cap, n;               /* cap a power of two */
	uint64_t cutoff_ns;
	uint64_t cp_first;             /* first record of the checkpoint being read */
	uint64_t horizon;
	struct journal_replay_stats st;
};

struct journal_replay *
journal_replay_create(uint64_t checkpoint_cutoff_ns)
{
	struct journal_replay *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return NULL;
	r->cutoff_ns = checkpoint_cutoff_ns;
	r->cap = 1 << 16;
	r->items = calloc(r->cap, sizeof(*r->items));
	if (r->items == NULL) {
		free(r);
		return NULL;
	}
	return r;
}

void
journal_replay_destroy(struct journal_replay *r)
{
	if (r == NULL)
		return;
	for (uint64_t i = 0; i < r->cap; i++)
		free(r->items[i].msg);
	free(r->items);
	free(r);
}

static bool
used(const struct replay_item *it)
{
	return it->has_request || it->has_decision || it->is_owed;
}

static struct replay_item *
find(struct replay_item *items, uint64_t cap, const struct auth_key *k)
{
	uint64_t i = XXH3_64bits(k->b, AUTH_KEY_LEN) & (cap - 1);

	while (used(&items[i]) && !auth_key_equal(&items[i].key, k))
		i = (i + 1) & (cap - 1);
	return &items[i];
}

static int
grow(struct journal_replay *r)
{
	uint64_t cap = r->cap * 2;
	struct replay_item *items = calloc(cap, sizeof(*items));

	if (items == NULL)
		return -1;
	for (uint64_t i = 0; i < r->cap; i++)
		if (used(&r->items[i]))
			*find(items, cap, &r->items[i].key) = r->items[i];
	free(r->items);
	r->items = items;
	r->cap = cap;
	return 0;
}

static void
keep_msg(struct replay_item *it, const struct journal_entry *e)
{
	free(it->msg);
	it->msg = malloc(e->msg_len ? e->msg_len : 1);
	if (it->msg == NULL) {
		it->msg_len = 0;
		return;
	}
	memcpy(it->msg, e->msg, e->msg_len);
	it->msg_len = e->msg_len;
	it->enc = e->enc;
}

uint64_t
journal_replay_horizon(const struct journal_replay *r)
{
	return r->horizon;
}

void
journal_replay_add(void *ctx, const struct journal_entry *e)
{
	struct journal_replay *r = ctx;
	struct replay_item *it;

	r->st.records++;
	/* A worker's decline is a record of what a client was told, not an
	 * outcome of this identity: a retransmission with other content is
	 * declined under the same key as the request it copies. */
	if (e->type == JOURNAL_DECISION && e->outcome == AUTH_OUTCOME_DATAPLANE) {
		r->st.dataplane_declines++;
		return;
	}
	/* A checkpoint: its owed list, then the marker. Recovery may later
	 * start at its first record once it is older than the cutoff. */
	if (e->type == JOURNAL_CHECKPOINT_OWED && r->cp_first == 0)
		r->cp_first = e->seq;
	if (e->type == JOURNAL_CHECKPOINT) {
		if (e->time_ns <= r->cutoff_ns)
			r->horizon = r->cp_first ? r->cp_first : e->seq;
		r->cp_first = 0;
		return;
	}
	if (e->type == JOURNAL_BANK_ANSWER)
		return;              /* the decision that follows says it all */
	if ((r->n + 1) * 2 > r->cap && grow(r) != 0)
		return;
	it = find(r->items, r->cap, &e->key);
	if (!used(it)) {
		memset(it, 0, sizeof(*it));
		it->key = e->key;
		r->n++;
	}
	switch (e->type) {
	case JOURNAL_REQUEST: {
		struct iso_msg m;

		r->st.requests++;
		it->has_request = 1;
		iso_parse(&m, e->msg, e->msg_len, (enum iso_bitmap_enc)e->enc);
		it->fingerprint = request_fingerprint(&m);
		/* Needed only if no decision follows (to reverse it). */
		keep_msg(it, e);
		break;
	}
	case JOURNAL_DECISION:
		r->st.decisions++;
		it->has_decision = 1;
		it->outcome = e->outcome;
		memcpy(it->rc, e->rc, 2);
		it->has_auth_code = e->has_auth_code;
		memcpy(it->auth_code, e->auth_code, ISO_AUTH_CODE_LEN);
		it->time_ns = e->time_ns;
		if (it->msg && !it->is_owed) {
			free(it->msg);
			it->msg = NULL;
			it->msg_len = 0;
		}
		break;
	case JOURNAL_REVERSAL_SENT:
	case JOURNAL_ADVICE_SENT:
		it->is_owed = 1;
		keep_msg(it, e);
		break;
	case JOURNAL_CHECKPOINT_OWED:
		/* Open at the checkpoint; an ack later in the journal closes
		 * it. Already known (not archived): nothing new. */
		if (!it->is_owed) {
			it->is_owed = 1;
			keep_msg(it, e);
		}
		break;
	case JOURNAL_REVERSAL_ACK:
	case JOURNAL_ADVICE_ACK:
		it->is_owed = 1;
		it->acked = 1;
		free(it->msg);
		it->msg = NULL;
		it->msg_len = 0;
		break;
	default:
		break;
	}
}

void
journal_replay_each(struct journal_replay *r,
		    void (*fn)(void *ctx, const struct replay_item *it), void *ctx)
{
	for (uint64_t i = 0; i < r->cap; i++)
		if (used(&r->items[i]))
			fn(ctx, &r->items[i]);
}

void
journal_replay_get_stats(const struct journal_replay *r, struct journal_replay_stats *out)
{
	*out = r->st;
	out->approvals = out->orphans = out->reversals_open = 0;
	for (uint64_t i = 0; i < r->cap; i++) {
		const struct replay_item *it = &r->items[i];

		if (!used(it))
			continue;
		if (it->is_owed && !it->acked)
			out->reversals_open++;
		if (it->has_request && !it->has_decision)
			out->orphans++;
		if (it->has_decision && (it->outcome == AUTH_OUTCOME_BANK ||
		    it->outcome == AUTH_OUTCOME_STANDIN) && it->rc[0] == '0' && it->rc[1] == '0')
			out->approvals++;
	}
}
