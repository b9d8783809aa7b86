/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The control-plane thread. Per loop:
 *   1. links: connect / reconnect as their backoff allows
 *   2. results that found a worker's ring full last time: retry
 *   3. hand-off rings: each request journalled, then waits for durability
 *   4. durable: requests go to a bank link (remembered in pending),
 *      approvals go back to their worker; reversals due are sent
 *   5. links: read answers, match them by auth_key, journal them, return
 *      declines at once and approvals once durable
 *   6. links: write what was queued
 *   7. pending: the oldest requests past their deadline answered 91 and
 *      reversed
 * and a short sleep when a whole loop found nothing to do.
 */
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_mempool.h>
#include <rte_ring.h>

#include <xxhash.h>

#include "clock_ns.h"
#include "bank_link.h"
#include "bank_pending.h"
#include "control_plane.h"
#include "latency_hist.h"
#include "owed_queue.h"

#define CONTROL_BURST 32
#define CONTROL_LINKS_MAX 64

/* One issuer: its connections, its breaker, its answer latency. */
struct bank {
	struct control_plane *cp;
	uint8_t index;
	struct bank_link links[CONTROL_LINKS_MAX];
	unsigned int n_links, next_link;
	struct bank_breaker breaker;
	uint64_t probe_sent_ns;            /* 0: no probe outstanding */
	uint64_t opened;
	uint64_t timeouts, unavailable;    /* this bank's share of the totals */
	uint32_t in_flight;                /* its requests in bank_pending */
	struct latency_hist latency;       /* request written -> answer read */
};

struct control_plane {
	struct control_config cfg;
	struct handoff_channel *channels;
	unsigned int n_workers;
	struct bank banks[BANKS_MAX];
	unsigned int n_banks;
	struct bank_pending *pending;
	uint64_t timeout_ns;
	/* Results waiting for room in their worker's ring; bounded by the
	 * number of records that can exist (inflight_max + ring contents). */
	struct auth_request **backlog;
	uint32_t backlog_n, backlog_cap;
	/* Waiting for the journal, in seq order (a FIFO): requests to send,
	 * approvals to release. */
	struct durable_wait *wait;
	uint32_t wait_head, wait_n, wait_cap;
	struct journal *journal;
	struct owed_queue *reversals;
	uint32_t bank_state[BANKS_MAX];    /* published breaker states */
	uint32_t probe_stan;
	struct owed_queue *advices;        /* 0120 of stand-in approvals */
	struct standin_total *stip_cards, *stip_merchants;
	bool stip_used;
	uint32_t stip_auth;
	uint64_t next_checkpoint_ns;
	struct control_counters c;
};

enum { WAIT_SEND, WAIT_RELEASE };

/* Stand-in totals by card number or merchant id, until the advices are
 * settled: open addressing, fixed size; full means "no more stand-in". */
#define STIP_TABLE 65536
#define STIP_KEY_MAX 19          /* a PAN (n..19) or a merchant id (15) */

struct standin_total {
	uint8_t used, len;
	uint8_t key[STIP_KEY_MAX];
	uint64_t amount;
};

struct durable_wait {
	struct auth_request *rec;
	uint64_t seq;
	uint8_t action;
};

struct control_plane *
control_plane_create(const struct control_config *cfg,
		     struct handoff_channel *channels, unsigned int n_workers,
		     struct journal *journal)
{
	struct control_plane *cp = calloc(1, sizeof(*cp));
	struct addrinfo hints = { .ai_family = AF_INET, .ai_socktype = SOCK_STREAM };
	struct addrinfo *ai = NULL;
	char port[8];

	if (cp == NULL)
		return NULL;
	cp->cfg = *cfg;
	cp->journal = journal;
	cp->channels = channels;
	cp->n_workers = n_workers;
	cp->timeout_ns = (uint64_t)cfg->bank_timeout_ms * 1000000ull;
	cp->n_banks = cfg->n_banks ? cfg->n_banks : 1;
	for (unsigned int bi = 0; bi < cp->n_banks; bi++) {
		const struct bank_endpoint *ep = &cfg->banks[bi];
		struct bank *b = &cp->banks[bi];

		b->cp = cp;
		b->index = (uint8_t)bi;
		b->n_links = ep->connections < CONTROL_LINKS_MAX ? ep->connections :
			     CONTROL_LINKS_MAX;
		breaker_init(&b->breaker, &cfg->breaker, clock_mono_ns());
		snprintf(port, sizeof(port), "%u", ep->port);
		if (getaddrinfo(ep->host, port, &hints, &ai) != 0 || ai == NULL) {
			fprintf(stderr, "control: cannot resolve bank %s host '%s'\n", ep->name,
				ep->host);
			ai = NULL;
			goto fail;
		}
		for (unsigned int i = 0; i < b->n_links; i++)
			if (bank_link_init(&b->links[i], (struct sockaddr_in *)ai->ai_addr) != 0)
				goto fail;
		freeaddrinfo(ai);
		ai = NULL;
	}
	cp->pending = bank_pending_create(cfg->inflight_max);
	cp->backlog_cap = cfg->inflight_max + 1024 * n_workers + CONTROL_BURST;
	cp->backlog = calloc(cp->backlog_cap, sizeof(*cp->backlog));
	cp->wait_cap = cp->backlog_cap;
	cp->wait = calloc(cp->wait_cap, sizeof(*cp->wait));
	cp->reversals = owed_queue_create(cfg->reversals_max ? cfg->reversals_max : 1024,
		(uint64_t)(cfg->reversal_retry_ms ? cfg->reversal_retry_ms : 1000) * 1000000ull);
	if (cp->pending == NULL || cp->backlog == NULL || cp->wait == NULL ||
	    cp->reversals == NULL)
		goto fail;
	cp->advices = owed_queue_create(cfg->reversals_max ? cfg->reversals_max : 1024,
		(uint64_t)(cfg->reversal_retry_ms ? cfg->reversal_retry_ms : 1000) * 1000000ull);
	cp->stip_cards = calloc(STIP_TABLE, sizeof(*cp->stip_cards));
	cp->stip_merchants = calloc(STIP_TABLE, sizeof(*cp->stip_merchants));
	if (cp->advices == NULL || cp->stip_cards == NULL || cp->stip_merchants == NULL)
		goto fail;
	return cp;
fail:
	if (ai)
		freeaddrinfo(ai);
	control_plane_destroy(cp);
	return NULL;
}

