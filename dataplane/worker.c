/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The worker poll loop, shaped as l3fwd's. Per loop, with the shard map
 * read once:
 *
 *   results     bank outcomes from the control plane (they waited longest)
 *   exchange    frames and outcomes from other workers; move orders
 *   rx          a burst from each port
 *   flush       hand-offs, frames for other workers, TX
 *   quiescent   the RCU grace period may pass us (unless items are staged)
 *
 * A frame goes through these stages:
 *
 *   frame_parse     Uses: frame bytes. Sets: kind, peer. Next: drop, ARP, iso_parse
 *   iso_parse       Uses: message. Sets: field views. Next: drop if unanswerable
 *   slot            Uses: field 42. Next: decide here if held, else exchange
 *   validate        Uses: views, merchants, clock. Sets: rc or merchant. Next: answer or idem
 *   idem_lookup     Uses: slot's table, 42+41+11+7. Next: replay, absorb, 94, or bucket
 *   token_bucket    Uses: merchant's bucket. Next: 65 or hand-off
 *   hand-off        Sets: auth_request in to_control. Answer comes back later.
 *
 * Nothing here allocates (mbufs and records come from fixed pools), locks,
 * or makes a system call; the optional idle sleep is taken only when a
 * whole loop found nothing to do, and then the worker is RCU-offline.
 */
#include <string.h>

#include <rte_cycles.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>

#define _LGPL_SOURCE
#include <urcu-qsbr.h>

#include "worker.h"

/* Requests without field 42 (echo, malformed) have no merchant state. */
#define NO_SLOT UINT32_MAX

const char *const iso_drop_name[ISO_DROP_MAX] = {
#define _(sym, str) [ISO_DROP_##sym] = str,
	foreach_iso_drop
#undef _
};

int
worker_init(struct worker *w, int socket)
{
	uint64_t hz = rte_get_tsc_hz();

	w->ttl_tsc = (uint64_t)w->cfg->idem_ttl_ms * (hz / 1000);
	if (xchg_init(&w->x, w->index, w->x.n_workers, w->cfg->slots, socket) != 0)
		return -1;
	token_bucket_init(&w->note_bucket, hz, w->cfg->journal_declines_per_s,
			  w->cfg->journal_declines_per_s / 10 + 1, rte_rdtsc());
	for (uint16_t p = 0; p < w->n_ports; p++) {
		w->txb[p] = rte_zmalloc_socket("txb", RTE_ETH_TX_BUFFER_SIZE(WORKER_BURST),
					       0, socket);
		if (w->txb[p] == NULL)
			return -1;
		rte_eth_tx_buffer_init(w->txb[p], WORKER_BURST);
		rte_eth_tx_buffer_set_err_callback(w->txb[p],
			rte_eth_tx_buffer_count_callback, &w->c.tx_dropped);
		w->port_index[w->ports[p]] = (uint8_t)p;
	}
	return 0;
}

static inline void
tx(struct worker *w, uint16_t pi, struct rte_mbuf *m)
{
	w->c.tx++;
	rte_eth_tx_buffer(w->ports[pi], w->queue, w->txb[pi], m);
}

static inline void
count_code(struct worker *w, const char rc[2])
{
	unsigned int code = (unsigned int)(rc[0] - '0') * 10 + (unsigned int)(rc[1] - '0');

	if (code < 100)
		w->c.codes[code]++;
}

/*
 * Answer in the request's own mbuf. The ISO answer is built into scratch
 * first because it is made from views into the very bytes it replaces.
 */
static void
answer_in_place(struct worker *w, uint16_t pi, struct rte_mbuf *m,
		const struct frame_info *fi, const struct iso_msg *req,
		const char rc[2], const char *auth_code)
{
	uint8_t scratch[ISO_MSG_MAX];
	int len = iso_response_build(scratch, sizeof(scratch), w->cfg->enc, req,
				     rc, auth_code);
	uint32_t room = rte_pktmbuf_data_len(m) + rte_pktmbuf_tailroom(m);
	uint16_t flen;

	if (len < 0 || (flen = frame_build_udp(rte_pktmbuf_mtod(m, uint8_t *), room,
			&w->cfg->local, &fi->peer, scratch, (uint16_t)len)) == 0) {
		w->c.handoff_fail++;
		rte_pktmbuf_free(m);
		return;
	}
	m->data_len = flen;
	m->pkt_len = flen;
	count_code(w, rc);
	tx(w, pi, m);
}

