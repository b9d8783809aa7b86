/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_lcore.h>

#include "clock_ns.h"
#include "control_plane.h"
#include "ctl_server.h"
#include "gateway_stats.h"

#define ARGS_MAX 8
#define SAMPLE_MS 1000

struct ctl_server {
	int fd;
	struct ctl_context *ctx;
	volatile bool *quit;
};

static int
worker_of_lcore(const struct ctl_context *ctx, const char *s, char *err, size_t err_len)
{
	char *end;
	unsigned long l = strtoul(s, &end, 10);

	if (*s && *end == 0)
		for (unsigned int i = 0; i < ctx->n_workers; i++)
			if (ctx->workers[i].lcore == l)
				return (int)i;
	snprintf(err, err_len, "'%s' is not a worker lcore (see: show lcores)", s);
	return -1;
}

static void
slot_counts(const struct ctl_context *ctx, uint32_t *slots, double *fps)
{
	const struct shard_map *m = ctx->sm->map;

	memset(slots, 0, sizeof(*slots) * ctx->n_workers);
	memset(fps, 0, sizeof(*fps) * ctx->n_workers);
	for (uint32_t s = 0; s < m->n_slots; s++) {
		slots[m->owner[s]]++;
		fps[m->owner[s]] += ctx->sm->slot_rate[s];
	}
}

static void
show_lcores(struct ctl_context *ctx, FILE *out, bool json)
{
	uint32_t slots[SHARD_WORKERS_MAX];
	double fps[SHARD_WORKERS_MAX];

	slot_counts(ctx, slots, fps);
	if (json)
		fprintf(out, "{\"lcores\": [");
	else
		fprintf(out, "%-6s %-6s %-7s %6s %10s %10s %12s %12s %12s %12s %8s\n",
			"lcore", "worker", "state", "slots", "decided/s", "rx/s", "rx", "local",
			"dispatched", "received", "parked");
	for (unsigned int i = 0; i < ctx->n_workers; i++) {
		const struct worker *w = &ctx->workers[i];
		const struct xchg_counters *x = &w->x.c;

		if (json)
			fprintf(out, "%s{\"lcore\": %u, \"worker\": %u, \"active\": %s, "
				"\"slots\": %u, \"fps\": %.1f, \"rx_fps\": %.1f, \"rx\": %" PRIu64
				", \"local\": %" PRIu64 ", \"dispatched\": %" PRIu64
				", \"received\": %" PRIu64 ", \"parked\": %" PRIu64
				", \"replayed\": %" PRIu64 ", \"forwarded\": %" PRIu64 "}",
				i ? ", " : "", w->lcore, i, ctx->sm->active[i] ? "true" : "false",
				slots[i], fps[i], ctx->rx_rate[i], w->c.rx, x->local, x->dispatched,
				x->received, x->parked, x->replayed, x->forwarded);
		else
			fprintf(out, "%-6u %-6u %-7s %6u %10.0f %10.0f %12" PRIu64 " %12" PRIu64
				" %12" PRIu64 " %12" PRIu64 " %8" PRIu64 "\n",
				w->lcore, i, ctx->sm->active[i] ? "active" : "drained", slots[i],
				fps[i], ctx->rx_rate[i], w->c.rx, x->local, x->dispatched,
				x->received, x->parked);
	}
	if (json)
		fprintf(out, "]}\n");
}

static int
cmp_rate_desc(const void *a, const void *b, void *arg)
{
	const double *r = arg;
	double x = r[*(const uint32_t *)a], y = r[*(const uint32_t *)b];

	return (x < y) - (x > y);
}

