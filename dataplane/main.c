/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * paygate: EAL, configuration, ports, pools and rings, then the worker
 * lcores and the control-plane thread; the main lcore keeps the clock and
 * waits for a signal, then stops everything in order and writes counters.
 *
 *   paygate <EAL args> -- -c paygate.ini [--stats-file stats.json]
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include <rte_common.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include "clock_ns.h"
#include "config.h"
#include "control_plane.h"
#include "ctl_server.h"
#include "gateway_stats.h"
#include "journal.h"
#include "journal_replay.h"
#include "merchant_table.h"
#include "shard_manager.h"
#include "validate.h"
#include "worker.h"

#define RX_DESC 1024
#define TX_DESC 1024
#define MBUF_CACHE 256
#define REQUEST_CACHE 64
#define BANK_WAIT_MS 3000
#define XCHG_RING_SIZE 4096

static volatile bool workers_quit;
static volatile bool control_quit;
static volatile bool ctl_quit;
static volatile sig_atomic_t signalled;

static struct paygate_config cfg;
static struct merchant_table merchants;
static struct gateway_clock clock_now;
static struct worker *workers;
static unsigned int n_workers;
static struct control_plane *cp;
static struct journal *journal;
static struct shard_manager shards;
static struct ctl_context ctl;

static void
on_signal(int sig)
{
	(void)sig;
	signalled = 1;
}

static void
clock_refresh(void)
{
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	clock_now.year = (uint16_t)(tm.tm_year + 1900);
	clock_now.month = (uint8_t)(tm.tm_mon + 1);
}

static void *
control_thread(void *arg)
{
	control_plane_run(arg, &control_quit);
	return NULL;
}

static int
port_setup(uint16_t port, uint16_t queues, struct rte_mempool *pool)
{
	struct rte_eth_dev_info info;
	struct rte_eth_conf conf = { 0 };
	uint16_t rxd = RX_DESC, txd = TX_DESC;
	int socket = rte_eth_dev_socket_id(port);
	int ret;

	ret = rte_eth_dev_info_get(port, &info);
	if (ret != 0)
		return ret;
	if (queues > info.max_rx_queues || queues > info.max_tx_queues) {
		fprintf(stderr, "paygate: port %u has %u rx / %u tx queues, %u workers need one each\n",
			port, info.max_rx_queues, info.max_tx_queues, queues);
		return -1;
	}
	if (queues > 1 && info.flow_type_rss_offloads) {
		/* RSS spreads clients' flows; one request's frames stay on
		 * one queue. */
		conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
		conf.rx_adv_conf.rss_conf.rss_hf = (RTE_ETH_RSS_IP | RTE_ETH_RSS_UDP) &
						   info.flow_type_rss_offloads;
	}
	ret = rte_eth_dev_configure(port, queues, queues, &conf);
	if (ret != 0)
		return ret;
	ret = rte_eth_dev_adjust_nb_rx_tx_desc(port, &rxd, &txd);
	if (ret != 0)
		return ret;
	for (uint16_t q = 0; q < queues; q++) {
		ret = rte_eth_rx_queue_setup(port, q, rxd, socket, NULL, pool);
		if (ret != 0)
			return ret;
		ret = rte_eth_tx_queue_setup(port, q, txd, socket, NULL);
		if (ret != 0)
			return ret;
	}
	/* Our configured MAC on the port if it takes one; otherwise listen
	 * to everything and let frame_parse filter. */
	if (rte_eth_dev_default_mac_addr_set(port, &cfg.local.mac) != 0)
		rte_eth_promiscuous_enable(port);
	return rte_eth_dev_start(port);
}

static struct slot_state *
alloc_slots(void)
{
	size_t per = idem_table_mem_size(cfg.idem_entries_per_slot);
	struct slot_state *slots = rte_zmalloc("slots", sizeof(*slots) * cfg.slots,
					       RTE_CACHE_LINE_SIZE);
	uint8_t *mem = rte_zmalloc("idem", per * cfg.slots, RTE_CACHE_LINE_SIZE);
	uint64_t ttl = (uint64_t)cfg.idem_ttl_ms * (rte_get_tsc_hz() / 1000);

	if (slots == NULL || mem == NULL)
		return NULL;
	for (uint32_t s = 0; s < cfg.slots; s++)
		idem_table_init(&slots[s].idem, mem + per * s, cfg.idem_entries_per_slot, ttl);
	return slots;
}

struct replay_ctx {
	struct slot_state *slots;
	uint64_t now_real, ttl_ns, now_tsc, ttl_tsc;
	uint64_t restored, expired, orphans, orphans_failed, reversals, reversals_failed;
	uint64_t advices;
};

