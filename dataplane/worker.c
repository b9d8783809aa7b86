/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The worker poll loop, shaped as l3fwd's: per loop, answers from the
 * control plane first (they have waited longest), then an RX burst from
 * each port, each frame run through the stages below, then TX flushed.
 *
 *   frame_parse     Uses: frame bytes. Sets: kind, peer. Next: drop, ARP, iso_parse
 *   iso_parse       Uses: message. Sets: field views. Next: drop if unanswerable
 *   validate        Uses: views, merchants, clock. Sets: rc or merchant. Next: answer or idem
 *   idem_lookup     Uses: 42+41+11+7. Next: replay, absorb, 94, or token bucket
 *   token_bucket    Uses: merchant's bucket. Next: 65 or hand-off
 *   hand-off        Sets: auth_request in to_control. Answer comes back later.
 *
 * Nothing here allocates (mbufs and records come from fixed pools), locks,
 * or makes a system call; the optional idle sleep is taken only when a
 * whole loop found nothing to do.
 */
#include <string.h>

#include <rte_cycles.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>

#include "worker.h"

const char *const iso_drop_name[ISO_DROP_MAX] = {
#define _(sym, str) [ISO_DROP_##sym] = str,
	foreach_iso_drop
#undef _
};

int
worker_init(struct worker *w, int socket)
{
	size_t sz = idem_table_mem_size(w->cfg->idem_entries);
	void *mem = rte_zmalloc_socket("idem", sz, RTE_CACHE_LINE_SIZE, socket);
	uint64_t now = rte_rdtsc(), hz = rte_get_tsc_hz();

	if (mem == NULL)
		return -1;
	w->ttl_tsc = (uint64_t)w->cfg->idem_ttl_ms * (hz / 1000);
	idem_table_init(&w->idem, mem, w->cfg->idem_entries, w->ttl_tsc);

	w->buckets = rte_zmalloc_socket("buckets",
		sizeof(*w->buckets) * (w->merchants->n ? w->merchants->n : 1),
		RTE_CACHE_LINE_SIZE, socket);
	if (w->buckets == NULL)
		return -1;
	for (uint32_t i = 0; i < w->merchants->n; i++)
		token_bucket_init(&w->buckets[i], hz, w->merchants->merchants[i].rate_tps,
				  w->merchants->merchants[i].burst, now);

	for (uint16_t p = 0; p < w->n_ports; p++) {
		w->txb[p] = rte_zmalloc_socket("txb", RTE_ETH_TX_BUFFER_SIZE(WORKER_BURST),
					       0, socket);
		if (w->txb[p] == NULL)
			return -1;
		rte_eth_tx_buffer_init(w->txb[p], WORKER_BURST);
		rte_eth_tx_buffer_set_err_callback(w->txb[p],
			rte_eth_tx_buffer_count_callback, &w->c.tx_dropped);
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

/*
 * One request frame. Returns a record to hand off (the mbuf is then kept
 * by the caller until the enqueue succeeded), or NULL when the frame was
 * answered, absorbed or dropped here.
 */
static struct auth_request *
handle_request(struct worker *w, uint16_t pi, struct rte_mbuf *m,
	       const struct frame_info *fi, uint64_t now)
{
	const uint8_t *base = rte_pktmbuf_mtod(m, const uint8_t *);
	struct iso_msg msg;
	struct validate_result v;
	struct auth_key key;
	struct idem_entry *e;
	int why;

	iso_parse(&msg, base + fi->iso_off, fi->iso_len, (enum iso_bitmap_enc)w->cfg->enc);
	why = unanswerable(&msg);
	if (unlikely(why >= 0)) {
		w->c.iso_drop[why]++;
		rte_pktmbuf_free(m);
		return NULL;
	}
	validate_request(&msg, fi->len_mismatch, w->merchants, w->clock, &v);
	if (v.rc != NULL) {
		if (v.rc[0] == '3' && v.rc[1] == '0')
			w->c.malformed_answered++;
		answer_in_place(w, pi, m, fi, &msg, v.rc, NULL);
		return NULL;
	}

	auth_key_from_msg(&msg, &key); /* 42, 41, 11, 7 checked by validate */
	uint64_t hash = idem_hash(&key);
	uint64_t fp = request_fingerprint(&msg);

	switch (idem_lookup(&w->idem, &key, hash, fp, now, &e)) {
	case IDEM_HIT_DONE:
		w->c.idem_replayed++;
		answer_in_place(w, pi, m, fi, &msg, e->rc,
				e->has_auth_code ? e->auth_code : NULL);
		return NULL;
	case IDEM_HIT_PENDING:
		w->c.idem_absorbed++;
		rte_pktmbuf_free(m);
		return NULL;
	case IDEM_CONFLICT:
		w->c.idem_conflict++;
		answer_in_place(w, pi, m, fi, &msg, "94", NULL);
		return NULL;
	case IDEM_MISS:
		break;
	}

	if (v.kind == REQUEST_AUTH &&
	    !token_bucket_take(&w->buckets[v.merchant], now)) {
		/* Stored: a retransmission must get 65 again, not a second
		 * chance at the bucket. */
		w->c.rate_limited++;
		e = idem_insert(&w->idem, &key, hash, fp, now);
		idem_complete(e, "65", NULL, now, w->ttl_tsc);
		answer_in_place(w, pi, m, fi, &msg, "65", NULL);
		return NULL;
	}

	struct auth_request *r;

	if (unlikely(rte_mempool_get(w->request_pool, (void **)&r) != 0)) {
		w->c.handoff_fail++;
		answer_in_place(w, pi, m, fi, &msg, "96", NULL);
		return NULL;
	}
	idem_insert(&w->idem, &key, hash, fp, now);
	r->key = key;
	r->peer = fi->peer;
	r->rx_tsc = now;
	r->worker = w->index;
	r->port_id = pi;
	r->msg_len = fi->iso_len;
	r->enc = w->cfg->enc;
	r->outcome = AUTH_OUTCOME_NONE;
	r->has_auth_code = 0;
	memcpy(r->msg, msg.buf, fi->iso_len);
	return r;
}

/* Records that could not be enqueued: answer 96 from the mbuf still held. */
static void
handoff_refused(struct worker *w, struct auth_request *r, struct rte_mbuf *m,
		uint64_t now)
{
	struct frame_info fi;
	struct iso_msg msg;
	uint64_t hash = idem_hash(&r->key);
	struct idem_entry *e = idem_find(&w->idem, &r->key, hash, now);

	if (e)
		idem_remove(&w->idem, e, hash);
	frame_parse(rte_pktmbuf_mtod(m, uint8_t *), rte_pktmbuf_data_len(m),
		    &w->cfg->local, false, &fi);
	iso_parse(&msg, rte_pktmbuf_mtod(m, uint8_t *) + fi.iso_off, fi.iso_len,
		  (enum iso_bitmap_enc)w->cfg->enc);
	w->c.handoff_fail++;
	answer_in_place(w, r->port_id, m, &fi, &msg, "96", NULL);
	rte_mempool_put(w->request_pool, r);
}

static void
rx_burst(struct worker *w, uint16_t pi, uint64_t now, uint16_t *got)
{
	struct rte_mbuf *pkts[WORKER_BURST], *held[WORKER_BURST];
	struct auth_request *recs[WORKER_BURST];
	unsigned int n_rec = 0;
	uint16_t n = rte_eth_rx_burst(w->ports[pi], w->queue, pkts, WORKER_BURST);

	*got = n;
	if (n == 0)
		return;
	w->c.rx += n;
	for (uint16_t i = 0; i < n && i < 4; i++)
		rte_prefetch0(rte_pktmbuf_mtod(pkts[i], void *));
	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		struct frame_info fi;

		if (i + 4 < n)
			rte_prefetch0(rte_pktmbuf_mtod(pkts[i + 4], void *));
		if (unlikely(m->nb_segs != 1)) {
			w->c.multi_segment++;
			rte_pktmbuf_free(m);
			continue;
		}
		frame_parse(rte_pktmbuf_mtod(m, uint8_t *), rte_pktmbuf_data_len(m),
			    &w->cfg->local, true, &fi);
		if (likely(fi.kind == FRAME_KIND_ISO)) {
			struct auth_request *r = handle_request(w, pi, m, &fi, now);

			if (r) {
				recs[n_rec] = r;
				held[n_rec++] = m;
			}
		} else if (fi.kind == FRAME_KIND_ARP_REQUEST) {
			uint16_t len = frame_build_arp_reply(rte_pktmbuf_mtod(m, uint8_t *),
				rte_pktmbuf_data_len(m) + rte_pktmbuf_tailroom(m),
				&w->cfg->local, rte_pktmbuf_mtod(m, uint8_t *),
				rte_pktmbuf_data_len(m));

			if (len == 0) {
				w->c.frame_drop[FRAME_DROP_RUNT]++;
				rte_pktmbuf_free(m);
				continue;
			}
			m->data_len = len;
			m->pkt_len = len;
			w->c.arp_replies++;
			tx(w, pi, m);
		} else {
			w->c.frame_drop[fi.drop]++;
			rte_pktmbuf_free(m);
		}
	}
	if (n_rec == 0)
		return;

	unsigned int sent = rte_ring_sp_enqueue_burst(w->channel.to_control,
						      (void **)recs, n_rec, NULL);

	w->c.handoff += sent;
	rte_pktmbuf_free_bulk(held, sent);
	for (unsigned int i = sent; i < n_rec; i++)
		handoff_refused(w, recs[i], held[i], now);
}

static const char *
outcome_rc(const struct auth_request *r)
{
	switch (r->outcome) {
	case AUTH_OUTCOME_BANK:
		return r->rc;
	case AUTH_OUTCOME_TIMEOUT:
	case AUTH_OUTCOME_UNAVAILABLE:
		return "91";
	default:
		return "96";
	}
}

/* Bank outcomes: store them for retransmissions, answer the client. */
static unsigned int
results_burst(struct worker *w, uint64_t now)
{
	struct auth_request *recs[WORKER_BURST];
	unsigned int n = rte_ring_sc_dequeue_burst(w->channel.to_worker,
						   (void **)recs, WORKER_BURST, NULL);

	for (unsigned int i = 0; i < n; i++) {
		struct auth_request *r = recs[i];
		const char *rc = outcome_rc(r);
		const char *auth = (r->outcome == AUTH_OUTCOME_BANK && r->has_auth_code) ?
				   r->auth_code : NULL;
		uint64_t hash = idem_hash(&r->key);
		struct idem_entry *e = idem_find(&w->idem, &r->key, hash, now);
		uint8_t scratch[ISO_MSG_MAX];
		struct iso_msg msg;

		w->c.results++;
		if (e)
			idem_complete(e, rc, auth, now, w->ttl_tsc);
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
			continue;
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
	return n;
}

void
worker_drain_results(struct worker *w)
{
	uint64_t now = rte_rdtsc();

	while (results_burst(w, now) > 0)
		;
	for (uint16_t p = 0; p < w->n_ports; p++)
		rte_eth_tx_buffer_flush(w->ports[p], w->queue, w->txb[p]);
}

int
worker_main(void *arg)
{
	struct worker *w = arg;

	while (!*w->quit) {
		uint64_t now = rte_rdtsc();
		unsigned int work = results_burst(w, now);

		for (uint16_t p = 0; p < w->n_ports; p++) {
			uint16_t got;

			rx_burst(w, p, now, &got);
			work += got;
		}
		for (uint16_t p = 0; p < w->n_ports; p++)
			if (w->txb[p]->length)
				rte_eth_tx_buffer_flush(w->ports[p], w->queue, w->txb[p]);
		if (work == 0 && w->cfg->idle_sleep_us)
			rte_delay_us_sleep(w->cfg->idle_sleep_us);
	}
	worker_drain_results(w);
	return 0;
}