static void
show_shards(struct ctl_context *ctx, FILE *out, bool json)
{
	const struct shard_map *m = ctx->sm->map;
	uint32_t slots[SHARD_WORKERS_MAX];
	double fps[SHARD_WORKERS_MAX], total = 0, max = 0;
	unsigned int n_active = 0;

	slot_counts(ctx, slots, fps);
	for (unsigned int i = 0; i < ctx->n_workers; i++) {
		if (!ctx->sm->active[i])
			continue;
		n_active++;
		total += fps[i];
		if (fps[i] > max)
			max = fps[i];
	}
	double ratio = total > 0 ? max / (total / n_active) : 0;

	if (json) {
		fprintf(out, "{\"n_slots\": %u, \"version\": %" PRIu64 ", \"moves\": %" PRIu64
			", \"slots_moved\": %" PRIu64 ", \"last_move_us\": %.1f, \"max_move_us\": %.1f"
			", \"max_over_mean\": %.3f, \"lcores\": [",
			m->n_slots, m->version, ctx->sm->moves, ctx->sm->slots_moved,
			(double)ctx->sm->last_move_ns / 1e3, (double)ctx->sm->max_move_ns / 1e3, ratio);
		for (unsigned int i = 0; i < ctx->n_workers; i++)
			fprintf(out, "%s{\"lcore\": %u, \"slots\": %u, \"fps\": %.1f}", i ? ", " : "",
				ctx->workers[i].lcore, slots[i], fps[i]);
		fprintf(out, "], \"slots\": [");
		for (uint32_t s = 0; s < m->n_slots; s++)
			fprintf(out, "%s[%u, %.1f]", s ? ", " : "",
				ctx->workers[m->owner[s]].lcore, ctx->sm->slot_rate[s]);
		fprintf(out, "]}\n");
		return;
	}
	fprintf(out, "%u slots, map version %" PRIu64 ", %" PRIu64 " moves (%" PRIu64
		" slots), last move %.0f us\n", m->n_slots, m->version, ctx->sm->moves,
		ctx->sm->slots_moved, (double)ctx->sm->last_move_ns / 1e3);
	fprintf(out, "busiest lcore / mean: %.2f (rebalance target %.2f)\n\n", ratio,
		ctx->rebalance_ratio);
	fprintf(out, "%-6s %6s %12s\n", "lcore", "slots", "frames/s");
	for (unsigned int i = 0; i < ctx->n_workers; i++)
		fprintf(out, "%-6u %6u %12.0f\n", ctx->workers[i].lcore, slots[i], fps[i]);

	uint32_t *order = malloc(sizeof(*order) * m->n_slots);

	if (order == NULL)
		return;
	for (uint32_t s = 0; s < m->n_slots; s++)
		order[s] = s;
	qsort_r(order, m->n_slots, sizeof(*order), cmp_rate_desc, ctx->sm->slot_rate);
	fprintf(out, "\nhottest slots (all %u with --json):\n%-6s %-6s %12s\n", m->n_slots,
		"slot", "lcore", "frames/s");
	for (uint32_t i = 0; i < m->n_slots && i < 16 && ctx->sm->slot_rate[order[i]] > 0; i++)
		fprintf(out, "%-6u %-6u %12.0f\n", order[i],
			ctx->workers[m->owner[order[i]]].lcore, ctx->sm->slot_rate[order[i]]);
	free(order);
}

static void
show_stats(struct ctl_context *ctx, FILE *out, bool json)
{
	struct worker_counters t;
	struct xchg_counters x;

	(void)ctx;
	if (json) {
		gateway_stats_write_json(out);
		return;
	}
	gateway_stats_sum(&t);
	gateway_stats_sum_exchange(&x);
	fprintf(out, "rx %" PRIu64 " tx %" PRIu64 " handoff %" PRIu64 " results %" PRIu64
		"\nreplayed %" PRIu64 " absorbed %" PRIu64 " conflicts %" PRIu64
		" rate_limited %" PRIu64 " malformed_answered %" PRIu64 "\n"
		"local %" PRIu64 " dispatched %" PRIu64 " forwarded %" PRIu64 " parked %" PRIu64
		" park_overflow %" PRIu64 " stage_overflow %" PRIu64 "\ncodes",
		t.rx, t.tx - t.tx_dropped, t.handoff, t.results, t.idem_replayed,
		t.idem_absorbed, t.idem_conflict, t.rate_limited, t.malformed_answered,
		x.local, x.dispatched, x.forwarded, x.parked, x.park_overflow, x.stage_overflow);
	for (int k = 0; k < 100; k++)
		if (t.codes[k])
			fprintf(out, " %02d=%" PRIu64, k, t.codes[k]);
	fprintf(out, "\n");
}