void
control_plane_destroy(struct control_plane *cp)
{
	if (cp == NULL)
		return;
	for (unsigned int bi = 0; bi < cp->n_banks; bi++)
		for (unsigned int i = 0; i < cp->banks[bi].n_links; i++)
			bank_link_fini(&cp->banks[bi].links[i]);
	bank_pending_destroy(cp->pending);
	owed_queue_destroy(cp->reversals);
	owed_queue_destroy(cp->advices);
	free(cp->stip_cards);
	free(cp->stip_merchants);
	free(cp->backlog);
	free(cp->wait);
	free(cp);
}

unsigned int
control_plane_bank_count(const struct control_plane *cp)
{
	return cp->n_banks;
}

void
control_plane_bank_info(const struct control_plane *cp, unsigned int bank,
			struct bank_info *out)
{
	const struct bank *b = &cp->banks[bank < cp->n_banks ? bank : 0];
	const struct bank_endpoint *ep = &cp->cfg.banks[b->index];

	memset(out, 0, sizeof(*out));
	snprintf(out->name, sizeof(out->name), "%s", ep->name);
	snprintf(out->host, sizeof(out->host), "%s", ep->host);
	out->port = ep->port;
	out->breaker = (uint8_t)__atomic_load_n(&cp->bank_state[b->index], __ATOMIC_RELAXED);
	out->breaker_opened = b->opened;
	out->links = b->n_links;
	for (unsigned int i = 0; i < b->n_links; i++) {
		out->links_up += b->links[i].state == BANK_LINK_UP;
		out->disconnects += b->links[i].disconnects;
	}
	out->in_flight = b->in_flight;
	/* Shared by all banks: the gateway's totals. */
	out->waiting_durable = cp->wait_n;
	out->reversals_open = owed_queue_count(cp->reversals);
	out->advices_open = owed_queue_count(cp->advices);
	out->answered = b->latency.count;
	out->p50_us = (double)hist_quantile(&b->latency, 0.5) / 1e3;
	out->p99_us = (double)hist_quantile(&b->latency, 0.99) / 1e3;
	out->p999_us = (double)hist_quantile(&b->latency, 0.999) / 1e3;
	out->max_us = (double)b->latency.max / 1e3;
	out->timeouts = b->timeouts;
	out->unavailable = b->unavailable;
	out->garbage = cp->c.bank_garbage;
	out->unmatched = cp->c.bank_unmatched;
}

const uint32_t *
control_plane_bank_state(const struct control_plane *cp)
{
	return cp->bank_state;
}

void
control_plane_counters(const struct control_plane *cp,
		       struct control_counters *out)
{
	if (cp == NULL) {
		memset(out, 0, sizeof(*out));
		return;
	}
	*out = cp->c;
	out->connects = out->disconnects = 0;
	for (unsigned int bi = 0; bi < cp->n_banks; bi++)
		for (unsigned int i = 0; i < cp->banks[bi].n_links; i++) {
			out->connects += cp->banks[bi].links[i].connects;
			out->disconnects += cp->banks[bi].links[i].disconnects;
		}
}

static void
give_back(struct control_plane *cp, struct auth_request *rec)
{
	if (rte_ring_sp_enqueue(cp->channels[rec->worker].to_worker, rec) == 0)
		return;
	cp->c.result_ring_full++;
	cp->backlog[cp->backlog_n++] = rec;
}

static unsigned int
retry_backlog(struct control_plane *cp)
{
	uint32_t kept = 0, n = cp->backlog_n;

	for (uint32_t i = 0; i < n; i++) {
		struct auth_request *rec = cp->backlog[i];

		if (rte_ring_sp_enqueue(cp->channels[rec->worker].to_worker, rec) != 0)
			cp->backlog[kept++] = rec;
	}
	cp->backlog_n = kept;
	return n - kept;
}

static void
fail_request(struct control_plane *cp, struct auth_request *rec, uint8_t outcome)
{
	rec->outcome = outcome;
	if (outcome == AUTH_OUTCOME_UNAVAILABLE)
		cp->c.unavailable++;
	give_back(cp, rec);
}

/* The request as the bank link wants it: as is, or with its bitmap
 * re-encoded when the two sides differ. */
