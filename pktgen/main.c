/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * paygate-pktgen: sends ISO 8583 request frames on a DPDK port at an
 * open-loop rate and checks every answer against what the request should
 * get; or writes the frames to a pcap file; or checks a pcap of answers.
 *
 * Latency runs from each request's intended send time (t0 + i / rate), not
 * from when it actually left, so a stalled sender cannot hide queueing
 * (no coordinated omission).
 *
 * Identity of a request: terminal (41) = flow, STAN (11) = that flow's
 * sequence number. Answers are matched by those two fields.
 */
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>

#include "frame.h"
#include "iso8583.h"
#include "latency_hist.h"
#include "pcap_file.h"
#include "workload.h"

#define BURST 32
#define WINDOW 8192          /* outstanding requests per flow */
#define RETX_QUEUE (1u << 16)
#define TEMPLATES 1024

enum { E_FREE = 0, E_SENT };
enum { F_RETX = 1, F_DUP = 2, F_MALFORMED = 4, F_TO_BANK = 8 };

struct outstanding {
	uint64_t intended_tsc;
	uint64_t amount;
	uint32_t seq;
	uint32_t send_idx;
	uint32_t merchant;        /* workload index; UINT32_MAX: none */
	uint16_t mti;
	uint8_t state;
	uint8_t flags;
	uint8_t answers;
	uint8_t expect_answers;
	uint8_t category;
	char rc[2];               /* expected; rc[0] == 0: no answer */
	char got_rc[2];
	char got_auth[6];
	uint8_t has_auth;
	uint16_t retx_len;
	uint8_t *retx_msg;
};

struct opts {
	uint16_t port;
	struct rte_ether_addr src_mac, dst_mac;
	rte_be32_t src_ip, dst_ip;
	uint16_t dst_port;
	uint32_t flows;
	uint16_t queues;
	enum iso_bitmap_enc enc;
	const char *merchants, *cards, *mix, *mti, *json, *pcap_out, *expect_out;
	const char *pcap_check, *expect, *epoch, *answers_out;
	const char *bank_rc;      /* expected answer of bank-decided requests */
	uint64_t count;
	double duration, rate, zipf_s, retransmit, dup_inflight, malformed;
	uint64_t seed;
	uint32_t drain_ms;
	int count_mode;
};

static struct opts o = {
	.dst_port = 8583, .flows = 64, .queues = 1, .drain_ms = 2000, .seed = 1,
	.mix = "valid=100", .mti = "0100=50,0200=50", .zipf_s = 0,
};

static struct {
	uint64_t sent, received, lost, mismatches, duplicates, unexpected, reordered;
	uint64_t ordered_checked, generated;
	uint64_t retransmits_sent, retransmits_answered, retransmits_stored, dup_inflight_sent;
	uint64_t malformed_sent, malformed_unanswerable;
	uint64_t approved_count, approved_amount, tx_fail, other_frames;
	uint64_t codes[100], expected_codes[100];
} st;

static struct outstanding *table;
static uint32_t *flow_seq;
/* Highest send index answered per (flow, merchant), among answers the
 * gateway decides itself: those must come back in the order sent. Bank
 * answers may overtake each other, and different merchants are decided
 * by different lcores, so order is promised per merchant within a flow
 * (a real terminal serves one merchant). */
static uint32_t *flow_last_answered;
static uint32_t retx_q[RETX_QUEUE][2];
static uint32_t retx_head, retx_tail;
static struct latency_hist hist;
static struct workload wl;
static struct frame_local local;     /* port 0: answers come to any flow port */
static FILE *answers_out;
static struct frame_peer gateway;
static volatile sig_atomic_t stop;
static uint64_t tsc_hz;

static void
on_signal(int s)
{
	(void)s;
	stop = 1;
}

static struct outstanding *
entry(uint32_t flow, uint32_t seq)
{
	return &table[(size_t)flow * WINDOW + seq % WINDOW];
}

static unsigned int
code_of(const char *rc)
{
	return (unsigned int)(rc[0] - '0') * 10 + (unsigned int)(rc[1] - '0');
}

static bool
is_code(const uint8_t *p)
{
	return p[0] >= '0' && p[0] <= '9' && p[1] >= '0' && p[1] <= '9';
}

static void
mismatch(const struct outstanding *e, const char *what, const uint8_t *got)
{
	if (st.mismatches++ < 10)
		fprintf(stderr, "pktgen: mismatch: %s %04u seq %u expected %.2s got %.2s (%s)\n",
			category_name[e->category], e->mti, e->seq,
			e->rc[0] ? e->rc : "--", got ? (const char *)got : "--", what);
}