/* Classify why an unparseable message cannot be answered, or -1 if it can. */
static inline int
unanswerable(const struct iso_msg *msg)
{
	switch (msg->status) {
	case ISO_PARSE_NO_MTI:
		return ISO_DROP_NO_MTI;
	case ISO_PARSE_BITMAP:
		return ISO_DROP_BITMAP;
	case ISO_PARSE_TERTIARY:
		return ISO_DROP_TERTIARY;
	default:
		break;
	}
	if (!iso_has(msg, 11))
		return ISO_DROP_BEFORE_STAN;
	if (!iso_mti_is_request(msg->mti))
		return ISO_DROP_RESPONSE_MTI;
	return -1;
}

static void
notes_flush(struct worker *w)
{
	unsigned int n = w->n_notes, sent;

	if (n == 0)
		return;
	sent = rte_ring_sp_enqueue_burst(w->channel.to_journal, (void **)w->notes, n, NULL);
	w->c.declines_noted += sent;
	if (sent < n) {
		w->c.declines_unnoted += n - sent;
		rte_mempool_put_bulk(w->channel.note_pool, (void **)w->notes + sent, n - sent);
	}
	w->n_notes = 0;
}

/* A decline for the journal, if it keeps them: never waited for. */
static inline void
note_decline(struct worker *w, const struct iso_msg *msg, const char rc[2])
{
	struct decline_note *n;

	if (w->channel.to_journal == NULL || (rc[0] == '0' && rc[1] == '0'))
		return;
	/* A flood of declines (an attack, a broken terminal) must not become a
	 * flood of journal writes: past the rate, they are only counted. */
	if (!token_bucket_take(&w->note_bucket, w->now) ||
	    unlikely(rte_mempool_get(w->channel.note_pool, (void **)&n) != 0)) {
		w->c.declines_unnoted++;
		return;
	}
	if (!auth_key_from_msg(msg, &n->key)) {
		/* No identity (malformed, echo): nothing to replay it by. */
		rte_mempool_put(w->channel.note_pool, n);
		return;
	}
	memcpy(n->rc, rc, 2);
	n->mti = msg->mti;
	w->notes[w->n_notes++] = n;
	if (w->n_notes == WORKER_BURST)
		notes_flush(w);
}

/* Records that could not be enqueued: answer 96 from the mbuf still held. */
static void
handoff_refused(struct worker *w, struct auth_request *r, struct rte_mbuf *m)
{
	struct frame_info fi;
	struct iso_msg msg;
	struct idem_table *t = &w->slots[r->slot].idem;
	uint64_t hash = idem_hash(&r->key);
	struct idem_entry *e = idem_find(t, &r->key, hash, w->now);

	if (e)
		idem_remove(t, e, hash);
	frame_parse(rte_pktmbuf_mtod(m, uint8_t *), rte_pktmbuf_data_len(m),
		    &w->cfg->local, false, &fi);
	iso_parse(&msg, rte_pktmbuf_mtod(m, uint8_t *) + fi.iso_off, fi.iso_len,
		  (enum iso_bitmap_enc)w->cfg->enc);
	w->c.handoff_fail++;
	answer_in_place(w, r->port_id, m, &fi, &msg, "96", NULL);
	rte_mempool_put(w->request_pool, r);
}

/* The hand-off batch goes to the control plane in one burst. Slots stay
 * held between the decision and this flush: nothing in between yields. */
static void
handoff_flush(struct worker *w)
{
	unsigned int n = w->n_handoff, sent;

	if (n == 0)
		return;
	sent = rte_ring_sp_enqueue_burst(w->channel.to_control,
					 (void **)w->handoff_recs, n, NULL);
	w->c.handoff += sent;
	rte_pktmbuf_free_bulk(w->handoff_held, sent);
	for (unsigned int i = sent; i < n; i++)
		handoff_refused(w, w->handoff_recs[i], w->handoff_held[i]);
	w->n_handoff = 0;
}

/*
 * Decide one request whose slot this worker holds (or that has none).
 * The frame is answered, absorbed, dropped, or queued for the hand-off.
 */