static int
bank_bytes(struct control_plane *cp, struct auth_request *rec, uint8_t *out,
	   const uint8_t **msg)
{
	struct iso_msg m;
	struct iso_builder b;

	if (rec->enc == cp->cfg.bank_enc) {
		*msg = rec->msg;
		return rec->msg_len;
	}
	if (iso_parse(&m, rec->msg, rec->msg_len, (enum iso_bitmap_enc)rec->enc) != ISO_PARSE_OK)
		return -1;
	iso_build_begin(&b, out, ISO_MSG_MAX, (enum iso_bitmap_enc)cp->cfg.bank_enc,
			m.mti, m.declared[0] & 1);
	for (unsigned int n = 2; n <= ISO_FIELD_MAX; n++)
		iso_build_copy(&b, &m, n);
	*msg = out;
	return iso_build_end(&b);
}

/* Journal a record about key; returns its seq (1 without a journal: it
 * counts as durable at once), 0 if refused. */
static uint64_t
journal_rec(struct control_plane *cp, uint8_t type, const struct auth_key *key,
	    const struct auth_request *rec, const uint8_t *msg, uint16_t len)
{
	struct journal_entry e;

	if (cp->journal == NULL)
		return 1;
	e.type = type;
	e.time_ns = clock_real_ns();
	e.key = *key;
	e.enc = cp->cfg.bank_enc;
	e.outcome = rec ? rec->outcome : 0;
	/* A stand-in approval is ours, marked by its outcome and 'S' code. */
	e.has_auth_code = rec ? rec->has_auth_code : 0;
	memset(e.rc, '0', 2);
	memset(e.auth_code, ' ', ISO_AUTH_CODE_LEN);
	if (rec) {
		const char *rc = (rec->outcome == AUTH_OUTCOME_BANK ||
				  rec->outcome == AUTH_OUTCOME_STANDIN) ? rec->rc :
				 rec->outcome == AUTH_OUTCOME_ERROR ? "96" : "91";

		memcpy(e.rc, rc, 2);
		if (rec->has_auth_code)
			memcpy(e.auth_code, rec->auth_code, ISO_AUTH_CODE_LEN);
	}
	e.msg_len = msg ? len : 0;
	if (msg)
		memcpy(e.msg, msg, len);
	return journal_append(cp->journal, &e);
}

/* Declines the workers decided, journalled as they come: nothing waits
 * for them, and a refused append only loses the note. */
static unsigned int
journal_declines(struct control_plane *cp)
{
	struct decline_note *notes[CONTROL_BURST * 2];
	unsigned int total = 0;

	for (unsigned int w = 0; w < cp->n_workers; w++) {
		struct handoff_channel *ch = &cp->channels[w];
		unsigned int n;

		if (ch->to_journal == NULL)
			continue;
		n = rte_ring_sc_dequeue_burst(ch->to_journal, (void **)notes, RTE_DIM(notes), NULL);
		for (unsigned int i = 0; i < n && cp->journal; i++) {
			struct journal_entry e;

			memset(&e, 0, sizeof(e));
			e.type = JOURNAL_DECISION;
			e.outcome = AUTH_OUTCOME_DATAPLANE;
			e.time_ns = clock_real_ns();
			e.key = notes[i]->key;
			memcpy(e.rc, notes[i]->rc, 2);
			memset(e.auth_code, ' ', ISO_AUTH_CODE_LEN);
			if (journal_append(cp->journal, &e))
				cp->c.declines_journalled++;
		}
		if (n)
			rte_mempool_put_bulk(ch->note_pool, (void **)notes, n);
		total += n;
	}
	return total;
}

static uint64_t
durable(const struct control_plane *cp)
{
	return cp->journal ? journal_durable(cp->journal) : UINT64_MAX;
}

static void
wait_push(struct control_plane *cp, struct auth_request *rec, uint64_t seq,
	  uint8_t action)
{
	struct durable_wait *w = &cp->wait[(cp->wait_head + cp->wait_n++) % cp->wait_cap];

	w->rec = rec;
	w->seq = seq;
	w->action = action;
}

/* Owe the bank a reversal of this request (msg in the bank's encoding):
 * journalled first, sent once durable. */
static void
owe_reversal(struct control_plane *cp, const uint8_t *msg, uint16_t len, uint64_t now)
{
	struct owed_msg *r = owed_queue_add_reversal(cp->reversals, msg, len, cp->cfg.bank_enc, now);

	if (r == NULL) {
		cp->c.reversal_queue_full++;
		return;
	}
	cp->c.reversals_queued++;
	r->seq = journal_rec(cp, JOURNAL_REVERSAL_SENT, &r->key, NULL, r->msg, r->len);
	if (r->seq == 0) {
		/* Not recorded: send it anyway, it is the safe direction. */
		cp->c.journal_refused++;
		r->seq = 1;
	}
}

static struct standin_total *
stip_find(struct standin_total *t, const uint8_t *key, uint8_t len)
{
	uint64_t i = XXH3_64bits(key, len) & (STIP_TABLE - 1);

	for (unsigned int probe = 0; probe < 64; probe++, i = (i + 1) & (STIP_TABLE - 1)) {
		if (!t[i].used) {
			t[i].used = 1;
			t[i].len = len;
			memcpy(t[i].key, key, len);
			t[i].amount = 0;
			return &t[i];
		}
		if (t[i].len == len && memcmp(t[i].key, key, len) == 0)
			return &t[i];
	}
	return NULL;
}