/* An entry leaving the window (reused or at the end): lost if it still
 * owed an answer. */
static void
retire(struct outstanding *e)
{
	if (e->state == E_SENT && e->rc[0] && e->answers < e->expect_answers)
		st.lost += (uint64_t)(e->expect_answers - e->answers);
	free(e->retx_msg);
	memset(e, 0, sizeof(*e));
}

static void
handle_answer(const uint8_t *frame, uint32_t len, uint64_t now)
{
	struct frame_info fi;
	struct iso_msg m;

	frame_parse(frame, len, &local, true, &fi);
	if (fi.kind != FRAME_KIND_ISO) {
		st.other_frames++;
		return;
	}
	iso_parse(&m, frame + fi.iso_off, fi.iso_len, o.enc);
	if (!iso_has(&m, 11) || !iso_has(&m, 41) || iso_field_len(&m, 41) != 8) {
		st.unexpected++;
		return;
	}
	const uint8_t *t = iso_field_ptr(&m, 41);
	uint64_t seq64;
	uint32_t flow = 0;

	for (int i = 1; i < 8; i++)
		flow = flow * 10 + (uint32_t)(t[i] - '0');
	if (t[0] != 'T' || flow >= o.flows || !iso_field_u64(&m, 11, &seq64)) {
		st.unexpected++;
		return;
	}
	struct outstanding *e = entry(flow, (uint32_t)seq64);

	if (e->state != E_SENT || e->seq != (uint32_t)seq64 || e->rc[0] == 0) {
		st.unexpected++;
		return;
	}
	st.received++;
	e->answers++;
	if (e->answers > e->expect_answers) {
		st.duplicates++;
		return;
	}
	const uint8_t *rc = iso_has(&m, 39) && iso_field_len(&m, 39) == 2 &&
			    is_code(iso_field_ptr(&m, 39)) ? iso_field_ptr(&m, 39) : NULL;

	if (rc)
		st.codes[code_of((const char *)rc)]++;
	if (e->answers == 2) {
		/* The retransmission's answer must repeat the first. */
		st.retransmits_answered++;
		/* Only outcomes that are not a function of the message (the
		 * bank's, 65) are stored; declines are recomputed. */
		if ((e->flags & F_TO_BANK) || (rc && rc[0] == '6' && rc[1] == '5'))
			st.retransmits_stored++;
		if (rc == NULL || memcmp(rc, e->got_rc, 2) != 0 ||
		    iso_has(&m, 38) != e->has_auth ||
		    (e->has_auth && memcmp(iso_field_ptr(&m, 38), e->got_auth, 6) != 0))
			mismatch(e, "retransmission answered differently", rc);
		return;
	}
	hist_record(&hist, (now - e->intended_tsc) * 1000000000ull / tsc_hz);
	if (answers_out && iso_has(&m, 42) && iso_has(&m, 7) && iso_field_len(&m, 7) == 10)
		fprintf(answers_out, "%.*s,%.8s,%06u,%.10s,%04u,%.2s,%.*s\n",
			(int)iso_field_len(&m, 42), iso_field_ptr(&m, 42), t,
			(unsigned int)seq64, iso_field_ptr(&m, 7), m.mti, rc ? (const char *)rc : "--",
			iso_has(&m, 38) && iso_field_len(&m, 38) == 6 ? 6 : 0,
			iso_has(&m, 38) ? (const char *)iso_field_ptr(&m, 38) : "");
	if (!(e->flags & (F_TO_BANK | F_MALFORMED)) && e->merchant != UINT32_MAX) {
		uint32_t *last = &flow_last_answered[(size_t)flow * wl.n_merchants + e->merchant];

		st.ordered_checked++;
		if (e->send_idx + 1 < *last)
			st.reordered++;
		else
			*last = e->send_idx + 1;
	}

	uint64_t amount;

	if (m.mti != iso_response_mti(e->mti))
		mismatch(e, "response MTI", rc);
	else if (rc == NULL || memcmp(rc, e->rc, 2) != 0)
		mismatch(e, "response code", rc);
	else if (e->mti != 800 && !(e->flags & F_MALFORMED) &&
		 (!iso_field_u64(&m, 4, &amount) || amount != e->amount))
		mismatch(e, "echoed amount", rc);
	if (rc) {
		memcpy(e->got_rc, rc, 2);
		e->has_auth = iso_has(&m, 38) && iso_field_len(&m, 38) == 6;
		if (e->has_auth)
			memcpy(e->got_auth, iso_field_ptr(&m, 38), 6);
		if (rc[0] == '0' && rc[1] == '0' && (e->flags & F_TO_BANK)) {
			st.approved_count++;
			st.approved_amount += e->amount;
		}
	}
	if ((e->flags & F_RETX) && (retx_tail - retx_head) < RETX_QUEUE) {
		retx_q[retx_tail % RETX_QUEUE][0] = flow;
		retx_q[retx_tail % RETX_QUEUE][1] = (uint32_t)seq64;
		retx_tail++;
	}
}

