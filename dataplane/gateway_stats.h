/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * gateway_stats - the gateway's counters for operators and tests: the
 * telemetry commands /paygate/stats (totals, codes, drops, control plane)
 * and /paygate/worker,<n>, and the JSON file written at exit. Reads the
 * workers' and the control plane's counters; writes nothing they own.
 */
#ifndef PAYGATE_GATEWAY_STATS_H
#define PAYGATE_GATEWAY_STATS_H

#include <stdio.h>

#include "control_plane.h"
#include "journal.h"
#include "shard_manager.h"
#include "worker.h"

void gateway_stats_init(struct worker *workers, unsigned int n,
			struct control_plane *cp);
void gateway_stats_sum(struct worker_counters *total);
void gateway_stats_sum_exchange(struct xchg_counters *total);
void gateway_stats_set_shards(const struct shard_manager *sm);
void gateway_stats_set_journal(const struct journal *j);
int gateway_stats_write_json(FILE *f);

#endif /* PAYGATE_GATEWAY_STATS_H */
