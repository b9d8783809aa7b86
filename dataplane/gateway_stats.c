/* SPDX-License-Identifier: BSD-3-Clause */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <rte_telemetry.h>

#include "gateway_stats.h"

static struct worker *workers;
static unsigned int n_workers;
static struct control_plane *control;
static const struct shard_manager *shards;
static const struct journal *journal;

void
gateway_stats_set_journal(const struct journal *j)
{
	journal = j;
}

void
gateway_stats_set_shards(const struct shard_manager *sm)
{
	shards = sm;
}

void
gateway_stats_sum_exchange(struct xchg_counters *t)
{
	memset(t, 0, sizeof(*t));
	for (unsigned int i = 0; i < n_workers; i++) {
#define _(n, h) t->n += workers[i].x.c.n;
		foreach_xchg_counter
#undef _
	}
}

static void
json_exchange(FILE *f, const struct xchg_counters *c)
{
	const char *sep = "";

	fprintf(f, "\"exchange\": {");
#define _(n, h) fprintf(f, "%s\"" #n "\": %" PRIu64, sep, c->n); sep = ", ";
	foreach_xchg_counter
#undef _
	fprintf(f, "}");
}

void
gateway_stats_sum(struct worker_counters *t)
{
	memset(t, 0, sizeof(*t));
	for (unsigned int i = 0; i < n_workers; i++) {
		const struct worker_counters *c = &workers[i].c;

#define _(name, help) t->name += c->name;
		foreach_worker_counter
#undef _
		for (int d = 0; d < FRAME_DROP_MAX; d++)
			t->frame_drop[d] += c->frame_drop[d];
		for (int d = 0; d < ISO_DROP_MAX; d++)
			t->iso_drop[d] += c->iso_drop[d];
		for (int k = 0; k < 100; k++)
			t->codes[k] += c->codes[k];
	}
}

/* tx counts frames given to TX; what left is that minus what TX refused. */
static uint64_t
tx_sent(const struct worker_counters *c)
{
	return c->tx - c->tx_dropped;
}

static void
tel_counters(struct rte_tel_data *d, const struct worker_counters *c)
{
	struct rte_tel_data *codes = rte_tel_data_alloc();
	struct rte_tel_data *drops = rte_tel_data_alloc();
	char name[8];

#define _(n, help) rte_tel_data_add_dict_u64(d, #n, c->n);
	foreach_worker_counter
#undef _
	rte_tel_data_add_dict_u64(d, "tx_sent", tx_sent(c));
	rte_tel_data_start_dict(codes);
	for (int k = 0; k < 100; k++) {
		if (c->codes[k]) {
			snprintf(name, sizeof(name), "%02d", k);
			rte_tel_data_add_dict_u64(codes, name, c->codes[k]);
		}
	}
	rte_tel_data_start_dict(drops);
	for (int k = 1; k < FRAME_DROP_MAX; k++)
		rte_tel_data_add_dict_u64(drops, frame_drop_name[k], c->frame_drop[k]);
	for (int k = 0; k < ISO_DROP_MAX; k++)
		rte_tel_data_add_dict_u64(drops, iso_drop_name[k], c->iso_drop[k]);
	rte_tel_data_add_dict_container(d, "codes", codes, 0);
	rte_tel_data_add_dict_container(d, "drops", drops, 0);
}

static int
tel_stats(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct worker_counters t;
	struct control_counters cc;
	struct rte_tel_data *ctl = rte_tel_data_alloc();

	(void)cmd;
	(void)params;
	gateway_stats_sum(&t);
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_u64(d, "workers", n_workers);
	tel_counters(d, &t);
	control_plane_counters(control, &cc);
	rte_tel_data_start_dict(ctl);
#define _(n, help) rte_tel_data_add_dict_u64(ctl, #n, cc.n);
	foreach_control_counter
#undef _
	rte_tel_data_add_dict_container(d, "control", ctl, 0);
	return 0;
}

static int
tel_worker(const char *cmd, const char *params, struct rte_tel_data *d)
{
	(void)cmd;
	if (params == NULL || *params == 0)
		return -1;
	unsigned long i = strtoul(params, NULL, 10);

	if (i >= n_workers)
		return -1;
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_u64(d, "lcore", workers[i].lcore);
	tel_counters(d, &workers[i].c);
	return 0;
}