/* Generate the next request into r and record what it expects. */
static struct outstanding *
next_request(struct wl_request *r, uint64_t intended, uint32_t *flow_out)
{
	/* Round robin by request, not by frames sent: the same seed must give
	 * the same requests however the bursts fall (crash test resends). */
	uint32_t flow = (uint32_t)(st.generated % o.flows);
	uint32_t seq = flow_seq[flow] = flow_seq[flow] % 999999 + 1;
	struct outstanding *e = entry(flow, seq);

	retire(e);
	workload_next(&wl, flow, seq, r);
	if (o.bank_rc && r->to_bank)
		memcpy(r->rc, o.bank_rc, 2);
	e->flags = r->to_bank ? F_TO_BANK : 0;
	if (o.malformed > 0 && workload_rand01(&wl) < o.malformed) {
		workload_malform(&wl, r);
		e->flags = F_MALFORMED;
		st.malformed_sent++;
		if (r->rc[0] == 0)
			st.malformed_unanswerable++;
	}
	e->state = E_SENT;
	e->seq = seq;
	e->send_idx = (uint32_t)st.generated++;
	e->intended_tsc = intended;
	e->amount = r->amount;
	e->mti = r->mti;
	e->merchant = r->merchant;
	e->category = r->category;
	e->rc[0] = r->rc[0];
	e->rc[1] = r->rc[1];
	e->expect_answers = r->rc[0] ? 1 : 0;
	if (r->rc[0]) {
		st.expected_codes[code_of(r->rc)]++;
		if (o.retransmit > 0 && workload_rand01(&wl) < o.retransmit) {
			e->flags |= F_RETX;
			e->retx_msg = malloc(r->len);
			memcpy(e->retx_msg, r->msg, r->len);
			e->retx_len = r->len;
		}
		if ((e->flags & F_TO_BANK) && o.dup_inflight > 0 &&
		    workload_rand01(&wl) < o.dup_inflight)
			e->flags |= F_DUP;
	}
	*flow_out = flow;
	return e;
}

static uint16_t
frame_for(uint8_t *dst, uint32_t cap, uint32_t flow, const uint8_t *msg, uint16_t len)
{
	struct frame_local src = local;

	src.port = rte_cpu_to_be_16((uint16_t)(10000 + flow));
	return frame_build_udp(dst, cap, &src, &gateway, msg, len);
}

static void
progress(uint64_t t0, uint64_t now, uint64_t *last_sent, uint64_t *last_rcvd)
{
	printf("t=%.0fs sent=%" PRIu64 " rcvd=%" PRIu64 " lost=%" PRIu64 " mism=%" PRIu64
	       " tx_mpps=%.3f rx_mpps=%.3f p99_us=%.1f\n",
	       (double)(now - t0) / (double)tsc_hz, st.sent, st.received, st.lost,
	       st.mismatches, (double)(st.sent - *last_sent) / 1e6,
	       (double)(st.received - *last_rcvd) / 1e6,
	       (double)hist_quantile(&hist, 0.99) / 1000.0);
	fflush(stdout);
	*last_sent = st.sent;
	*last_rcvd = st.received;
}

