/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ctl_server - the gateway's operator socket (UNIX stream, mode 0600),
 * served by one control thread: one request per connection, one line in,
 * "ok\n" or "error: ...\n" then the body out. Verbs: show shards|lcores|
 * stats|banks|merchant <id>, move slot <S> to <lcore>, drain lcore <L>,
 * fill lcore <L>, rebalance [ratio]; "--json" anywhere for JSON.
 *
 * Owns the socket and the shard manager's calls (one move at a time, by
 * construction). Reads workers' counters; writes nothing they own.
 */
#ifndef PAYGATE_CTL_SERVER_H
#define PAYGATE_CTL_SERVER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>

#include "control_plane.h"
#include "ctl_protocol.h"
#include "merchant_table.h"
#include "shard_manager.h"
#include "slot_state.h"
#include "worker.h"

struct ctl_context {
	struct shard_manager *sm;
	struct worker *workers;
	unsigned int n_workers;
	const struct merchant_table *merchants;
	const struct merchant_state *mstate;
	double rebalance_ratio;
	const struct control_plane *cp;
	/* rates, refreshed with the shard manager's */
	uint64_t rx_prev[SHARD_WORKERS_MAX];
	double rx_rate[SHARD_WORKERS_MAX];
};

/* Run one command line; body to out. 0 ok, -1 refused (message in err). */
int ctl_execute(struct ctl_context *ctx, const char *line, FILE *out,
		char *err, size_t err_len);

/* Bind path (replacing a stale socket), chmod 0600, serve until *quit. */
int ctl_server_start(const char *path, struct ctl_context *ctx,
		     volatile bool *quit, pthread_t *tid, char *err, size_t err_len);

#endif /* PAYGATE_CTL_SERVER_H */