void
gateway_stats_init(struct worker *w, unsigned int n, struct control_plane *cp)
{
	workers = w;
	n_workers = n;
	control = cp;
	rte_telemetry_register_cmd("/paygate/stats", tel_stats,
		"Gateway totals, response codes, drops and control-plane counters");
	rte_telemetry_register_cmd("/paygate/worker", tel_worker,
		"One worker's counters. Parameter: worker index");
}

static void
json_counters(FILE *f, const struct worker_counters *c)
{
	const char *sep = "";

#define _(n, help) fprintf(f, "\"" #n "\": %" PRIu64 ", ", c->n);
	foreach_worker_counter
#undef _
	fprintf(f, "\"tx_sent\": %" PRIu64 ", \"drops\": {", tx_sent(c));
	for (int k = 1; k < FRAME_DROP_MAX; k++) {
		fprintf(f, "%s\"%s\": %" PRIu64, sep, frame_drop_name[k], c->frame_drop[k]);
		sep = ", ";
	}
	for (int k = 0; k < ISO_DROP_MAX; k++)
		fprintf(f, ", \"%s\": %" PRIu64, iso_drop_name[k], c->iso_drop[k]);
	fprintf(f, "}, \"codes\": {");
	sep = "";
	for (int k = 0; k < 100; k++) {
		if (c->codes[k]) {
			fprintf(f, "%s\"%02d\": %" PRIu64, sep, k, c->codes[k]);
			sep = ", ";
		}
	}
	fprintf(f, "}");
}

int
gateway_stats_write_json(FILE *f)
{
	struct worker_counters t;
	struct xchg_counters x;
	struct control_counters cc;
	const char *sep = "";

	fprintf(f, "{\"workers\": [");
	for (unsigned int i = 0; i < n_workers; i++) {
		fprintf(f, "%s{\"lcore\": %u, ", i ? ", " : "", workers[i].lcore);
		json_counters(f, &workers[i].c);
		fprintf(f, ", ");
		json_exchange(f, &workers[i].x.c);
		fprintf(f, "}");
	}
	gateway_stats_sum(&t);
	gateway_stats_sum_exchange(&x);
	fprintf(f, "], \"total\": {");
	json_counters(f, &t);
	fprintf(f, ", ");
	json_exchange(f, &x);
	if (shards) {
		uint64_t ev = 0, evp = 0;

		for (uint32_t s = 0; s < shards->map->n_slots; s++) {
			ev += shards->slots[s].idem.evicted;
			evp += shards->slots[s].idem.evicted_pending;
		}
		fprintf(f, ", \"idem_evicted\": %" PRIu64 ", \"idem_evicted_pending\": %" PRIu64
			", \"moves\": %" PRIu64 ", \"slots_moved\": %" PRIu64, ev, evp,
			shards->moves, shards->slots_moved);
	}
	fprintf(f, "}, \"control\": {");
	control_plane_counters(control, &cc);
#define _(n, help) fprintf(f, "%s\"" #n "\": %" PRIu64, sep, cc.n); sep = ", ";
	foreach_control_counter
#undef _
	fprintf(f, "}");
	if (journal) {
		struct journal_stats js;

		journal_get_stats(journal, &js);
		fprintf(f, ", \"journal\": {\"appended\": %" PRIu64 ", \"refused\": %" PRIu64
			", \"commits\": %" PRIu64 ", \"durable_seq\": %" PRIu64
			", \"bytes\": %" PRIu64 ", \"write_errors\": %" PRIu64
			", \"segments\": %" PRIu64 ", \"commit_us_avg\": %.1f, \"commit_us_max\": %.1f"
			", \"failing\": %s}",
			js.appended, js.append_refused, js.commits, js.committed_records,
			js.committed_bytes, js.write_errors, js.segments,
			js.commits ? (double)js.commit_ns_total / (double)js.commits / 1e3 : 0.0,
			(double)js.commit_ns_max / 1e3, journal_failing(journal) ? "true" : "false");
	}
	fprintf(f, "}\n");
	return ferror(f) ? -1 : 0;
}