static void
write_json(const char *path, double window_s)
{
	FILE *f = fopen(path, "w");
	const char *sep = "";

	if (f == NULL) {
		fprintf(stderr, "pktgen: cannot write %s\n", path);
		return;
	}
	fprintf(f, "{\"sent\": %" PRIu64 ", \"received\": %" PRIu64 ", \"lost\": %" PRIu64
		", \"mismatches\": %" PRIu64 ", \"duplicates\": %" PRIu64 ", \"unexpected\": %" PRIu64
		", \"reordered\": %" PRIu64 ", \"ordered_checked\": %" PRIu64
		", \"mpps\": %.6f, \"tx_mpps\": %.6f, \"rx_mpps\": %.6f",
		st.sent, st.received, st.lost, st.mismatches, st.duplicates, st.unexpected,
		st.reordered, st.ordered_checked, (double)st.received / window_s / 1e6,
		(double)st.sent / window_s / 1e6, (double)st.received / window_s / 1e6);
	fprintf(f, ", \"latency_us\": {\"p50\": %.1f, \"p90\": %.1f, \"p99\": %.1f, "
		"\"p999\": %.1f, \"max\": %.1f}",
		hist_quantile(&hist, 0.5) / 1e3, hist_quantile(&hist, 0.9) / 1e3,
		hist_quantile(&hist, 0.99) / 1e3, hist_quantile(&hist, 0.999) / 1e3,
		(double)hist.max / 1e3);
	for (int pass = 0; pass < 2; pass++) {
		const uint64_t *c = pass ? st.expected_codes : st.codes;

		fprintf(f, ", \"%s\": {", pass ? "expected_codes" : "codes");
		sep = "";
		for (int k = 0; k < 100; k++) {
			if (c[k]) {
				fprintf(f, "%s\"%02d\": %" PRIu64, sep, k, c[k]);
				sep = ", ";
			}
		}
		fprintf(f, "}");
	}
	fprintf(f, ", \"retransmits_stored\": %" PRIu64, st.retransmits_stored);
	fprintf(f, ", \"retransmits_sent\": %" PRIu64 ", \"retransmits_answered\": %" PRIu64
		", \"dup_inflight_sent\": %" PRIu64 ", \"malformed_sent\": %" PRIu64
		", \"malformed_unanswerable\": %" PRIu64 ", \"approved_count\": %" PRIu64
		", \"approved_amount\": %" PRIu64 ", \"tx_fail\": %" PRIu64
		", \"window_s\": %.3f}\n",
		st.retransmits_sent, st.retransmits_answered, st.dup_inflight_sent,
		st.malformed_sent, st.malformed_unanswerable, st.approved_count,
		st.approved_amount, st.tx_fail, window_s);
	fclose(f);
}

static void
finish_accounting(void)
{
	for (size_t i = 0; i < (size_t)o.flows * WINDOW; i++)
		retire(&table[i]);
}

static void
summary(double window_s)
{
	printf("pktgen: sent %" PRIu64 " received %" PRIu64 " lost %" PRIu64 " mismatches %" PRIu64
	       " duplicates %" PRIu64 " unexpected %" PRIu64 " in %.2fs (%.3f Mpps answered)\n",
	       st.sent, st.received, st.lost, st.mismatches, st.duplicates, st.unexpected,
	       window_s, (double)st.received / window_s / 1e6);
	printf("pktgen: latency us p50 %.1f p90 %.1f p99 %.1f p99.9 %.1f max %.1f\n",
	       hist_quantile(&hist, 0.5) / 1e3, hist_quantile(&hist, 0.9) / 1e3,
	       hist_quantile(&hist, 0.99) / 1e3, hist_quantile(&hist, 0.999) / 1e3,
	       (double)hist.max / 1e3);
	if (o.json)
		write_json(o.json, window_s);
	if (answers_out && fclose(answers_out) != 0)
		fprintf(stderr, "pktgen: cannot write %s\n", o.answers_out);
	answers_out = NULL;
}

/* --pcap-out: the frames and what each expects, no port. */
static int
run_pcap_out(void)
{
	FILE *pf = pcap_create(o.pcap_out), *ef = o.expect_out ? fopen(o.expect_out, "w") : NULL;
	uint8_t frame[2048];
	struct wl_request r;

	if (pf == NULL || (o.expect_out && ef == NULL)) {
		fprintf(stderr, "pktgen: cannot create %s\n", o.pcap_out);
		return 1;
	}
	if (ef)
		fprintf(ef, "index,flow,seq,mti,expected_rc\n");
	for (uint64_t i = 0; i < o.count; i++) {
		uint32_t flow;
		struct outstanding *e = next_request(&r, 0, &flow);
		uint16_t len = frame_for(frame, sizeof(frame), flow, r.msg, r.len);

		pcap_write(pf, frame, len, i * 1000);
		if (ef)
			fprintf(ef, "%" PRIu64 ",%u,%u,%04u,%s\n", i, flow, e->seq, r.mti,
				r.rc[0] ? r.rc : "-");
		st.sent++;
	}
	fclose(pf);
	if (ef)
		fclose(ef);
	printf("pktgen: wrote %" PRIu64 " frames to %s\n", st.sent, o.pcap_out);
	return 0;
}