static void
decide(struct worker *w, uint16_t pi, struct rte_mbuf *m,
       const struct frame_info *fi, const struct iso_msg *msg, uint32_t slot)
{
	struct validate_result v;
	struct auth_key key;
	struct idem_entry *e;
	uint64_t now = w->now;

	/* The slot's load, as rebalancing measures it: every decision. */
	if (slot != NO_SLOT)
		w->slots[slot].frames++;
	validate_request(msg, fi->len_mismatch, w->merchants, w->clock, &v);
	if (v.rc != NULL) {
		if (v.rc[0] == '3' && v.rc[1] == '0')
			w->c.malformed_answered++;
		note_decline(w, msg, v.rc);
		answer_in_place(w, pi, m, fi, msg, v.rc, NULL);
		return;
	}
	if (unlikely(slot == NO_SLOT)) {
		/* validate requires 42 on everything that gets this far */
		w->c.no_slot++;
		answer_in_place(w, pi, m, fi, msg, "96", NULL);
		return;
	}

	struct slot_state *ss = &w->slots[slot];

	auth_key_from_msg(msg, &key); /* 42, 41, 11, 7 checked by validate */
	uint64_t hash = idem_hash(&key);
	uint64_t fp = request_fingerprint(msg);

	switch (idem_lookup(&ss->idem, &key, hash, fp, now, &e)) {
	case IDEM_HIT_DONE:
		w->c.idem_replayed++;
		if (e->origin != w->index)
			w->c.idem_replayed_moved++;
		answer_in_place(w, pi, m, fi, msg, e->rc,
				e->has_auth_code ? e->auth_code : NULL);
		return;
	case IDEM_HIT_PENDING:
		w->c.idem_absorbed++;
		rte_pktmbuf_free(m);
		return;
	case IDEM_CONFLICT:
		w->c.idem_conflict++;
		note_decline(w, msg, "94");
		answer_in_place(w, pi, m, fi, msg, "94", NULL);
		return;
	case IDEM_MISS:
		break;
	}

	if (v.kind == REQUEST_AUTH &&
	    !token_bucket_take(&w->mstate[v.merchant].bucket, now)) {
		/* Stored: a retransmission must get 65 again, not a second
		 * chance at the bucket. */
		w->c.rate_limited++;
		e = idem_insert(&ss->idem, &key, hash, fp, now);
		e->origin = (uint8_t)w->index;
		idem_complete(e, "65", NULL, now, w->ttl_tsc);
		note_decline(w, msg, "65");
		answer_in_place(w, pi, m, fi, msg, "65", NULL);
		return;
	}

	/* The issuer is not answering: say so now rather than after a
	 * timeout (unless the control plane may stand in for it). Not stored:
	 * the next try may find it back. */
	uint8_t bank = iso_has(msg, 2) ? bin_route(&w->cfg->control.routes, iso_field_ptr(msg, 2),
						  iso_field_len(msg, 2)) : 0;

	if (unlikely(w->bank_open[bank] && !w->cfg->control.standin.enabled)) {
		w->c.breaker_91++;
		note_decline(w, msg, "91");
		answer_in_place(w, pi, m, fi, msg, "91", NULL);
		return;
	}

	struct auth_request *r;

	if (unlikely(rte_mempool_get(w->request_pool, (void **)&r) != 0)) {
		w->c.handoff_fail++;
		answer_in_place(w, pi, m, fi, msg, "96", NULL);
		return;
	}
	e = idem_insert(&ss->idem, &key, hash, fp, now);
	e->origin = (uint8_t)w->index;
	r->key = key;
	r->peer = fi->peer;
	r->rx_tsc = now;
	r->slot = slot;
	r->bank = bank;
	r->worker = w->index;
	r->port_id = pi;
	r->msg_len = fi->iso_len;
	r->enc = w->cfg->enc;
	r->outcome = AUTH_OUTCOME_NONE;
	r->has_auth_code = 0;
	memcpy(r->msg, msg->buf, fi->iso_len);
	w->handoff_recs[w->n_handoff] = r;
	w->handoff_held[w->n_handoff++] = m;
	if (w->n_handoff == WORKER_HANDOFF_MAX)
		handoff_flush(w);
}

/* A frame that came from another worker: parsed there, parsed again here
 * (an mbuf carries no parse state across cores). */