/* The 0120: the request as it went, plus 38 (our stand-in code) and 39. */
static int
build_advice(struct control_plane *cp, const struct iso_msg *m, const char auth[6],
	     uint8_t *out, size_t cap)
{
	struct iso_builder b;

	iso_build_begin(&b, out, cap, (enum iso_bitmap_enc)cp->cfg.bank_enc, 120,
			m->declared[0] & 1);
	for (unsigned int n = 2; n <= ISO_FIELD_MAX; n++) {
		if (n == 38)
			iso_build_field(&b, 38, auth, 6);
		else if (n == 39)
			iso_build_field(&b, 39, "00", 2);
		else
			iso_build_copy(&b, m, n);
	}
	return iso_build_end(&b);
}

/*
 * The bank is unavailable: approve within the stand-in limits (per request,
 * per card and per merchant, counted until the advices are settled), with
 * an auth code marked as ours ('S'), journalled, and owe the bank an
 * advice. Otherwise 91.
 */
static void
stand_in(struct control_plane *cp, struct auth_request *rec, uint64_t now)
{
	const struct standin_config *sc = &cp->cfg.standin;
	uint8_t advice[ISO_MSG_MAX];
	struct standin_total *card, *merchant;
	struct iso_msg m;
	uint64_t amount, seq;

	iso_parse(&m, rec->msg, rec->msg_len, (enum iso_bitmap_enc)rec->enc);
	if (m.status != ISO_PARSE_OK || (m.mti != 100 && m.mti != 200) || !iso_has(&m, 2) ||
	    iso_field_len(&m, 2) > STIP_KEY_MAX || !iso_has(&m, 42) ||
	    !iso_field_u64(&m, 4, &amount))
		return fail_request(cp, rec, AUTH_OUTCOME_UNAVAILABLE);
	card = stip_find(cp->stip_cards, iso_field_ptr(&m, 2), (uint8_t)iso_field_len(&m, 2));
	merchant = stip_find(cp->stip_merchants, iso_field_ptr(&m, 42),
			     (uint8_t)iso_field_len(&m, 42));
	cp->stip_used = true;
	if (card == NULL || merchant == NULL || amount > sc->max_amount ||
	    card->amount + amount > sc->card_limit ||
	    merchant->amount + amount > sc->merchant_limit) {
		cp->c.standin_over_limit++;
		return fail_request(cp, rec, AUTH_OUTCOME_UNAVAILABLE);
	}
	char code[16];

	cp->stip_auth = cp->stip_auth % 99999 + 1;
	snprintf(code, sizeof(code), "S%05u", cp->stip_auth);
	memcpy(rec->auth_code, code, ISO_AUTH_CODE_LEN);
	rec->has_auth_code = 1;
	rec->outcome = AUTH_OUTCOME_STANDIN;
	memcpy(rec->rc, "00", 2);

	int n = build_advice(cp, &m, rec->auth_code, advice, sizeof(advice));
	struct owed_msg *adv = n > 0 ? owed_queue_add(cp->advices, advice, (uint16_t)n,
						      cp->cfg.bank_enc, now) : NULL;

	if (adv == NULL) {
		cp->c.standin_over_limit++;
		return fail_request(cp, rec, AUTH_OUTCOME_UNAVAILABLE);
	}
	/* The request (so that recovery can answer its retransmissions), the
	 * advice, then the decision: if the decision is durable, so is the
	 * debt. */
	uint8_t scratch[ISO_MSG_MAX];
	const uint8_t *req;
	int req_len = bank_bytes(cp, rec, scratch, &req);

	adv->seq = req_len > 0 && journal_rec(cp, JOURNAL_REQUEST, &rec->key, NULL, req,
					      (uint16_t)req_len) ?
		journal_rec(cp, JOURNAL_ADVICE_SENT, &adv->key, NULL, adv->msg, adv->len) : 0;
	seq = adv->seq ? journal_rec(cp, JOURNAL_DECISION, &rec->key, rec, NULL, 0) : 0;
	if (seq == 0) {
		struct auth_key k;

		owed_queue_ack(cp->advices, &adv->key, &k);
		cp->c.journal_refused++;
		rec->has_auth_code = 0;
		return fail_request(cp, rec, AUTH_OUTCOME_ERROR);
	}
	card->amount += amount;
	merchant->amount += amount;
	cp->c.standin_approved++;
	cp->c.approvals_durable_wait++;
	wait_push(cp, rec, seq, WAIT_RELEASE);
}

static void
send_now(struct control_plane *cp, struct auth_request *rec, uint64_t now)
{
	uint8_t scratch[ISO_MSG_MAX];
	const uint8_t *msg;
	int len = bank_bytes(cp, rec, scratch, &msg);

	struct bank *b = &cp->banks[rec->bank < cp->n_banks ? rec->bank : 0];

	if (len <= 0)
		return fail_request(cp, rec, AUTH_OUTCOME_ERROR);
	for (unsigned int tries = 0; tries < b->n_links; tries++) {
		unsigned int li = b->next_link++ % b->n_links;

		if (b->links[li].state != BANK_LINK_UP)
			continue;
		int r = bank_pending_insert(cp->pending, rec, now + cp->timeout_ns,
					    (uint16_t)(b->index * CONTROL_LINKS_MAX + li));

		if (r == -2) /* workers absorb duplicates; this is a bug upstream */
			return fail_request(cp, rec, AUTH_OUTCOME_ERROR);
		if (r != 0)
			return fail_request(cp, rec, AUTH_OUTCOME_UNAVAILABLE);
		if (bank_link_send(&b->links[li], msg, (uint16_t)len)) {
			cp->c.bank_tx++;
			b->in_flight++;
			rec->bank_sent_ns = now;
			return;
		}
		bank_pending_take(cp->pending, &rec->key);
	}
	/* Journalled as handed to the bank but never sent: say so, so that
	 * recovery does not reverse what the bank never saw. */
	breaker_failure(&b->breaker, now);
	if (cp->cfg.standin.enabled)
		return stand_in(cp, rec, now);
	b->unavailable++;
	rec->outcome = AUTH_OUTCOME_UNAVAILABLE;
	journal_rec(cp, JOURNAL_DECISION, &rec->key, rec, NULL, 0);
	fail_request(cp, rec, AUTH_OUTCOME_UNAVAILABLE);
}