static void
show_banks(struct ctl_context *ctx, FILE *out, bool json)
{
	unsigned int n = control_plane_bank_count(ctx->cp);
	struct bank_info b;

	if (json)
		fprintf(out, "{\"banks\": [");
	else
		fprintf(out, "%-10s %-22s %-10s %6s %9s %8s %8s %9s %9s %9s %9s %9s %9s\n", "bank",
			"address", "breaker", "links", "in_flight", "rev_open", "adv_open",
			"answered", "p50_us", "p99_us", "max_us", "timeouts", "unavail");
	for (unsigned int i = 0; i < n; i++) {
		control_plane_bank_info(ctx->cp, i, &b);
		if (json) {
			fprintf(out, "%s{\"name\": \"%s\", \"host\": \"%s\", \"port\": %u, "
				"\"breaker\": \"%s\", \"breaker_opened\": %" PRIu64 ", \"links\": %u, "
				"\"links_up\": %u, \"in_flight\": %u, \"waiting_durable\": %u, "
				"\"reversals_open\": %u, \"advices_open\": %u, \"answered\": %" PRIu64
				", \"latency_us\": {\"p50\": %.1f, \"p99\": %.1f, \"p999\": %.1f, "
				"\"max\": %.1f}, \"errors\": {\"timeouts\": %" PRIu64
				", \"unavailable\": %" PRIu64 ", \"garbage\": %" PRIu64
				", \"unmatched\": %" PRIu64 ", \"disconnects\": %" PRIu64 "}}",
				i ? ", " : "", b.name, b.host, b.port, breaker_state_name[b.breaker],
				b.breaker_opened, b.links, b.links_up, b.in_flight, b.waiting_durable,
				b.reversals_open, b.advices_open, b.answered, b.p50_us, b.p99_us,
				b.p999_us, b.max_us, b.timeouts, b.unavailable, b.garbage, b.unmatched,
				b.disconnects);
			continue;
		}
		char addr[96];

		snprintf(addr, sizeof(addr), "%s:%u", b.host, b.port);
		fprintf(out, "%-10s %-22s %-10s %3u/%-2u %9u %8u %8u %9" PRIu64 " %9.0f %9.0f %9.0f %9"
			PRIu64 " %9" PRIu64 "\n", b.name, addr, breaker_state_name[b.breaker],
			b.links_up, b.links, b.in_flight, b.reversals_open, b.advices_open, b.answered,
			b.p50_us, b.p99_us, b.max_us, b.timeouts, b.unavailable);
	}
	if (json)
		fprintf(out, "]}\n");
	else
		fprintf(out, "(open reversals and advices are gateway totals; workers' immediate "
			"91s are in show stats as breaker_91)\n");
}

static int
show_merchant(struct ctl_context *ctx, const char *id, FILE *out, bool json,
	      char *err, size_t err_len)
{
	uint8_t key[MERCHANT_ID_LEN];
	size_t len = strlen(id);
	int32_t mi;

	if (len == 0 || len > MERCHANT_ID_LEN) {
		snprintf(err, err_len, "merchant id: 1..%d characters", MERCHANT_ID_LEN);
		return -1;
	}
	/* Field 42 is ans 15, left-justified, space-padded. */
	memset(key, ' ', sizeof(key));
	memcpy(key, id, len);
	mi = merchant_lookup(ctx->merchants, key);
	if (mi < 0) {
		snprintf(err, err_len, "no merchant '%s'", id);
		return -1;
	}
	const struct merchant *mer = &ctx->merchants->merchants[mi];
	const struct shard_map *m = ctx->sm->map;
	uint32_t slot = shard_slot_of(key, MERCHANT_ID_LEN, m->n_slots);
	uint32_t level = token_bucket_level(&ctx->mstate[mi].bucket, rte_rdtsc());

	if (json)
		fprintf(out, "{\"merchant\": \"%s\", \"name\": \"%s\", \"slot\": %u, \"lcore\": %u, "
			"\"bucket_level\": %u, \"rate_tps\": %u, \"burst\": %u, \"slot_fps\": %.1f}\n",
			id, mer->name, slot, ctx->workers[m->owner[slot]].lcore, level,
			mer->rate_tps, mer->burst, ctx->sm->slot_rate[slot]);
	else
		fprintf(out, "merchant %s (%s)\nslot %u on lcore %u, slot %.0f frames/s\n"
			"bucket %u of %u tokens, %u/s\n", id, mer->name, slot,
			ctx->workers[m->owner[slot]].lcore, ctx->sm->slot_rate[slot], level,
			mer->burst, mer->rate_tps);
	return 0;
}