static void
decide_dispatched(struct worker *w, struct rte_mbuf *m, uint32_t slot)
{
	struct frame_info fi;
	struct iso_msg msg;
	uint16_t pi = w->port_index[m->port];

	frame_parse(rte_pktmbuf_mtod(m, uint8_t *), rte_pktmbuf_data_len(m),
		    &w->cfg->local, true, &fi);
	iso_parse(&msg, rte_pktmbuf_mtod(m, uint8_t *) + fi.iso_off, fi.iso_len,
		  (enum iso_bitmap_enc)w->cfg->enc);
	decide(w, pi, m, &fi, &msg, slot);
}

static const char *
outcome_rc(const struct auth_request *r)
{
	switch (r->outcome) {
	case AUTH_OUTCOME_BANK:
	case AUTH_OUTCOME_STANDIN:
		return r->rc;
	case AUTH_OUTCOME_TIMEOUT:
	case AUTH_OUTCOME_UNAVAILABLE:
		return "91";
	default:
		return "96";
	}
}

/* A bank outcome for a slot this worker holds: store it for
 * retransmissions, answer the client. */
static void
decide_result(struct worker *w, struct auth_request *r)
{
	const char *rc = outcome_rc(r);
	const char *auth = ((r->outcome == AUTH_OUTCOME_BANK ||
			     r->outcome == AUTH_OUTCOME_STANDIN) && r->has_auth_code) ?
			   r->auth_code : NULL;
	struct idem_table *t = &w->slots[r->slot].idem;
	uint64_t hash = idem_hash(&r->key);
	struct idem_entry *e = idem_find(t, &r->key, hash, w->now);
	uint8_t scratch[ISO_MSG_MAX];
	struct iso_msg msg;

	w->c.results++;
	if (r->worker != w->index)
		w->c.results_moved++;
	if (e)
		idem_complete(e, rc, auth, w->now, w->ttl_tsc);
	else
		w->c.results_idem_lost++;

	iso_parse(&msg, r->msg, r->msg_len, (enum iso_bitmap_enc)r->enc);
	int len = iso_response_build(scratch, sizeof(scratch),
				     (enum iso_bitmap_enc)w->cfg->enc, &msg, rc, auth);
	struct rte_mbuf *m = rte_pktmbuf_alloc(w->mbuf_pool);

	if (unlikely(m == NULL || len < 0)) {
		w->c.results_no_mbuf++;
		rte_pktmbuf_free(m);
		rte_mempool_put(w->request_pool, r);
		return;
	}
	uint16_t flen = frame_build_udp(rte_pktmbuf_mtod(m, uint8_t *),
					rte_pktmbuf_tailroom(m), &w->cfg->local,
					&r->peer, scratch, (uint16_t)len);

	m->data_len = flen;
	m->pkt_len = flen;
	count_code(w, rc);
	tx(w, r->port_id, m);
	rte_mempool_put(w->request_pool, r);
}

/* shard_exchange hands us items for slots we hold. */
static void
process_item(void *ctx, uintptr_t item, uint32_t slot)
{
	struct worker *w = ctx;

	if (xchg_kind(item) == XCHG_RESULT)
		decide_result(w, xchg_ptr(item));
	else
		decide_dispatched(w, xchg_ptr(item), slot);
}

static void
rx_frame(struct worker *w, const struct shard_map *map, uint16_t pi,
	 struct rte_mbuf *m)
{
	const uint8_t *base = rte_pktmbuf_mtod(m, const uint8_t *);
	struct frame_info fi;
	struct iso_msg msg;
	uint32_t slot = NO_SLOT;
	int why;