static void
submit(struct control_plane *cp, struct auth_request *rec, uint64_t now)
{
	uint8_t scratch[ISO_MSG_MAX];
	const uint8_t *msg;
	int len;
	uint64_t seq;

	cp->c.handoff_rx++;
	/* Handed off before the workers saw the breaker open. */
	struct bank *bk = &cp->banks[rec->bank < cp->n_banks ? rec->bank : 0];

	if (bk->breaker.state != BREAKER_CLOSED) {
		if (cp->cfg.standin.enabled)
			return stand_in(cp, rec, now);
		cp->c.breaker_rejected++;
		bk->unavailable++;
		return fail_request(cp, rec, AUTH_OUTCOME_UNAVAILABLE);
	}
	if (bank_pending_count(cp->pending) + cp->wait_n >= cp->cfg.inflight_max)
		return fail_request(cp, rec, AUTH_OUTCOME_UNAVAILABLE);
	len = bank_bytes(cp, rec, scratch, &msg);
	if (len <= 0)
		return fail_request(cp, rec, AUTH_OUTCOME_ERROR);
	seq = journal_rec(cp, JOURNAL_REQUEST, &rec->key, NULL, msg, (uint16_t)len);
	if (seq == 0) {
		cp->c.journal_refused++;
		return fail_request(cp, rec, AUTH_OUTCOME_ERROR);
	}
	if (cp->journal == NULL)
		return send_now(cp, rec, now);
	wait_push(cp, rec, seq, WAIT_SEND);
}

/* What the journal has made durable goes on: requests to the bank,
 * approvals to their worker. */
static unsigned int
release_durable(struct control_plane *cp, uint64_t now)
{
	uint64_t d = durable(cp);
	unsigned int n = 0;

	while (cp->wait_n && cp->wait[cp->wait_head].seq <= d) {
		struct durable_wait *w = &cp->wait[cp->wait_head];

		cp->wait_head = (cp->wait_head + 1) % cp->wait_cap;
		cp->wait_n--;
		if (w->action == WAIT_SEND)
			send_now(cp, w->rec, now);
		else
			give_back(cp, w->rec);
		n++;
	}
	return n;
}

/* The bank a reversal or advice goes to: its card's issuer. */
static struct bank *
owed_bank(struct control_plane *cp, const struct owed_msg *r)
{
	struct iso_msg m;
	uint8_t bi = 0;

	iso_parse(&m, r->msg, r->len, (enum iso_bitmap_enc)r->enc);
	if (iso_has(&m, 2))
		bi = bin_route(&cp->cfg.routes, iso_field_ptr(&m, 2), iso_field_len(&m, 2));
	return &cp->banks[bi < cp->n_banks ? bi : 0];
}

static unsigned int
send_owed(struct control_plane *cp, struct owed_queue *q, uint64_t *counter, uint64_t now,
	  bool advices)
{
	struct owed_msg *r;
	unsigned int n = 0;
	uint64_t d = durable(cp);

	while ((r = owed_queue_due(q, now, d)) != NULL) {
		struct bank *b = owed_bank(cp, r);
		bool sent = false;

		/* Advices only to a bank that answers again. */
		for (unsigned int tries = 0; tries < b->n_links && !sent &&
		     (!advices || b->breaker.state == BREAKER_CLOSED); tries++) {
			unsigned int li = b->next_link++ % b->n_links;

			if (b->links[li].state == BANK_LINK_UP)
				sent = bank_link_send(&b->links[li], r->msg, r->len);
		}
		/* Unsent, it is tried again after the interval, still as the
		 * first send (0400, 0120); sent, the next one is a repeat. */
		if (!sent) {
			owed_queue_postpone(q, r, now);
			continue;
		}
		owed_queue_sent(q, r, now);
		(*counter)++;
		n++;
	}
	return n;
}

static unsigned int
send_reversals(struct control_plane *cp, uint64_t now)
{
	unsigned int n = send_owed(cp, cp->reversals, &cp->c.reversals_sent, now, false);

	/* Stand-in totals start afresh once every advice is settled. */
	n += send_owed(cp, cp->advices, &cp->c.advices_sent, now, true);
	if (cp->stip_used && owed_queue_count(cp->advices) == 0) {
		memset(cp->stip_cards, 0, STIP_TABLE * sizeof(*cp->stip_cards));
		memset(cp->stip_merchants, 0, STIP_TABLE * sizeof(*cp->stip_merchants));
		cp->stip_used = false;
	}
	return n;
}