/* --pcap-check: answers from a pcap against the expectations file. */
static int
run_pcap_check(void)
{
	FILE *ef = fopen(o.expect, "r"), *pf = pcap_open(o.pcap_check);
	char line[256];
	uint8_t frame[2048];
	int len;

	if (ef == NULL || pf == NULL) {
		fprintf(stderr, "pktgen: cannot read %s or %s\n", o.expect, o.pcap_check);
		return 1;
	}
	while (fgets(line, sizeof(line), ef)) {
		uint64_t idx;
		unsigned int flow, seq, mti;
		char rc[4];

		if (sscanf(line, "%" SCNu64 ",%u,%u,%u,%3s", &idx, &flow, &seq, &mti, rc) != 5 ||
		    flow >= o.flows)
			continue;
		struct outstanding *e = entry(flow, seq);

		retire(e);
		e->state = E_SENT;
		e->seq = seq;
		e->mti = (uint16_t)mti;
		e->send_idx = (uint32_t)idx;
		e->flags = F_MALFORMED; /* amounts are not in the file: skip that check */
		if (rc[0] != '-') {
			e->rc[0] = rc[0];
			e->rc[1] = rc[1];
			e->expect_answers = 1;
			st.expected_codes[code_of(rc)]++;
		}
		st.sent++;
	}
	fclose(ef);
	while ((len = pcap_read(pf, frame, sizeof(frame))) > 0)
		handle_answer(frame, (uint32_t)len, 0);
	fclose(pf);
	finish_accounting();
	summary(1.0);
	return len < 0 ? 1 : 0;
}

static void
usage(void)
{
	fprintf(stderr,
		"usage: paygate-pktgen <EAL> -- [--port N] [--src-mac M] [--dst-mac M] [--src-ip A]\n"
		"  [--dst-ip A] [--dst-port P] [--flows N] [--queues N] [--bitmap binary|hex]\n"
		"  --merchants F --cards F [--count N] [--duration S] [--rate PPS]\n"
		"  [--merchant-dist uniform|zipf] [--zipf-s S] [--mix cat=share,...] [--mti 0100=a,0200=b]\n"
		"  [--retransmit P] [--dup-inflight P] [--malformed P] [--seed N] [--drain-ms MS]\n"
		"  [--json F] [--mode check|count] [--epoch YYYY-MM-DDTHH:MM:SS]\n"
		"  [--answers-out F (CSV: 42,41,11,7,mti,rc,auth of every first answer)]\n"
		"  [--pcap-out F --expect-out F] [--pcap-check F --expect F]\n"
		"  [--bank-rc RC]  expect RC for every request the bank decides (e.g. 91)\n");
	exit(2);
}

