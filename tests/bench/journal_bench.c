/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Journal benchmark (figures, not a test): group commit as the control
 * plane uses it. One thread appends approval-sized records (a REQUEST
 * with a 160-byte message, then a DECISION, as each bank round trip
 * writes) at full speed, keeping at most `window` approvals waiting for
 * durability (as inflight_max bounds them), and measures for each
 * approval the wait from its DECISION append to durability. For several
 * batch windows: durable approvals per second, fdatasyncs per second,
 * commit-wait p50/p99/max. Then recovery: records per second scanned
 * and replayed, per million records.
 *
 * Usage: journal_bench DIR [approvals per run]
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "journal.h"
#include "journal_replay.h"

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

static void
entry(struct journal_entry *e, uint8_t type, uint64_t i)
{
	memset(e, 0, sizeof(*e));
	e->type = type;
	e->time_ns = i;
	snprintf((char *)e->key.b, sizeof(e->key.b), "M%014" PRIu64 "T%07" PRIu64 "%06" PRIu64,
		 i % 1000, i % 9999, i % 999999);
	memcpy(e->rc, "00", 2);
	memcpy(e->auth_code, "123456", 6);
	e->has_auth_code = 1;
	if (type == JOURNAL_REQUEST)
		e->msg_len = 160;
}

static void
clean(const char *dir)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "rm -rf %s && mkdir -p %s", dir, dir);
	if (system(cmd) != 0)
		exit(1);
}

#define WINDOW 4096

int
main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : "/tmp/paygate-journal-bench";
	uint64_t n = argc > 2 ? strtoull(argv[2], NULL, 10) : 50000;
	static const uint32_t windows[] = { 0, 50, 200, 1000, 5000 };
	uint64_t *wait = malloc(sizeof(*wait) * (n > 40000 ? n : 40000));
	struct journal_entry e;
	char err[256];

	static const double rates[] = { 0, 20000 };

	for (size_t ri = 0; ri < 2; ri++) {
	double rate = rates[ri];
	uint64_t nn = rate > 0 ? (uint64_t)rate * 2 : n;

	if (rate > 0)
		printf("\noffered %.0f approvals/s for 2 s (open loop): the batch window at work\n", rate);
	else
		printf("journal group commit, %" PRIu64 " approvals (2 records each) per run, as fast "
		       "as possible, dir %s\n", n, dir);
	printf("%9s %14s %12s %10s %10s %10s %10s\n", "batch_us", "approvals/s", "fsyncs/s",
	       "recs/fsync", "wait_p50", "wait_p99", "wait_max");
	for (size_t w = 0; w < sizeof(windows) / sizeof(windows[0]); w++) {
		struct journal_config c = {
			.segment_bytes = 64ull << 20, .batch_us = windows[w],
			.batch_bytes = 256 << 10, .buffer_bytes = 8 << 20,
		};
		uint64_t seqs[WINDOW], t_app[WINDOW], head = 0, tail = 0;
		struct journal_stats st;

		clean(dir);
		snprintf(c.dir, sizeof(c.dir), "%s", dir);
		struct journal *j = journal_open(&c, 1, err, sizeof(err));

		if (j == NULL) {
			fprintf(stderr, "%s\n", err);
			return 1;
		}
		uint64_t t0 = now_ns(), done = 0;

		for (uint64_t i = 0; i < nn || head < tail;) {
			uint64_t d = journal_durable(j), t = now_ns();

			while (head < tail && seqs[head % WINDOW] <= d) {
				wait[done++] = t - t_app[head % WINDOW];
				head++;
			}
			if (i < nn && tail - head < WINDOW &&
			    (rate == 0 || t - t0 >= (uint64_t)((double)i * 1e9 / rate))) {
				entry(&e, JOURNAL_REQUEST, i);
				if (journal_append(j, &e) == 0)
					continue;
				entry(&e, JOURNAL_DECISION, i);
				uint64_t s;

				while ((s = journal_append(j, &e)) == 0)
					usleep(10);
				seqs[tail % WINDOW] = s;
				t_app[tail % WINDOW] = now_ns();
				tail++;
				i++;
			}
		}
		uint64_t dt = now_ns() - t0;

		journal_get_stats(j, &st);
		journal_close(j);
		qsort(wait, done, sizeof(*wait), cmp_u64);
		printf("%9u %14.0f %12.0f %10.1f %8.0fus %8.0fus %8.0fus\n", windows[w],
		       (double)nn * 1e9 / (double)dt, (double)st.commits * 1e9 / (double)dt,
		       (double)(2 * nn) / (double)(st.commits ? st.commits : 1),
		       (double)wait[done / 2] / 1e3, (double)wait[done * 99 / 100] / 1e3,
		       (double)wait[done - 1] / 1e3);
	}
	}

	/* Recovery cost: scan + replay of the last run's 2n records. */
	struct journal_replay *r = journal_replay_create(0);
	struct journal_recovery rep;
	uint64_t t0 = now_ns();

	if (r == NULL || journal_recover(dir, journal_replay_add, r, &rep, err, sizeof(err)) != 0) {
		fprintf(stderr, "recover: %s\n", err);
		return 1;
	}
	uint64_t dt = now_ns() - t0;

	printf("recovery: %" PRIu64 " records in %" PRIu64 " segments: %.1f ms scan+replay, "
	       "%.0f ms per million records\n", rep.records, rep.segments, (double)dt / 1e6,
	       (double)dt / 1e6 * 1e6 / (double)rep.records);
	journal_replay_destroy(r);
	clean(dir);
	free(wait);
	return 0;
}