int
control_plane_reverse_orphan(struct control_plane *cp, const uint8_t *msg,
			     uint16_t len, uint8_t enc)
{
	struct auth_request rec;
	struct iso_msg m;

	memset(&rec, 0, sizeof(rec));
	iso_parse(&m, msg, len, (enum iso_bitmap_enc)enc);
	if (m.status != ISO_PARSE_OK || !auth_key_from_msg(&m, &rec.key) ||
	    enc != cp->cfg.bank_enc)
		return -1;
	rec.outcome = AUTH_OUTCOME_TIMEOUT;
	if (journal_rec(cp, JOURNAL_DECISION, &rec.key, &rec, NULL, 0) == 0)
		return -1;
	uint64_t before = cp->c.reversals_queued;

	owe_reversal(cp, msg, len, clock_mono_ns());
	return cp->c.reversals_queued > before ? 0 : -1;
}

int
control_plane_resume_advice(struct control_plane *cp, const uint8_t *msg,
			    uint16_t len, uint8_t enc)
{
	struct owed_msg *r = owed_queue_restore(cp->advices, msg, len, enc, clock_mono_ns());
	struct standin_total *card, *merchant;
	struct iso_msg m;
	uint64_t amount;

	if (r == NULL)
		return -1;
	r->seq = 0; /* already durable */
	/* Until it is settled, it still counts against the stand-in limits. */
	iso_parse(&m, r->msg, r->len, (enum iso_bitmap_enc)enc);
	if (m.status == ISO_PARSE_OK && iso_has(&m, 2) && iso_field_len(&m, 2) <= STIP_KEY_MAX &&
	    iso_has(&m, 42) && iso_field_len(&m, 42) <= STIP_KEY_MAX &&
	    iso_field_u64(&m, 4, &amount)) {
		card = stip_find(cp->stip_cards, iso_field_ptr(&m, 2), (uint8_t)iso_field_len(&m, 2));
		merchant = stip_find(cp->stip_merchants, iso_field_ptr(&m, 42),
				     (uint8_t)iso_field_len(&m, 42));
		if (card)
			card->amount += amount;
		if (merchant)
			merchant->amount += amount;
		cp->stip_used = true;
	}
	return 0;
}

int
control_plane_resume_reversal(struct control_plane *cp, const uint8_t *msg,
			      uint16_t len, uint8_t enc)
{
	struct owed_msg *r = owed_queue_restore(cp->reversals, msg, len, enc, clock_mono_ns());

	if (r == NULL) {
		cp->c.reversal_queue_full++;
		return -1;
	}
	cp->c.reversals_queued++;
	r->seq = 0; /* already durable */
	return 0;
}

static void
on_bank_message(void *ctx, const uint8_t *buf, uint16_t len)
{
	struct bank *b = ctx;
	struct control_plane *cp = b->cp;
	struct iso_msg m;
	struct auth_key key;
	struct auth_request *rec;

	cp->c.bank_rx++;
	iso_parse(&m, buf, len, (enum iso_bitmap_enc)cp->cfg.bank_enc);
	if (m.status == ISO_PARSE_OK && m.mti == 810) {
		cp->c.echo_answered++;
		b->probe_sent_ns = 0;
		breaker_success(&b->breaker, clock_mono_ns());
		return;
	}
	if (m.status != ISO_PARSE_OK || !auth_key_from_msg(&m, &key)) {
		cp->c.bank_garbage++;
		breaker_failure(&b->breaker, clock_mono_ns());
		return;
	}
	if (m.mti == 410 || m.mti == 130) {
		struct auth_key orig;
		bool rev = m.mti == 410;

		if (owed_queue_ack(rev ? cp->reversals : cp->advices, &key, &orig)) {
			if (rev)
				cp->c.reversals_acked++;
			else
				cp->c.advices_acked++;
			journal_rec(cp, rev ? JOURNAL_REVERSAL_ACK : JOURNAL_ADVICE_ACK, &key,
				    NULL, NULL, 0);
			breaker_success(&b->breaker, clock_mono_ns());
			return;
		}
	}
	rec = bank_pending_take(cp->pending, &key);
	if (rec == NULL) {
		/* Late: it timed out, was answered 91 and is being reversed. */
		cp->c.bank_unmatched++;
		if (m.mti == 110 || m.mti == 210)
			cp->c.late_answers++;
		return;
	}
	cp->c.bank_matched++;
	cp->banks[rec->bank < cp->n_banks ? rec->bank : 0].in_flight--;
	uint64_t t = clock_mono_ns();

	breaker_success(&b->breaker, t);
	if (rec->bank_sent_ns && t > rec->bank_sent_ns)
		hist_record(&b->latency, t - rec->bank_sent_ns);
	if (!iso_has(&m, 39) || iso_field_len(&m, 39) != 2 || !iso_field_valid(&m, 39) ||
	    iso_field_ptr(&m, 39)[0] < '0' || iso_field_ptr(&m, 39)[0] > '9' ||
	    iso_field_ptr(&m, 39)[1] < '0' || iso_field_ptr(&m, 39)[1] > '9') {
		rec->outcome = AUTH_OUTCOME_ERROR;
	} else {
		rec->outcome = AUTH_OUTCOME_BANK;
		memcpy(rec->rc, iso_field_ptr(&m, 39), 2);
		rec->has_auth_code = rec->rc[0] == '0' && rec->rc[1] == '0' &&
				     iso_has(&m, 38) && iso_field_len(&m, 38) == ISO_AUTH_CODE_LEN;
		if (rec->has_auth_code)
			memcpy(rec->auth_code, iso_field_ptr(&m, 38), ISO_AUTH_CODE_LEN);
	}
	journal_rec(cp, JOURNAL_BANK_ANSWER, &rec->key, rec, NULL, 0);

	uint64_t seq = journal_rec(cp, JOURNAL_DECISION, &rec->key, rec, NULL, 0);
	bool approval = rec->outcome == AUTH_OUTCOME_BANK && rec->rc[0] == '0' &&
			rec->rc[1] == '0';

	if (!approval)
		return give_back(cp, rec);
	if (seq == 0) {
		/* Approved by the bank, but we cannot make that durable: never
		 * answer an approval we could forget. 96, and undo it. */
		uint8_t scratch[ISO_MSG_MAX];
		const uint8_t *msg;
		int n = bank_bytes(cp, rec, scratch, &msg);

		cp->c.journal_refused++;
		if (n > 0)
			owe_reversal(cp, msg, (uint16_t)n, clock_mono_ns());
		rec->outcome = AUTH_OUTCOME_ERROR;
		rec->has_auth_code = 0;
		return give_back(cp, rec);
	}
	if (cp->journal == NULL)
		return give_back(cp, rec);
	cp->c.approvals_durable_wait++;
	wait_push(cp, rec, seq, WAIT_RELEASE);
}