static void
parse_args(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "port", 1, 0, 'p' }, { "src-mac", 1, 0, 'a' }, { "dst-mac", 1, 0, 'b' },
		{ "src-ip", 1, 0, 'c' }, { "dst-ip", 1, 0, 'd' }, { "dst-port", 1, 0, 'e' },
		{ "flows", 1, 0, 'f' }, { "bitmap", 1, 0, 'g' }, { "merchants", 1, 0, 'h' },
		{ "cards", 1, 0, 'i' }, { "count", 1, 0, 'j' }, { "duration", 1, 0, 'k' },
		{ "rate", 1, 0, 'l' }, { "merchant-dist", 1, 0, 'm' }, { "zipf-s", 1, 0, 'n' },
		{ "mix", 1, 0, 'o' }, { "mti", 1, 0, 'q' }, { "retransmit", 1, 0, 'r' },
		{ "dup-inflight", 1, 0, 's' }, { "malformed", 1, 0, 't' }, { "seed", 1, 0, 'u' },
		{ "drain-ms", 1, 0, 'v' }, { "json", 1, 0, 'w' }, { "mode", 1, 0, 'x' },
		{ "pcap-out", 1, 0, 'y' }, { "expect-out", 1, 0, 'z' }, { "pcap-check", 1, 0, 'A' },
		{ "expect", 1, 0, 'B' }, { "epoch", 1, 0, 'C' }, { "bank-rc", 1, 0, 'D' },
		{ "queues", 1, 0, 'E' }, { "answers-out", 1, 0, 'F' },
		{ 0, 0, 0, 0 },
	};
	bool zipf = false;
	int opt;

	frame_mac_parse("02:00:00:00:00:02", &o.src_mac);
	frame_mac_parse("02:00:00:00:00:01", &o.dst_mac);
	frame_ip_parse("198.18.0.2", &o.src_ip);
	frame_ip_parse("198.18.0.1", &o.dst_ip);
	while ((opt = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (opt) {
		case 'p': o.port = (uint16_t)atoi(optarg); break;
		case 'a': if (!frame_mac_parse(optarg, &o.src_mac)) usage(); break;
		case 'b': if (!frame_mac_parse(optarg, &o.dst_mac)) usage(); break;
		case 'c': if (!frame_ip_parse(optarg, &o.src_ip)) usage(); break;
		case 'd': if (!frame_ip_parse(optarg, &o.dst_ip)) usage(); break;
		case 'e': o.dst_port = (uint16_t)atoi(optarg); break;
		case 'f': o.flows = (uint32_t)atoi(optarg); break;
		case 'E': o.queues = (uint16_t)atoi(optarg); break;
		case 'F': o.answers_out = optarg; break;
		case 'g': o.enc = strcmp(optarg, "hex") == 0 ? ISO_BITMAP_HEX : ISO_BITMAP_BINARY; break;
		case 'h': o.merchants = optarg; break;
		case 'i': o.cards = optarg; break;
		case 'j': o.count = strtoull(optarg, NULL, 10); break;
		case 'k': o.duration = atof(optarg); break;
		case 'l': o.rate = atof(optarg); break;
		case 'm': zipf = strcmp(optarg, "zipf") == 0; break;
		case 'n': o.zipf_s = atof(optarg); break;
		case 'o': o.mix = optarg; break;
		case 'q': o.mti = optarg; break;
		case 'r': o.retransmit = atof(optarg); break;
		case 's': o.dup_inflight = atof(optarg); break;
		case 't': o.malformed = atof(optarg); break;
		case 'u': o.seed = strtoull(optarg, NULL, 10); break;
		case 'v': o.drain_ms = (uint32_t)atoi(optarg); break;
		case 'w': o.json = optarg; break;
		case 'x': o.count_mode = strcmp(optarg, "count") == 0; break;
		case 'y': o.pcap_out = optarg; break;
		case 'z': o.expect_out = optarg; break;
		case 'A': o.pcap_check = optarg; break;
		case 'B': o.expect = optarg; break;
		case 'C': o.epoch = optarg; break;
		case 'D':
			if (strlen(optarg) != 2 || !is_code((const uint8_t *)optarg))
				usage();
			o.bank_rc = optarg;
			break;
		default: usage();
		}
	}
	if (o.merchants == NULL || o.cards == NULL || o.flows == 0 || o.flows > 9999999 ||
	    o.queues == 0 || o.queues > 64)
		usage();
	if (zipf && o.zipf_s <= 0)
		o.zipf_s = 1.1;
	if (!zipf)
		o.zipf_s = 0;
}

