/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * control_plane - the thread of paygate that is not a worker lcore: drains
 * every worker's hand-off ring, sends the requests to the bank over
 * pipelined ISO 8583/TCP connections, matches answers to requests by
 * auth_key (42 + 41 + 11 + 7), times requests out (91), and returns each
 * record to its worker's to_worker ring.
 *
 * With a journal: a request is journalled before it goes to the bank and
 * sent once that record is durable; every answer and decision is
 * journalled; an approval goes back to its worker only once its decision
 * record is durable. A timeout journals 91 and owes the bank a reversal
 * (owed_queue), itself journalled before it is sent. When the journal
 * refuses (disk failing, buffers full), nothing is sent to the bank and
 * nothing approved: 96.
 *
 * Owns: each bank's connections, breaker and latency histogram, the table
 * of requests at the banks and its timeout order, the owed reversals and
 * advices, the stand-in totals, the requests and approvals waiting for
 * durability, and its counters. Runs on one thread; no locks inside. Its
 * own memory comes from jemalloc and is sized at create time.
 */
#ifndef PAYGATE_CONTROL_PLANE_H
#define PAYGATE_CONTROL_PLANE_H

#include <stdbool.h>
#include <stdint.h>

#include "bank_breaker.h"
#include "bin_route.h"
#include "handoff.h"
#include "journal.h"

struct bank_endpoint {
	char name[32];               /* "default" for [bank], else [bank.NAME] */
	char host[64];               /* IPv4 literal or name */
	uint16_t port;
	uint16_t connections;        /* pipelined TCP connections */
};

struct control_config {
	uint8_t n_banks;             /* bank 0 is the default route */
	struct bank_endpoint banks[BANKS_MAX];
	struct bin_routes routes;    /* BIN ranges -> bank index */
	uint8_t bank_enc;            /* enum iso_bitmap_enc on the bank link */
	uint32_t bank_timeout_ms;    /* per request; then 91 */
	uint32_t inflight_max;       /* requests at the bank at once */
	uint32_t idle_sleep_us;      /* sleep when idle; 0 = spin */
	uint32_t reversal_retry_ms;  /* 0401 repeats */
	uint32_t reversals_max;
	struct breaker_config breaker;
	uint32_t keepalive_ms;       /* 0800 on a link silent this long; 0: off */
	uint32_t checkpoint_ms;      /* journal the open reversals/advices; 0: off */
	struct standin_config {
		uint8_t enabled;
		uint64_t max_amount;      /* per request, minor units */
		uint64_t merchant_limit;  /* stand-in total per merchant until advised */
		uint64_t card_limit;      /* ... per card */
	} standin;
};

#define foreach_control_counter                                              \
	_(handoff_rx, "requests taken from workers")                        \
	_(bank_tx, "requests written to the bank")                          \
	_(bank_rx, "answers read from the bank")                            \
	_(bank_matched, "answers matched to a request")                     \
	_(bank_unmatched, "answers with no request (late or unknown)")      \
	_(bank_garbage, "answers that did not parse")                       \
	_(timeouts, "requests answered 91 after bank_timeout_ms")           \
	_(unavailable, "requests answered 91: no bank link")                \
	_(connects, "bank connections established")                         \
	_(disconnects, "bank connections lost")                             \
	_(result_ring_full, "results that waited for a full worker ring")   \
	_(journal_refused, "requests answered 96: journal refused the record") \
	_(approvals_durable_wait, "approvals held until their record was durable") \
	_(late_answers, "bank answers after the timeout (already reversed)") \
	_(reversals_queued, "reversals owed to the bank")                   \
	_(reversals_sent, "0400/0401 written to the bank")                  \
	_(reversals_acked, "0410 received: reversal settled")               \
	_(reversal_queue_full, "reversals that could not be queued")        \
	_(breaker_rejected, "requests answered 91: breaker not closed")     \
	_(standin_approved, "approved in stand-in (bank unavailable)")      \
	_(declines_journalled, "data-plane declines journalled")            \
	_(standin_over_limit, "stand-in refused (91): over a stand-in limit") \
	_(advices_sent, "0120/0121 written to the bank")                    \
	_(advices_acked, "0130 received: advice settled")                   \
	_(breaker_opened, "times the breaker opened")                       \
	_(echo_sent, "0800 probes sent")                                    \
	_(echo_answered, "0810 received")                                   \
	_(keepalive_sent, "0800 keepalives on silent links")                \
	_(keepalive_failed, "links closed: keepalive unanswered")

struct control_counters {
#define _(name, help) uint64_t name;
	foreach_control_counter
#undef _
};

struct control_plane;

/* journal may be NULL (tests of the bank path alone): then nothing waits. */
struct control_plane *control_plane_create(const struct control_config *cfg,
					   struct handoff_channel *channels,
					   unsigned int n_workers,
					   struct journal *journal);
/* Recovery, before the thread runs: a request found at the bank with no
 * outcome (journals 91 for it and a reversal), and a reversal found sent
 * but not acknowledged (queued again as 0401). 0, or -1 if not queued. */
int control_plane_reverse_orphan(struct control_plane *cp, const uint8_t *msg,
				 uint16_t len, uint8_t enc);
int control_plane_resume_reversal(struct control_plane *cp, const uint8_t *msg,
				  uint16_t len, uint8_t enc);
/* A 0120 advice found sent but not acknowledged: queued again as 0121. */
int control_plane_resume_advice(struct control_plane *cp, const uint8_t *msg,
				uint16_t len, uint8_t enc);
/* The thread's body: returns when *quit becomes true, after handing every
 * record it holds back to its worker (answered 91 if still at the bank). */
int control_plane_run(struct control_plane *cp, volatile bool *quit);
/* Safe to call from another thread: copies counters that are only ever
 * incremented by the control thread (torn reads of a 64-bit counter do not
 * happen on x86-64). */
void control_plane_counters(const struct control_plane *cp,
			    struct control_counters *out);
void control_plane_destroy(struct control_plane *cp);
/* For operators (paygatectl show banks), read from another thread: the
 * values are the control thread's, copied without a lock (counters and
 * histogram buckets only grow; a quantile may be one request stale). */
struct bank_info {
	char name[32];
	char host[64];
	uint16_t port;
	uint8_t breaker;              /* enum breaker_state */
	uint64_t breaker_opened;
	uint32_t links, links_up;
	uint32_t in_flight, waiting_durable, reversals_open, advices_open;
	uint64_t answered;
	double p50_us, p99_us, p999_us, max_us;
	uint64_t timeouts, unavailable;   /* this bank's */
	uint64_t garbage, unmatched, disconnects;
};
unsigned int control_plane_bank_count(const struct control_plane *cp);
void control_plane_bank_info(const struct control_plane *cp, unsigned int bank,
			     struct bank_info *out);

/* Each bank's breaker state (enum breaker_state), indexed like
 * cfg->banks, for the workers: one word per bank, stored with release by
 * the control thread, read once per loop. */
const uint32_t *control_plane_bank_state(const struct control_plane *cp);

#endif /* PAYGATE_CONTROL_PLANE_H */