/* 91 to the client, and the bank may have approved it: reverse. */
static void
timed_out(struct control_plane *cp, struct auth_request *rec, uint64_t now)
{
	struct bank *b = &cp->banks[rec->bank < cp->n_banks ? rec->bank : 0];
	uint8_t scratch[ISO_MSG_MAX];
	const uint8_t *msg;
	int n;

	cp->c.timeouts++;
	b->timeouts++;
	b->in_flight--;
	breaker_failure(&b->breaker, now);
	rec->outcome = AUTH_OUTCOME_TIMEOUT;
	journal_rec(cp, JOURNAL_DECISION, &rec->key, rec, NULL, 0);
	n = bank_bytes(cp, rec, scratch, &msg);
	if (n > 0)
		owe_reversal(cp, msg, (uint16_t)n, now);
	give_back(cp, rec);
}

static int
build_echo(struct control_plane *cp, uint8_t *msg, size_t cap)
{
	struct iso_builder b;
	char f7[10], f11[16];

	iso_transmission_time(f7, time(NULL));
	cp->probe_stan = cp->probe_stan % 999999 + 1;
	snprintf(f11, sizeof(f11), "%06u", cp->probe_stan % 1000000);
	iso_build_begin(&b, msg, cap, (enum iso_bitmap_enc)cp->cfg.bank_enc, 800, true);
	iso_build_field(&b, 7, f7, 10);
	iso_build_field(&b, 11, f11, 6);
	iso_build_field(&b, 70, "301", 3);
	return iso_build_end(&b);
}

/* A link that has been silent for keepalive_ms gets an 0800; one that
 * leaves it unanswered for a request timeout is closed and reconnected. */
static void
keepalive(struct control_plane *cp, uint64_t now)
{
	uint64_t ka = (uint64_t)cp->cfg.keepalive_ms * 1000000ull;

	if (ka == 0)
		return;
	for (unsigned int x = 0; x < cp->n_banks * CONTROL_LINKS_MAX; x++) {
		struct bank *bk = &cp->banks[x / CONTROL_LINKS_MAX];
		unsigned int i = x % CONTROL_LINKS_MAX;

		if (x / CONTROL_LINKS_MAX >= cp->n_banks || i >= bk->n_links)
			continue;
		struct bank_link *l = &bk->links[i];
		uint8_t msg[64];
		int n;

		if (l->state != BANK_LINK_UP)
			continue;
		if (l->echo_sent_ns && now - l->echo_sent_ns > cp->timeout_ns) {
			cp->c.keepalive_failed++;
			bank_link_close(l, now);
			breaker_failure(&bk->breaker, now);
		} else if (!l->echo_sent_ns && now - l->last_rx_ns > ka &&
			   (n = build_echo(cp, msg, sizeof(msg))) > 0 &&
			   bank_link_send(l, msg, (uint16_t)n)) {
			l->echo_sent_ns = now;
			cp->c.keepalive_sent++;
		}
	}
}

/* Half-open: one 0800 echo at a time decides whether the bank is back;
 * an echo unanswered within the request timeout counts as a failure. */
static unsigned int
breaker_service(struct control_plane *cp, struct bank *b, uint64_t now)
{
	enum breaker_state s = breaker_tick(&b->breaker, now);
	unsigned int work = 0;

	if (s == BREAKER_HALF_OPEN && b->probe_sent_ns &&
	    now - b->probe_sent_ns > cp->timeout_ns) {
		b->probe_sent_ns = 0;
		breaker_failure(&b->breaker, now);
	} else if (s == BREAKER_HALF_OPEN && b->probe_sent_ns == 0) {
		uint8_t msg[64];
		int n = build_echo(cp, msg, sizeof(msg));

		for (unsigned int i = 0; i < b->n_links && n > 0; i++) {
			unsigned int li = b->next_link++ % b->n_links;

			if (b->links[li].state == BANK_LINK_UP &&
			    bank_link_send(&b->links[li], msg, (uint16_t)n)) {
				b->probe_sent_ns = now;
				cp->c.echo_sent++;
				work++;
				break;
			}
		}
	}
	s = b->breaker.state;
	if (s != cp->bank_state[b->index]) {
		if (s == BREAKER_OPEN) {
			cp->c.breaker_opened++;
			b->opened++;
		}
		if (s != BREAKER_HALF_OPEN)
			b->probe_sent_ns = 0;
		fprintf(stderr, "control: bank %s breaker %s -> %s\n", cp->cfg.banks[b->index].name,
			breaker_state_name[cp->bank_state[b->index]], breaker_state_name[s]);
		__atomic_store_n(&cp->bank_state[b->index], (uint32_t)s, __ATOMIC_RELEASE);
	}
	return work;
}