static int
done_moving(int moved, const char *what, FILE *out, bool json, const char *err)
{
	if (moved < 0)
		return -1;
	(void)err;
	if (json)
		fprintf(out, "{\"moved\": %d}\n", moved);
	else
		fprintf(out, "%s: %d slot(s) moved\n", what, moved);
	return 0;
}

int
ctl_execute(struct ctl_context *ctx, const char *line, FILE *out, char *err,
	    size_t err_len)
{
	char buf[CTL_LINE_MAX], *save = NULL, *tok;
	const char *a[ARGS_MAX];
	int n = 0;
	bool json = false;

	if (strlen(line) >= sizeof(buf)) {
		snprintf(err, err_len, "request too long");
		return -1;
	}
	strcpy(buf, line);
	for (tok = strtok_r(buf, " \t\r\n", &save); tok; tok = strtok_r(NULL, " \t\r\n", &save)) {
		if (strcmp(tok, "--json") == 0) {
			json = true;
			continue;
		}
		if (n == ARGS_MAX) {
			snprintf(err, err_len, "too many words");
			return -1;
		}
		a[n++] = tok;
	}
	err[0] = 0;
#define IS(i, w) (n > (i) && strcmp(a[i], (w)) == 0)
	if (n == 2 && IS(0, "show") && IS(1, "shards")) {
		show_shards(ctx, out, json);
		return 0;
	}
	if (n == 2 && IS(0, "show") && IS(1, "lcores")) {
		show_lcores(ctx, out, json);
		return 0;
	}
	if (n == 2 && IS(0, "show") && IS(1, "stats")) {
		show_stats(ctx, out, json);
		return 0;
	}
	if (n == 2 && IS(0, "show") && IS(1, "banks")) {
		show_banks(ctx, out, json);
		return 0;
	}
	if (n == 3 && IS(0, "show") && IS(1, "merchant"))
		return show_merchant(ctx, a[2], out, json, err, err_len);
	if (n == 5 && IS(0, "move") && IS(1, "slot") && IS(3, "to")) {
		char *end;
		unsigned long s = strtoul(a[2], &end, 10);
		int w = worker_of_lcore(ctx, a[4], err, err_len);

		if (*a[2] == 0 || *end != 0 || s >= ctx->sm->map->n_slots) {
			snprintf(err, err_len, "slot: 0..%u", ctx->sm->map->n_slots - 1);
			return -1;
		}
		if (w < 0)
			return -1;
		uint32_t slot = (uint32_t)s;
		uint16_t to = (uint16_t)w;
		int moved = ctx->sm->map->owner[slot] == to ? 0 : 1;

		if (shard_manager_move(ctx->sm, 1, &slot, &to, err, err_len) != 0)
			return -1;
		return done_moving(moved, "move", out, json, err);
	}
	if (n == 3 && (IS(0, "drain") || IS(0, "fill")) && IS(1, "lcore")) {
		int w = worker_of_lcore(ctx, a[2], err, err_len);

		if (w < 0)
			return -1;
		if (IS(0, "drain"))
			return done_moving(shard_manager_drain(ctx->sm, (uint16_t)w, err, err_len),
					   "drain", out, json, err);
		return done_moving(shard_manager_fill(ctx->sm, (uint16_t)w, err, err_len),
				   "fill", out, json, err);
	}
	if ((n == 1 || n == 2) && IS(0, "rebalance")) {
		double ratio = ctx->rebalance_ratio;
		char why[256];
		bool reachable;
		int moved;

		if (n == 2) {
			char *end;

			ratio = strtod(a[1], &end);
			if (*end != 0 || !(ratio >= 1.0 && ratio <= 100.0)) {
				snprintf(err, err_len, "ratio: 1.0..100");
				return -1;
			}
		}
		moved = shard_manager_rebalance(ctx->sm, ratio, &reachable, why, sizeof(why));
		if (moved < 0) {
			snprintf(err, err_len, "%s", why);
			return -1;
		}
		if (json)
			fprintf(out, "{\"moved\": %d, \"ratio\": %.3f, \"reachable\": %s, \"why\": \"%s\"}\n",
				moved, ratio, reachable ? "true" : "false", why);
		else
			fprintf(out, "rebalance to %.2f x mean: %d slot(s) moved%s%s\n", ratio, moved,
				reachable ? "" : "; target not reachable: ", why);
		return 0;
	}
#undef IS
	snprintf(err, err_len, "unknown command; try: show shards|lcores|stats|banks, "
		 "show merchant <id>, move slot <S> to <lcore>, drain lcore <L>, "
		 "fill lcore <L>, rebalance [ratio]");
	return -1;
}