int
main(int argc, char **argv)
{
	char err[512];
	int ret = rte_eal_init(argc, argv);

	if (ret < 0)
		rte_exit(EXIT_FAILURE, "EAL init failed\n");
	parse_args(argc - ret, argv + ret);
	tsc_hz = rte_get_tsc_hz();

	if (workload_load(&wl, o.merchants, o.cards, err, sizeof(err)) != 0 ||
	    workload_set_mix(&wl, o.mix, err, sizeof(err)) != 0 ||
	    workload_set_mti(&wl, o.mti, err, sizeof(err)) != 0)
		rte_exit(EXIT_FAILURE, "pktgen: %s\n", err);
	/* xorshift must never hold 0: it would stay there. */
	wl.rng = (o.seed + 1) * 0x9E3779B97F4A7C15ULL | 1;
	wl.enc = o.enc;
	if (o.zipf_s > 0)
		workload_set_zipf(&wl, o.zipf_s);
	if (o.epoch) {
		memset(&wl.epoch, 0, sizeof(wl.epoch));
		if (strptime(o.epoch, "%Y-%m-%dT%H:%M:%S", &wl.epoch) == NULL)
			rte_exit(EXIT_FAILURE, "pktgen: --epoch: expected YYYY-MM-DDTHH:MM:SS\n");
	}
	local.mac = o.src_mac;
	local.ip = o.src_ip;
	local.port = 0;
	gateway.mac = o.dst_mac;
	gateway.ip = o.dst_ip;
	gateway.port = rte_cpu_to_be_16(o.dst_port);

	table = calloc((size_t)o.flows * WINDOW, sizeof(*table));
	flow_seq = calloc(o.flows, sizeof(*flow_seq));
	flow_last_answered = calloc((size_t)o.flows * wl.n_merchants, sizeof(*flow_last_answered));
	if (table == NULL || flow_seq == NULL || flow_last_answered == NULL)
		rte_exit(EXIT_FAILURE, "pktgen: out of memory\n");

	if (o.answers_out && (answers_out = fopen(o.answers_out, "w")) == NULL)
		rte_exit(EXIT_FAILURE, "pktgen: cannot write %s\n", o.answers_out);
	if (o.pcap_out)
		return run_pcap_out();
	if (o.pcap_check)
		return run_pcap_check();

	if (rte_eth_dev_count_avail() <= o.port)
		rte_exit(EXIT_FAILURE, "pktgen: no port %u (give a --vdev)\n", o.port);
	struct rte_mempool *pool = rte_pktmbuf_pool_create("pktgen", 8191, 256, 0,
		RTE_MBUF_DEFAULT_BUF_SIZE, (int)rte_socket_id());
	struct rte_eth_conf conf = { 0 };
	uint16_t rxd = 1024, txd = 1024;

	/* One queue pair per gateway worker: flow f leaves by queue f % queues,
	 * so on memif (no RSS) every worker receives its share of flows. */
	int ok = pool != NULL && rte_eth_dev_configure(o.port, o.queues, o.queues, &conf) == 0 &&
		 rte_eth_dev_adjust_nb_rx_tx_desc(o.port, &rxd, &txd) == 0;

	for (uint16_t q = 0; ok && q < o.queues; q++)
		ok = rte_eth_rx_queue_setup(o.port, q, rxd, rte_eth_dev_socket_id(o.port),
					    NULL, pool) == 0 &&
		     rte_eth_tx_queue_setup(o.port, q, txd, rte_eth_dev_socket_id(o.port),
					    NULL) == 0;
	if (!ok || rte_eth_dev_start(o.port) != 0)
		rte_exit(EXIT_FAILURE, "pktgen: port %u setup with %u queues failed\n",
			 o.port, o.queues);
	rte_eth_promiscuous_enable(o.port);

	/* Wait for the link (memif connects when both sides are up). */
	struct rte_eth_link link;

	for (int i = 0; i < 100; i++) {
		rte_eth_link_get_nowait(o.port, &link);
		if (link.link_status)
			break;
		rte_delay_ms(100);
	}
	if (!link.link_status)
		fprintf(stderr, "pktgen: port %u link still down; sending anyway\n", o.port);

	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);

	/* Count mode replays pre-built frames: the baseline run against testpmd
	 * must measure the responder, not our message builder. */
	static uint8_t tmpl[TEMPLATES][256];
	static uint16_t tmpl_len[TEMPLATES];

	if (o.count_mode) {
		struct wl_request r;

		for (int i = 0; i < TEMPLATES; i++) {
			uint32_t flow = (uint32_t)i % o.flows;

			workload_next(&wl, flow, (uint32_t)i / o.flows + 1, &r);
			tmpl_len[i] = frame_for(tmpl[i], sizeof(tmpl[i]), flow, r.msg, r.len);
		}
	}

	uint64_t t0 = rte_rdtsc(), next_report = t0 + tsc_hz, end_send = 0;
	uint64_t last_sent = 0, last_rcvd = 0, new_sent = 0;
	uint64_t duration_tsc = (uint64_t)(o.duration * (double)tsc_hz);
	uint64_t drain_tsc = (uint64_t)o.drain_ms * tsc_hz / 1000;
	bool sending = true;

	for (;;) {
		uint64_t now = rte_rdtsc();
		struct rte_mbuf *rx[BURST], *tx[BURST * 2];
		uint16_t txq[BURST * 2];

		for (uint16_t q = 0; q < o.queues; q++) {
			uint16_t n = rte_eth_rx_burst(o.port, q, rx, BURST);

			if (o.count_mode) {
				st.received += n;
			} else {
				for (uint16_t i = 0; i < n; i++)
					handle_answer(rte_pktmbuf_mtod(rx[i], uint8_t *),
						      rte_pktmbuf_data_len(rx[i]), now);
			}
			rte_pktmbuf_free_bulk(rx, n);
		}

		if (now >= next_report) {
			progress(t0, now, &last_sent, &last_rcvd);
			next_report = now + tsc_hz;
		}
		if (sending && ((o.count && new_sent >= o.count) ||
				(duration_tsc && now - t0 >= duration_tsc) || stop)) {
			sending = false;
			end_send = now;
		}
		if (!sending) {
			bool all_in = !o.count_mode && st.received + st.lost >=
				st.expected_codes[0] + 0 && retx_head == retx_tail;
			uint64_t owed = 0;

			for (int k = 0; k < 100; k++)
				owed += st.expected_codes[k];
			all_in = all_in && st.received >= owed;
			if (now - end_send >= drain_tsc || all_in || stop > 1)
				break;
			if (retx_head == retx_tail)
				continue;
		}

		/* How many are due: open loop against the intended schedule. */
		uint64_t due = BURST;

		if (o.rate > 0) {
			uint64_t target = (uint64_t)((double)(now - t0) * o.rate / (double)tsc_hz);

			due = target > new_sent ? target - new_sent : 0;
			if (due > BURST)
				due = BURST;
		}
		if (!sending)
			due = 0;
		uint16_t nb = 0;

		/* Retransmissions of answered requests first. */
		while (retx_head != retx_tail && nb < BURST) {
			uint32_t flow = retx_q[retx_head % RETX_QUEUE][0];
			struct outstanding *e = entry(flow, retx_q[retx_head % RETX_QUEUE][1]);

			retx_head++;
			if (e->retx_msg == NULL)
				continue;
			struct rte_mbuf *m = rte_pktmbuf_alloc(pool);

			if (m == NULL)
				break;
			uint16_t len = frame_for(rte_pktmbuf_mtod(m, uint8_t *),
						 rte_pktmbuf_tailroom(m), flow, e->retx_msg,
						 e->retx_len);

			m->data_len = m->pkt_len = len;
			tx[nb++] = m;
			e->expect_answers = 2;
			st.expected_codes[code_of(e->rc)]++;
			st.retransmits_sent++;
			free(e->retx_msg);
			e->retx_msg = NULL;
		}
		for (uint64_t i = 0; i < due && nb < BURST; i++) {
			struct rte_mbuf *m = rte_pktmbuf_alloc(pool);

			if (m == NULL)
				break;
			if (o.count_mode) {
				unsigned int t = (unsigned int)(new_sent % TEMPLATES);

				memcpy(rte_pktmbuf_mtod(m, uint8_t *), tmpl[t], tmpl_len[t]);
				m->data_len = m->pkt_len = tmpl_len[t];
				txq[nb] = (uint16_t)((t % o.flows) % o.queues);
				tx[nb++] = m;
				new_sent++;
				continue;
			}
			struct wl_request r;
			uint32_t flow;
			uint64_t intended = o.rate > 0 ?
				t0 + (uint64_t)((double)new_sent * (double)tsc_hz / o.rate) : now;
			struct outstanding *e = next_request(&r, intended, &flow);
			uint16_t len = frame_for(rte_pktmbuf_mtod(m, uint8_t *),
						 rte_pktmbuf_tailroom(m), flow, r.msg, r.len);

			m->data_len = m->pkt_len = len;
			txq[nb] = (uint16_t)(flow % o.queues);
			tx[nb++] = m;
			new_sent++;
			if (e->flags & F_DUP) {
				struct rte_mbuf *d = rte_pktmbuf_copy(m, pool, 0, UINT32_MAX);

				if (d) {
					txq[nb] = (uint16_t)(flow % o.queues);
					tx[nb++] = d;
					st.dup_inflight_sent++;
				}
			}
		}
		/* Per queue, in the order built. A full TX ring is retried a
		 * bounded number of times: an open loop generator drops (and
		 * counts) rather than stalls. */
		for (uint16_t q = 0; q < o.queues && nb > 0; q++) {
			struct rte_mbuf *qm[BURST * 2];
			uint16_t qn = 0, done = 0;

			for (uint16_t i = 0; i < nb; i++)
				if (txq[i] == q)
					qm[qn++] = tx[i];
			for (int tries = 0; done < qn && tries < 64 && !stop; tries++)
				done += rte_eth_tx_burst(o.port, q, qm + done, qn - done);
			if (done < qn) {
				st.tx_fail += qn - done;
				rte_pktmbuf_free_bulk(qm + done, qn - done);
			}
			st.sent += done;
		}
	}
	uint64_t t_end = rte_rdtsc();
	double window = (double)((end_send ? end_send : t_end) - t0) / (double)tsc_hz;

	if (window <= 0)
		window = 1e-9;
	if (o.count_mode) {
		/* Every frame counts as owed one answer. */
		st.lost = st.sent > st.received ? st.sent - st.received : 0;
	} else {
		finish_accounting();
	}
	summary(window);
	rte_eth_dev_stop(o.port);
	rte_eth_dev_close(o.port);
	rte_eal_cleanup();
	return 0;
}