static void
checkpoint_owed(void *ctx, const struct owed_msg *m)
{
	journal_rec(ctx, JOURNAL_CHECKPOINT_OWED, &m->key, NULL, m->msg, m->len);
}

/* Every checkpoint_ms: what is still owed to the banks, then a marker.
 * Recovery can start at a checkpoint older than the idempotency TTL, and
 * the segments before it are archived: recovery time stays bounded by
 * TTL x rate, not by the journal's age. */
static void
checkpoint(struct control_plane *cp, uint64_t now)
{
	struct auth_key none;

	if (cp->journal == NULL || cp->cfg.checkpoint_ms == 0 || now < cp->next_checkpoint_ns)
		return;
	cp->next_checkpoint_ns = now + (uint64_t)cp->cfg.checkpoint_ms * 1000000ull;
	memset(&none, 0, sizeof(none));
	owed_queue_each(cp->reversals, checkpoint_owed, cp);
	owed_queue_each(cp->advices, checkpoint_owed, cp);
	journal_rec(cp, JOURNAL_CHECKPOINT, &none, NULL, NULL, 0);
}

/* With nothing at the bank, an idle control thread backs off to this
 * sleep, so that a quiet gateway does not wake a core 50 000 times a
 * second; with requests pending it sleeps only idle_sleep_us. */
#define CONTROL_IDLE_SLEEP_MAX_US 500

int
control_plane_run(struct control_plane *cp, volatile bool *quit)
{
	struct auth_request *recs[CONTROL_BURST];
	uint32_t sleep_us = cp->cfg.idle_sleep_us;

	while (!*quit) {
		uint64_t now = clock_mono_ns();
		unsigned int work = 0;
		struct auth_request *rec;

		for (unsigned int bi = 0; bi < cp->n_banks; bi++)
			for (unsigned int i = 0; i < cp->banks[bi].n_links; i++)
				bank_link_service(&cp->banks[bi].links[i], now);
		if (cp->backlog_n)
			work += retry_backlog(cp);
		for (unsigned int w = 0; w < cp->n_workers; w++) {
			unsigned int n = rte_ring_sc_dequeue_burst(cp->channels[w].to_control,
				(void **)recs, CONTROL_BURST, NULL);

			for (unsigned int i = 0; i < n; i++)
				submit(cp, recs[i], now);
			work += n;
		}
		keepalive(cp, now);
		checkpoint(cp, now);
		for (unsigned int bi = 0; bi < cp->n_banks; bi++)
			work += breaker_service(cp, &cp->banks[bi], now);
		work += release_durable(cp, now);
		work += journal_declines(cp);
		work += send_reversals(cp, now);
		for (unsigned int bi = 0; bi < cp->n_banks; bi++) {
			struct bank *b = &cp->banks[bi];

			for (unsigned int i = 0; i < b->n_links; i++) {
				uint64_t before = cp->c.bank_rx;

				bank_link_read(&b->links[i], now, on_bank_message, b);
				work += (unsigned int)(cp->c.bank_rx - before);
				bank_link_flush(&b->links[i], now);
			}
		}
		while ((rec = bank_pending_expire(cp->pending, now)) != NULL) {
			timed_out(cp, rec, now);
			work++;
		}
		if (work > 0 || bank_pending_count(cp->pending) > 0 || cp->wait_n) {
			sleep_us = cp->cfg.idle_sleep_us;
		} else if (cp->cfg.idle_sleep_us) {
			sleep_us = sleep_us * 2 < CONTROL_IDLE_SLEEP_MAX_US ?
				   sleep_us * 2 : CONTROL_IDLE_SLEEP_MAX_US;
		}
		if (work == 0 && sleep_us)
			usleep(sleep_us);
	}

	/* Hand everything back. Approvals waiting for the journal get a last
	 * chance to become durable; requests never sent are 91 (journalled,
	 * so recovery does not reverse them); what is still at the bank is
	 * 91 and owed a reversal, which the journal remembers. */
	struct auth_request *rec;

	for (int i = 0; i < 2000 && cp->wait_n; i++) {
		while (cp->wait_n && cp->wait[cp->wait_head].action == WAIT_SEND) {
			rec = cp->wait[cp->wait_head].rec;
			cp->wait_head = (cp->wait_head + 1) % cp->wait_cap;
			cp->wait_n--;
			rec->outcome = AUTH_OUTCOME_UNAVAILABLE;
			journal_rec(cp, JOURNAL_DECISION, &rec->key, rec, NULL, 0);
			give_back(cp, rec);
		}
		release_durable(cp, clock_mono_ns());
		if (cp->wait_n)
			usleep(1000);
	}
	while ((rec = bank_pending_pop(cp->pending)) != NULL)
		timed_out(cp, rec, clock_mono_ns());
	for (int i = 0; i < 1000 && cp->backlog_n; i++) {
		retry_backlog(cp);
		usleep(1000);
	}
	return 0;
}