static void
sample(struct ctl_context *ctx, uint64_t *last_ns)
{
	uint64_t t = clock_mono_ns();

	if (t - *last_ns < SAMPLE_MS * 1000000ull)
		return;
	for (unsigned int i = 0; i < ctx->n_workers; i++) {
		uint64_t rx = ctx->workers[i].c.rx;

		ctx->rx_rate[i] = (double)(rx - ctx->rx_prev[i]) * 1e9 / (double)(t - *last_ns);
		ctx->rx_prev[i] = rx;
	}
	shard_manager_sample(ctx->sm);
	*last_ns = t;
}

/* One request: a line (bounded, with a deadline), then the answer. */
static void
serve_one(struct ctl_server *srv, int c)
{
	char line[CTL_LINE_MAX + 1], err[512];
	size_t got = 0;
	struct timeval tv = { .tv_sec = 2 };

	setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	while (got < CTL_LINE_MAX) {
		ssize_t r = read(c, line + got, CTL_LINE_MAX - got);

		if (r <= 0)
			break;
		got += (size_t)r;
		if (memchr(line, '\n', got))
			break;
	}
	line[got] = 0;

	char *nl = strchr(line, '\n');
	char *body = NULL;
	size_t body_len = 0;
	FILE *out = open_memstream(&body, &body_len);
	int rc;

	if (out == NULL)
		return;
	if (nl == NULL) {
		snprintf(err, sizeof(err), got >= CTL_LINE_MAX ? "request too long" :
			 "request must end with a newline");
		rc = -1;
	} else if (memchr(line, 0, (size_t)(nl - line))) {
		snprintf(err, sizeof(err), "request contains NUL");
		rc = -1;
	} else {
		*nl = 0;
		rc = ctl_execute(srv->ctx, line, out, err, sizeof(err));
	}
	fclose(out);

	FILE *sock = fdopen(dup(c), "w");

	if (sock) {
		if (rc == 0)
			fprintf(sock, "ok\n%.*s", (int)body_len, body ? body : "");
		else
			fprintf(sock, "error: %s\n", err);
		fclose(sock);
	}
	free(body);
}

static void *
serve(void *arg)
{
	struct ctl_server *srv = arg;
	uint64_t last = 0;

	while (!*srv->quit) {
		struct pollfd p = { .fd = srv->fd, .events = POLLIN };

		sample(srv->ctx, &last);
		if (poll(&p, 1, 100) <= 0)
			continue;
		int c = accept(srv->fd, NULL, NULL);

		if (c < 0)
			continue;
		serve_one(srv, c);
		close(c);
	}
	close(srv->fd);
	free(srv);
	return NULL;
}

int
ctl_server_start(const char *path, struct ctl_context *ctx, volatile bool *quit,
		 pthread_t *tid, char *err, size_t err_len)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct ctl_server *srv;
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, err_len, "%s: socket path too long", path);
		return -1;
	}
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, err_len, "socket: %s", strerror(errno));
		return -1;
	}
	unlink(path);
	/* Bound already private: no window in which another user connects. */
	mode_t old = umask(0177);
	int ret = bind(fd, (struct sockaddr *)&sa, sizeof(sa));

	umask(old);
	if (ret != 0 || chmod(path, 0600) != 0 || listen(fd, 8) != 0) {
		snprintf(err, err_len, "%s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	srv = malloc(sizeof(*srv));
	if (srv == NULL) {
		close(fd);
		snprintf(err, err_len, "out of memory");
		return -1;
	}
	srv->fd = fd;
	srv->ctx = ctx;
	srv->quit = quit;
	if (rte_ctrl_thread_create(tid, "paygate-ctl", NULL, serve, srv) != 0) {
		close(fd);
		free(srv);
		snprintf(err, err_len, "cannot start the ctl thread");
		return -1;
	}
	return 0;
}