static void
restore_answer(struct replay_ctx *c, const struct replay_item *it, const char rc[2],
	       const char *auth)
{
	uint32_t slot = shard_slot_of(it->key.b, MERCHANT_ID_LEN, cfg.slots);
	struct idem_table *t = &c->slots[slot].idem;
	uint64_t hash = idem_hash(&it->key);
	struct idem_entry *e = idem_find(t, &it->key, hash, c->now_tsc);

	if (e == NULL)
		e = idem_insert(t, &it->key, hash, it->fingerprint, c->now_tsc);
	e->origin = 0xff;    /* from the journal */
	idem_complete(e, rc, auth, c->now_tsc, c->ttl_tsc);
	c->restored++;
}

static void
replay_one(void *ctx, const struct replay_item *it)
{
	struct replay_ctx *c = ctx;

	if (it->is_owed) {
		/* Owed messages: reversals (04xx) and advices (012x). */
		if (!it->acked && it->msg) {
			bool advice = it->msg_len >= 4 && memcmp(it->msg, "012", 3) == 0;

			if ((advice ? control_plane_resume_advice(cp, it->msg, it->msg_len, it->enc) :
			     control_plane_resume_reversal(cp, it->msg, it->msg_len, it->enc)) == 0)
				*(advice ? &c->advices : &c->reversals) += 1;
			else
				c->reversals_failed++;
		}
		return;
	}
	if (it->has_request && !it->has_decision) {
		/* At the bank when we stopped: 91, and reverse it. */
		if (it->msg && control_plane_reverse_orphan(cp, it->msg, it->msg_len, it->enc) == 0)
			c->orphans++;
		else
			c->orphans_failed++;
		restore_answer(c, it, "91", NULL);
		return;
	}
	if (!it->has_decision || !it->has_request)
		return;
	if (c->now_real > it->time_ns && c->now_real - it->time_ns > c->ttl_ns) {
		c->expired++;
		return;
	}
	restore_answer(c, it, it->rc, it->has_auth_code ? it->auth_code : NULL);
}

/* What the journal remembers goes back where it lives: answers into the
 * slots' idempotency tables (before any worker holds them), reversals
 * into the control plane's queue. */
static void
apply_replay(struct journal_replay *replay, struct slot_state *slots)
{
	struct journal_replay_stats st;
	struct replay_ctx c = { .slots = slots };

	c.now_real = clock_real_ns();
	c.ttl_ns = (uint64_t)cfg.idem_ttl_ms * 1000000ull;
	c.now_tsc = rte_rdtsc();
	c.ttl_tsc = (uint64_t)cfg.idem_ttl_ms * (rte_get_tsc_hz() / 1000);
	journal_replay_each(replay, replay_one, &c);
	journal_replay_get_stats(replay, &st);
	printf("paygate: journal: %" PRIu64 " requests, %" PRIu64 " decisions (%" PRIu64
	       " approvals); %" PRIu64 " answers restored for retransmissions (%" PRIu64
	       " past the TTL); %" PRIu64 " requests found at the bank reversed (%" PRIu64
	       " failed); %" PRIu64 " reversals resumed (%" PRIu64 " failed); %" PRIu64
	       " advices resumed\n",
	       st.requests, st.decisions, st.approvals, c.restored, c.expired, c.orphans,
	       c.orphans_failed, c.reversals, c.reversals_failed, c.advices);
}

/* One SP/SC ring per ordered pair of workers, a command ring each, and
 * the initial map, which also says which worker holds which slot. */
static int
exchange_setup(void)
{
	struct shard_exchange *xs[SHARD_WORKERS_MAX];
	char name[RTE_RING_NAMESIZE];

	for (unsigned int i = 0; i < n_workers; i++) {
		int socket = (int)rte_lcore_to_socket_id(workers[i].lcore);

		for (unsigned int j = 0; j < n_workers; j++) {
			if (i == j)
				continue;
			snprintf(name, sizeof(name), "xchg_%u_%u", i, j);
			struct rte_ring *r = rte_ring_create(name, XCHG_RING_SIZE,
				(int)rte_lcore_to_socket_id(workers[j].lcore),
				RING_F_SP_ENQ | RING_F_SC_DEQ);

			if (r == NULL)
				return -1;
			workers[i].x.out[j] = r;
			workers[j].x.in[i] = r;
		}
		snprintf(name, sizeof(name), "xchg_cmd_%u", i);
		workers[i].x.cmd = rte_ring_create(name, 64, socket, RING_F_SC_DEQ);
		if (workers[i].x.cmd == NULL)
			return -1;
		xs[i] = &workers[i].x;
	}
	return shard_manager_init(&shards, cfg.slots, (uint16_t)n_workers, xs,
				  workers[0].slots);
}

