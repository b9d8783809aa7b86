/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The control-plane thread. Per loop:
 *   1. links: connect / reconnect as their backoff allows
 *   2. results that found a worker's ring full last time: retry
 *   3. hand-off rings: each request to a bank link, remembered in pending
 *   4. links: read answers, match them by auth_key, return to the worker
 *   5. links: write what was queued
 *   6. pending: the oldest requests past their deadline answered 91
 * and a short sleep when a whole loop found nothing to do.
 */
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_ring.h>

#include "bank_link.h"
#include "bank_pending.h"
#include "control_plane.h"

#define CONTROL_BURST 32
#define CONTROL_LINKS_MAX 64

struct control_plane {
	struct control_config cfg;
	struct handoff_channel *channels;
	unsigned int n_workers;
	struct bank_link links[CONTROL_LINKS_MAX];
	unsigned int n_links;
	unsigned int next_link;
	struct bank_pending *pending;
	uint64_t timeout_ns;
	/* Results waiting for room in their worker's ring; bounded by the
	 * number of records that can exist (inflight_max + ring contents). */
	struct auth_request **backlog;
	uint32_t backlog_n, backlog_cap;
	struct control_counters c;
};

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

struct control_plane *
control_plane_create(const struct control_config *cfg,
		     struct handoff_channel *channels, unsigned int n_workers)
{
	struct control_plane *cp = calloc(1, sizeof(*cp));
	struct addrinfo hints = { .ai_family = AF_INET, .ai_socktype = SOCK_STREAM };
	struct addrinfo *ai = NULL;
	char port[8];

	if (cp == NULL)
		return NULL;
	cp->cfg = *cfg;
	cp->channels = channels;
	cp->n_workers = n_workers;
	cp->timeout_ns = (uint64_t)cfg->bank_timeout_ms * 1000000ull;
	cp->n_links = cfg->bank_connections < CONTROL_LINKS_MAX ?
		      cfg->bank_connections : CONTROL_LINKS_MAX;
	snprintf(port, sizeof(port), "%u", cfg->bank_port);
	if (getaddrinfo(cfg->bank_host, port, &hints, &ai) != 0 || ai == NULL) {
		fprintf(stderr, "control: cannot resolve bank host '%s'\n", cfg->bank_host);
		free(cp);
		return NULL;
	}
	for (unsigned int i = 0; i < cp->n_links; i++)
		if (bank_link_init(&cp->links[i], (struct sockaddr_in *)ai->ai_addr) != 0)
			goto fail;
	freeaddrinfo(ai);
	ai = NULL;
	cp->pending = bank_pending_create(cfg->inflight_max);
	cp->backlog_cap = cfg->inflight_max + 1024 * n_workers + CONTROL_BURST;
	cp->backlog = calloc(cp->backlog_cap, sizeof(*cp->backlog));
	if (cp->pending == NULL || cp->backlog == NULL)
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
	for (unsigned int i = 0; i < cp->n_links; i++)
		bank_link_fini(&cp->links[i]);
	bank_pending_destroy(cp->pending);
	free(cp->backlog);
	free(cp);
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
	for (unsigned int i = 0; i < cp->n_links; i++) {
		out->connects += cp->links[i].connects;
		out->disconnects += cp->links[i].disconnects;
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

static void
submit(struct control_plane *cp, struct auth_request *rec, uint64_t now)
{
	uint8_t scratch[ISO_MSG_MAX];
	const uint8_t *msg;
	int len;

	cp->c.handoff_rx++;
	if (bank_pending_count(cp->pending) >= cp->cfg.inflight_max)
		return fail_request(cp, rec, AUTH_OUTCOME_UNAVAILABLE);
	len = bank_bytes(cp, rec, scratch, &msg);
	if (len <= 0)
		return fail_request(cp, rec, AUTH_OUTCOME_ERROR);

	for (unsigned int tries = 0; tries < cp->n_links; tries++) {
		unsigned int li = cp->next_link++ % cp->n_links;

		if (cp->links[li].state != BANK_LINK_UP)
			continue;
		int r = bank_pending_insert(cp->pending, rec, now + cp->timeout_ns,
					    (uint16_t)li);

		if (r == -2) /* workers absorb duplicates; this is a bug upstream */
			return fail_request(cp, rec, AUTH_OUTCOME_ERROR);
		if (r != 0)
			return fail_request(cp, rec, AUTH_OUTCOME_UNAVAILABLE);
		if (bank_link_send(&cp->links[li], msg, (uint16_t)len)) {
			cp->c.bank_tx++;
			return;
		}
		bank_pending_take(cp->pending, &rec->key);
	}
	fail_request(cp, rec, AUTH_OUTCOME_UNAVAILABLE);
}

static void
on_bank_message(void *ctx, const uint8_t *buf, uint16_t len)
{
	struct control_plane *cp = ctx;
	struct iso_msg m;
	struct auth_key key;
	struct auth_request *rec;

	cp->c.bank_rx++;
	iso_parse(&m, buf, len, (enum iso_bitmap_enc)cp->cfg.bank_enc);
	if (m.status != ISO_PARSE_OK || !auth_key_from_msg(&m, &key)) {
		cp->c.bank_garbage++;
		return;
	}
	rec = bank_pending_take(cp->pending, &key);
	if (rec == NULL) {
		cp->c.bank_unmatched++;
		return;
	}
	cp->c.bank_matched++;
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
	give_back(cp, rec);
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
		uint64_t now = now_ns();
		unsigned int work = 0;
		struct auth_request *rec;

		for (unsigned int i = 0; i < cp->n_links; i++)
			bank_link_service(&cp->links[i], now);
		if (cp->backlog_n)
			work += retry_backlog(cp);
		for (unsigned int w = 0; w < cp->n_workers; w++) {
			unsigned int n = rte_ring_sc_dequeue_burst(cp->channels[w].to_control,
				(void **)recs, CONTROL_BURST, NULL);

			for (unsigned int i = 0; i < n; i++)
				submit(cp, recs[i], now);
			work += n;
		}
		for (unsigned int i = 0; i < cp->n_links; i++) {
			uint64_t before = cp->c.bank_rx;

			bank_link_read(&cp->links[i], now, on_bank_message, cp);
			work += (unsigned int)(cp->c.bank_rx - before);
			bank_link_flush(&cp->links[i], now);
		}
		while ((rec = bank_pending_expire(cp->pending, now)) != NULL) {
			cp->c.timeouts++;
			rec->outcome = AUTH_OUTCOME_TIMEOUT;
			give_back(cp, rec);
			work++;
		}
		if (work > 0 || bank_pending_count(cp->pending) > 0) {
			sleep_us = cp->cfg.idle_sleep_us;
		} else if (cp->cfg.idle_sleep_us) {
			sleep_us = sleep_us * 2 < CONTROL_IDLE_SLEEP_MAX_US ?
				   sleep_us * 2 : CONTROL_IDLE_SLEEP_MAX_US;
		}
		if (work == 0 && sleep_us)
			usleep(sleep_us);
	}

	/* Hand everything back: what is still at the bank is answered 91. */
	struct auth_request *rec;

	while ((rec = bank_pending_pop(cp->pending)) != NULL) {
		cp->c.timeouts++;
		rec->outcome = AUTH_OUTCOME_TIMEOUT;
		give_back(cp, rec);
	}
	for (int i = 0; i < 1000 && cp->backlog_n; i++) {
		retry_backlog(cp);
		usleep(1000);
	}
	return 0;
}
