/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * paygate-journal - reads a journal directory without changing it.
 *
 *   paygate-journal dump DIR      one CSV line per record
 *   paygate-journal summary DIR   counts, as JSON
 *
 * Card numbers are masked (first 6, last 4) like everywhere outside the
 * journal itself.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "journal.h"
#include "journal_replay.h"

static void
mask_pan(const struct journal_entry *e, char *out, size_t len, uint64_t *amount)
{
	struct iso_msg m;

	out[0] = 0;
	*amount = 0;
	if (e->msg_len == 0)
		return;
	iso_parse(&m, e->msg, e->msg_len, (enum iso_bitmap_enc)e->enc);
	iso_field_u64(&m, 4, amount);
	if (iso_has(&m, 2) && iso_field_len(&m, 2) >= 10) {
		const char *p = (const char *)iso_field_ptr(&m, 2);
		unsigned int n = iso_field_len(&m, 2);

		snprintf(out, len, "%.6s%.*s%.4s", p, (int)(n - 10), "**********", p + n - 4);
	}
}

static void
dump_one(void *ctx, const struct journal_entry *e)
{
	char pan[32];
	uint64_t amount;

	(void)ctx;
	mask_pan(e, pan, sizeof(pan), &amount);
	/* key: 42 (15), 41 (8), 11 (6), 7 (10) */
	printf("%" PRIu64 ",%s,%.15s,%.8s,%.6s,%.10s,%.2s,%.6s,%u,%s,%" PRIu64 ",%" PRIu64 "\n",
	       e->seq, journal_type_name[e->type], e->key.b, e->key.b + 15, e->key.b + 23,
	       e->key.b + 29, e->rc, e->has_auth_code ? e->auth_code : "", e->outcome, pan,
	       amount, e->time_ns);
}

int
main(int argc, char **argv)
{
	struct journal_recovery rep;
	char err[512];

	if (argc != 3 || (strcmp(argv[1], "dump") != 0 && strcmp(argv[1], "summary") != 0)) {
		fprintf(stderr, "usage: paygate-journal dump|summary DIR\n");
		return 2;
	}
	if (strcmp(argv[1], "dump") == 0) {
		printf("seq,type,merchant,terminal,stan,time7,rc,auth,outcome,pan,amount,time_ns\n");
		if (journal_scan(argv[2], dump_one, NULL, &rep, err, sizeof(err)) != 0) {
			fprintf(stderr, "paygate-journal: %s\n", err);
			return 1;
		}
		if (rep.torn_bytes)
			fprintf(stderr, "paygate-journal: torn tail of %" PRIu64 " bytes in %s\n",
				rep.torn_bytes, rep.torn_segment);
		return 0;
	}

	struct journal_replay *r = journal_replay_create(0);
	struct journal_replay_stats st;

	if (r == NULL || journal_scan(argv[2], journal_replay_add, r, &rep, err, sizeof(err)) != 0) {
		fprintf(stderr, "paygate-journal: %s\n", r ? err : "out of memory");
		return 1;
	}
	journal_replay_get_stats(r, &st);
	printf("{\"records\": %" PRIu64 ", \"segments\": %" PRIu64 ", \"torn_bytes\": %" PRIu64
	       ", \"requests\": %" PRIu64 ", \"decisions\": %" PRIu64 ", \"approvals\": %" PRIu64
	       ", \"at_bank\": %" PRIu64 ", \"reversals_open\": %" PRIu64
	       ", \"dataplane_declines\": %" PRIu64 ", \"scan_ms\": %.1f}\n", rep.records,
	       rep.segments, rep.torn_bytes, st.requests, st.decisions, st.approvals, st.orphans,
	       st.reversals_open, st.dataplane_declines,
	       (double)rep.elapsed_ns / 1e6);
	journal_replay_destroy(r);
	return 0;
}