static void
usage(const char *prog)
{
	fprintf(stderr, "usage: %s <EAL args> -- -c paygate.ini [--stats-file FILE]\n", prog);
	exit(2);
}

static void
print_summary(void)
{
	struct worker_counters t;
	struct control_counters cc;

	gateway_stats_sum(&t);
	control_plane_counters(cp, &cc);
	printf("paygate: rx %lu tx %lu handoff %lu results %lu replayed %lu absorbed %lu "
	       "conflicts %lu rate_limited %lu malformed_answered %lu\n",
	       t.rx, t.tx - t.tx_dropped, t.handoff, t.results, t.idem_replayed,
	       t.idem_absorbed, t.idem_conflict, t.rate_limited, t.malformed_answered);
	printf("paygate: bank tx %lu rx %lu matched %lu timeouts %lu unavailable %lu\n",
	       cc.bank_tx, cc.bank_rx, cc.bank_matched, cc.timeouts, cc.unavailable);
	printf("paygate: codes");
	for (int k = 0; k < 100; k++)
		if (t.codes[k])
			printf(" %02d=%lu", k, t.codes[k]);
	printf("\n");
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "stats-file", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config_path = NULL, *stats_path = NULL;
	char err[1024];
	int ret, opt;

	ret = rte_eal_init(argc, argv);
	if (ret < 0)
		rte_exit(EXIT_FAILURE, "EAL init failed\n");
	argc -= ret;
	argv += ret;
	while ((opt = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
		switch (opt) {
		case 'c': config_path = optarg; break;
		case 's': stats_path = optarg; break;
		default: usage(argv[0]);
		}
	}
	if (config_path == NULL)
		usage(argv[0]);
	if (paygate_config_load(config_path, &cfg, err, sizeof(err)) != 0)
		rte_exit(EXIT_FAILURE, "paygate: %s\n", err);
	if (merchant_table_load(&merchants, cfg.merchants_path, err, sizeof(err)) != 0)
		rte_exit(EXIT_FAILURE, "paygate: %s\n", err);
	clock_refresh();

	n_workers = rte_lcore_count() - 1;
	if (n_workers == 0 || n_workers > SHARD_WORKERS_MAX)
		rte_exit(EXIT_FAILURE, "paygate: %u worker lcores; give 1..%u besides the main lcore\n",
			 n_workers, SHARD_WORKERS_MAX);
	uint16_t n_ports = rte_eth_dev_count_avail();

	if (n_ports == 0 || n_ports > WORKER_PORTS_MAX)
		rte_exit(EXIT_FAILURE, "paygate: %u ports; need 1..%u (a NIC or a --vdev)\n",
			 n_ports, WORKER_PORTS_MAX);

	struct rte_mempool *mbufs = rte_pktmbuf_pool_create("mbufs", cfg.mbufs, MBUF_CACHE,
		0, RTE_MBUF_DEFAULT_BUF_SIZE, (int)rte_socket_id());
	struct rte_mempool *requests = rte_mempool_create("auth_requests", cfg.requests_max,
		sizeof(struct auth_request), REQUEST_CACHE, 0, NULL, NULL, NULL, NULL,
		(int)rte_socket_id(), 0);

	if (mbufs == NULL || requests == NULL)
		rte_exit(EXIT_FAILURE, "paygate: cannot create pools (%u mbufs, %u records): %s\n",
			 cfg.mbufs, cfg.requests_max, rte_strerror(rte_errno));

	struct slot_state *slots = alloc_slots();
	struct merchant_state *mstate = rte_zmalloc("merchant_state",
		sizeof(*mstate) * (merchants.n ? merchants.n : 1), RTE_CACHE_LINE_SIZE);

	if (slots == NULL || mstate == NULL)
		rte_exit(EXIT_FAILURE, "paygate: cannot allocate %u slots of %u idempotency entries\n",
			 cfg.slots, cfg.idem_entries_per_slot);
	for (uint32_t i = 0; i < merchants.n; i++)
		token_bucket_init(&mstate[i].bucket, rte_get_tsc_hz(),
				  merchants.merchants[i].rate_tps, merchants.merchants[i].burst,
				  rte_rdtsc());

	uint16_t port_ids[WORKER_PORTS_MAX], pi = 0, port;

	RTE_ETH_FOREACH_DEV(port)
		port_ids[pi++] = port;

	workers = rte_zmalloc("workers", sizeof(*workers) * n_workers, RTE_CACHE_LINE_SIZE);
	struct handoff_channel *channels = rte_zmalloc("channels",
		sizeof(*channels) * n_workers, 0);

	if (workers == NULL || channels == NULL)
		rte_exit(EXIT_FAILURE, "paygate: out of memory\n");

	unsigned int lcore, wi = 0;

	RTE_LCORE_FOREACH_WORKER(lcore) {
		struct worker *w = &workers[wi];
		char name[RTE_RING_NAMESIZE];

		snprintf(name, sizeof(name), "to_control_%u", wi);
		channels[wi].to_control = rte_ring_create(name, cfg.ring_size,
			(int)rte_lcore_to_socket_id(lcore), RING_F_SP_ENQ | RING_F_SC_DEQ);
		snprintf(name, sizeof(name), "to_worker_%u", wi);
		channels[wi].to_worker = rte_ring_create(name, cfg.ring_size,
			(int)rte_lcore_to_socket_id(lcore), RING_F_SP_ENQ | RING_F_SC_DEQ);
		if (channels[wi].to_control == NULL || channels[wi].to_worker == NULL)
			rte_exit(EXIT_FAILURE, "paygate: cannot create rings\n");
		if (cfg.journal_declines_per_s) {
			static struct rte_mempool *notes;

			if (notes == NULL)
				notes = rte_mempool_create("decline_notes", 65535,
					sizeof(struct decline_note), 256, 0, NULL, NULL, NULL, NULL,
					(int)rte_socket_id(), 0);
			snprintf(name, sizeof(name), "to_journal_%u", wi);
			channels[wi].to_journal = rte_ring_create(name, 16384,
				(int)rte_lcore_to_socket_id(lcore), RING_F_SP_ENQ | RING_F_SC_DEQ);
			channels[wi].note_pool = notes;
			if (notes == NULL || channels[wi].to_journal == NULL)
				rte_exit(EXIT_FAILURE, "paygate: cannot create the decline journal ring\n");
		}
		w->index = (uint16_t)wi;
		w->queue = (uint16_t)wi;
		w->lcore = lcore;
		w->n_ports = pi;
		memcpy(w->ports, port_ids, sizeof(port_ids));
		w->cfg = &cfg;
		w->merchants = &merchants;
		w->mstate = mstate;
		w->slots = slots;
		w->map_ref = &shards.map;
		w->x.n_workers = (uint16_t)n_workers;
		w->clock = &clock_now;
		w->mbuf_pool = mbufs;
		w->request_pool = requests;
		w->channel = channels[wi];
		w->quit = &workers_quit;
		if (worker_init(w, (int)rte_lcore_to_socket_id(lcore)) != 0)
			rte_exit(EXIT_FAILURE, "paygate: worker %u: out of memory for its tables\n", wi);
		wi++;
	}

	if (exchange_setup() != 0)
		rte_exit(EXIT_FAILURE, "paygate: cannot create the workers' exchange rings\n");

	/* Checkpoints older than the TTL bound what later starts must read. */
	uint64_t cutoff = clock_real_ns() - (uint64_t)cfg.idem_ttl_ms * 1000000ull;
	struct journal_replay *replay = journal_replay_create(cutoff);
	struct journal_recovery jr;

	if (replay == NULL || (mkdir(cfg.journal.dir, 0700) != 0 && errno != EEXIST))
		rte_exit(EXIT_FAILURE, "paygate: journal directory %s: %s\n", cfg.journal.dir,
			 strerror(errno));
	if (journal_recover(cfg.journal.dir, journal_replay_add, replay, &jr, err, sizeof(err)) != 0)
		rte_exit(EXIT_FAILURE, "paygate: journal recovery: %s\n", err);
	printf("paygate: journal: %" PRIu64 " records in %" PRIu64 " segments read in %.1f ms\n",
	       jr.records, jr.segments, (double)jr.elapsed_ns / 1e6);
	if (jr.torn_bytes)
		printf("paygate: journal: torn tail: %" PRIu64 " bytes cut from %s\n",
		       jr.torn_bytes, jr.torn_segment);
	if (journal_replay_horizon(replay) > 0) {
		int moved = journal_archive(cfg.journal.dir, journal_replay_horizon(replay), err,
					    sizeof(err));

		if (moved < 0)
			fprintf(stderr, "paygate: journal: archiving: %s\n", err);
		else if (moved > 0)
			printf("paygate: journal: %d segments before the checkpoint at seq %" PRIu64
			       " archived\n", moved, journal_replay_horizon(replay));
	}
	journal = journal_open(&cfg.journal, jr.next_seq, err, sizeof(err));
	if (journal == NULL)
		rte_exit(EXIT_FAILURE, "paygate: journal: %s\n", err);

	cp = control_plane_create(&cfg.control, channels, n_workers, journal);
	if (cp == NULL)
		rte_exit(EXIT_FAILURE, "paygate: cannot create the control plane\n");
	apply_replay(replay, slots);
	for (unsigned int i = 0; i < n_workers; i++)
		workers[i].bank_state = control_plane_bank_state(cp);
	journal_replay_destroy(replay);
	gateway_stats_init(workers, n_workers, cp);
	gateway_stats_set_shards(&shards);
	gateway_stats_set_journal(journal);

	struct sigaction act = { .sa_handler = on_signal };

	sigaction(SIGINT, &act, NULL);
	sigaction(SIGTERM, &act, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* A journal that may not grow (RLIMIT_FSIZE) must fail closed, not
	 * kill the gateway: write() then returns EFBIG. */
	signal(SIGXFSZ, SIG_IGN);

	pthread_t cp_tid;

	if (rte_ctrl_thread_create(&cp_tid, "paygate-cp", NULL, control_thread, cp) != 0)
		rte_exit(EXIT_FAILURE, "paygate: cannot start the control-plane thread\n");
	/* The journal writer goes where DPDK puts control threads: off the
	 * workers' CPUs, or it waits behind a busy poller for its slice. */
	cpu_set_t ctl_cpus;

	if (pthread_getaffinity_np(cp_tid, sizeof(ctl_cpus), &ctl_cpus) == 0)
		journal_set_affinity(journal, &ctl_cpus);
	/* Open for traffic once the bank can be asked, so that requests
	 * arriving in the first milliseconds do not all get 91; a bank that
	 * stays away does not stop the gateway (it answers 91 as it must). */
	struct control_counters cc;

	for (int i = 0; i < BANK_WAIT_MS / 10; i++) {
		control_plane_counters(cp, &cc);
		if (cc.connects > 0)
			break;
		usleep(10 * 1000);
	}
	if (cc.connects == 0)
		fprintf(stderr, "paygate: bank %s:%u not reachable yet; starting anyway\n",
			cfg.control.banks[0].host, cfg.control.banks[0].port);
	for (uint16_t i = 0; i < pi; i++)
		if (port_setup(port_ids[i], (uint16_t)n_workers, mbufs) != 0)
			rte_exit(EXIT_FAILURE, "paygate: port %u setup failed\n", port_ids[i]);

	wi = 0;
	RTE_LCORE_FOREACH_WORKER(lcore)
		rte_eal_remote_launch(worker_main, &workers[wi++], lcore);

	ctl = (struct ctl_context){
		.sm = &shards, .workers = workers, .n_workers = n_workers,
		.merchants = &merchants, .mstate = mstate,
		.rebalance_ratio = cfg.rebalance_ratio, .cp = cp,
	};
	pthread_t ctl_tid;

	if (ctl_server_start(cfg.ctl_socket, &ctl, &ctl_quit, &ctl_tid, err, sizeof(err)) != 0)
		rte_exit(EXIT_FAILURE, "paygate: control socket: %s\n", err);

	printf("paygate: running: %u worker(s), %u port(s), %u merchants, %u slots, bank %s:%u, "
	       "ctl %s\n", n_workers, pi, merchants.n, cfg.slots, cfg.control.banks[0].host,
	       cfg.control.banks[0].port, cfg.ctl_socket);
	fflush(stdout);

	while (!signalled) {
		usleep(100 * 1000);
		clock_refresh();
	}

	/* Stop in the order data flows: no more moves; the control plane
	 * hands back what it holds (as 91), workers answer it, then stop. */
	ctl_quit = true;
	pthread_join(ctl_tid, NULL);
	unlink(cfg.ctl_socket);
	control_quit = true;
	pthread_join(cp_tid, NULL);
	journal_close(journal);
	usleep(50 * 1000);
	workers_quit = true;
	rte_eal_mp_wait_lcore();
	/* An outcome may hop once more to the slot's holder: a few rounds. */
	for (int round = 0; round < 4; round++)
		for (unsigned int i = 0; i < n_workers; i++)
			worker_drain_results(&workers[i]);

	print_summary();
	if (stats_path) {
		FILE *f = fopen(stats_path, "w");

		if (f == NULL || gateway_stats_write_json(f) != 0 || fclose(f) != 0)
			fprintf(stderr, "paygate: cannot write %s\n", stats_path);
	}
	RTE_ETH_FOREACH_DEV(port) {
		rte_eth_dev_stop(port);
		rte_eth_dev_close(port);
	}
	control_plane_destroy(cp);
	rte_eal_cleanup();
	return 0;
}