	frame_parse(base, rte_pktmbuf_data_len(m), &w->cfg->local, true, &fi);
	if (unlikely(fi.kind != FRAME_KIND_ISO)) {
		if (fi.kind == FRAME_KIND_ARP_REQUEST) {
			uint16_t len = frame_build_arp_reply(rte_pktmbuf_mtod(m, uint8_t *),
				rte_pktmbuf_data_len(m) + rte_pktmbuf_tailroom(m),
				&w->cfg->local, base, rte_pktmbuf_data_len(m));

			if (len != 0) {
				m->data_len = len;
				m->pkt_len = len;
				w->c.arp_replies++;
				tx(w, pi, m);
				return;
			}
			fi.drop = FRAME_DROP_RUNT;
		}
		w->c.frame_drop[fi.drop]++;
		rte_pktmbuf_free(m);
		return;
	}
	iso_parse(&msg, base + fi.iso_off, fi.iso_len, (enum iso_bitmap_enc)w->cfg->enc);
	why = unanswerable(&msg);
	if (unlikely(why >= 0)) {
		w->c.iso_drop[why]++;
		rte_pktmbuf_free(m);
		return;
	}
	if (iso_has(&msg, 42) && iso_field_len(&msg, 42) == MERCHANT_ID_LEN)
		slot = shard_slot_of(iso_field_ptr(&msg, 42), MERCHANT_ID_LEN, map->n_slots);
	if (slot == NO_SLOT || w->x.holds[slot]) {
		w->x.c.local++;
		decide(w, pi, m, &fi, &msg, slot);
		return;
	}
	if (xchg_route(&w->x, map, xchg_frame(m, slot), slot, process_item, w) !=
	    XCHG_ROUTE_LOCAL)
		w->x.c.dispatched++;
}

static unsigned int
rx_burst(struct worker *w, const struct shard_map *map, uint16_t pi)
{
	struct rte_mbuf *pkts[WORKER_BURST];
	uint16_t n = rte_eth_rx_burst(w->ports[pi], w->queue, pkts, WORKER_BURST);

	w->c.rx += n;
	for (uint16_t i = 0; i < n && i < 4; i++)
		rte_prefetch0(rte_pktmbuf_mtod(pkts[i], void *));
	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];

		if (i + 4 < n)
			rte_prefetch0(rte_pktmbuf_mtod(pkts[i + 4], void *));
		if (unlikely(m->nb_segs != 1)) {
			w->c.multi_segment++;
			rte_pktmbuf_free(m);
			continue;
		}
		rx_frame(w, map, pi, m);
	}
	handoff_flush(w);
	return n;
}

static unsigned int
results_burst(struct worker *w, const struct shard_map *map)
{
	struct auth_request *recs[WORKER_BURST];
	unsigned int n = rte_ring_sc_dequeue_burst(w->channel.to_worker,
						   (void **)recs, WORKER_BURST, NULL);

	for (unsigned int i = 0; i < n; i++)
		xchg_route(&w->x, map, xchg_result(recs[i]), recs[i]->slot,
			   process_item, w);
	return n;
}

static void
tx_flush(struct worker *w)
{
	for (uint16_t p = 0; p < w->n_ports; p++)
		if (w->txb[p]->length)
			rte_eth_tx_buffer_flush(w->ports[p], w->queue, w->txb[p]);
}

void
worker_drain_results(struct worker *w)
{
	const struct shard_map *map = *w->map_ref;

	w->now = rte_rdtsc();
	while (results_burst(w, map) + xchg_poll(&w->x, map, process_item, w) > 0)
		handoff_flush(w);
	xchg_flush(&w->x);
	tx_flush(w);
}

int
worker_main(void *arg)
{
	struct worker *w = arg;

	rcu_register_thread();
	while (!*w->quit) {
		const struct shard_map *map = rcu_dereference(*w->map_ref);
		unsigned int work;

		w->now = rte_rdtsc();
		w->c.loops++;
		for (unsigned int b = 0; b < w->cfg->control.n_banks && w->bank_state; b++)
			w->bank_open[b] = (uint8_t)__atomic_load_n(&w->bank_state[b], __ATOMIC_RELAXED);
		work = results_burst(w, map);
		work += xchg_poll(&w->x, map, process_item, w);
		work += xchg_commands(&w->x, map, process_item, w);
		handoff_flush(w);
		for (uint16_t p = 0; p < w->n_ports; p++)
			work += rx_burst(w, map, p);
		tx_flush(w);
		notes_flush(w);
		if (xchg_flush(&w->x) == 0)
			rcu_quiescent_state();
		else
			work++;
		if (work)
			w->c.busy_tsc += rte_rdtsc() - w->now;
		if (work == 0 && w->cfg->idle_sleep_us) {
			rcu_thread_offline();
			rte_delay_us_sleep(w->cfg->idle_sleep_us);
			rcu_thread_online();
		}
	}
	rcu_unregister_thread();
	return 0;
}
