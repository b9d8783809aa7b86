/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * journal - paygate's durable memory of money: every request handed to a
 * bank, every bank answer and every decision sent for it, reversals and
 * stand-in advices owed and settled, checkpoints of what is still owed,
 * and (best effort) the workers' declines, in append-only segment files
 * made durable by group commit.
 *
 * Record on disk (little-endian, as the machines it runs on):
 *   u32 len      bytes after this header
 *   u32 crc      CRC32C (rte_hash_crc) of seq, type and the payload
 *   u64 seq      1, 2, 3, ... with no gap, across segments
 *   u8  type     enum journal_type
 *   payload      struct journal_entry's fixed part, then msg_len bytes
 * Segments are files "<first seq, 20 digits>.jnl", mode 0600: request
 * records hold the card number (reversals and settlement need it); nothing
 * else paygate writes does.
 *
 * Group commit: journal_append() copies a record into the open batch and
 * returns its seq; a writer thread closes the batch when it reaches
 * batch_bytes or has been open batch_us, and makes it durable with one
 * write() and one fdatasync(). journal_durable() is the highest seq known
 * durable. A failed write (ENOSPC, EIO) is undone (the segment truncated
 * back), counted, and retried until it succeeds; meanwhile nothing becomes
 * durable and appends fail once the spare buffer is full: callers fail
 * closed.
 *
 * Owns its files, its two batch buffers and its writer thread. Appends
 * come from one thread (the control plane).
 */
#ifndef PAYGATE_JOURNAL_H
#define PAYGATE_JOURNAL_H

#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "handoff.h"

enum journal_type {
	JOURNAL_REQUEST = 1,     /* handed to the bank: the message as sent */
	JOURNAL_BANK_ANSWER,     /* rc, auth code from the bank */
	JOURNAL_DECISION,        /* what the client was (or will be) told */
	JOURNAL_REVERSAL_SENT,   /* 0400/0401 for key sent: the message */
	JOURNAL_REVERSAL_ACK,    /* the bank acknowledged it */
	JOURNAL_ADVICE_SENT,     /* 0120 of a stand-in approval: the message */
	JOURNAL_ADVICE_ACK,      /* 0130 received */
	JOURNAL_CHECKPOINT_OWED, /* an owed message still open at a checkpoint */
	JOURNAL_CHECKPOINT,      /* ... end of the checkpoint's list */
	JOURNAL_TYPE_MAX,
};

extern const char *const journal_type_name[JOURNAL_TYPE_MAX];

struct journal_entry {
	uint64_t seq;            /* set by append / scan */
	uint8_t type;
	uint8_t outcome;         /* enum auth_outcome, for decisions */
	uint8_t has_auth_code;
	uint8_t enc;             /* enum iso_bitmap_enc of msg */
	char rc[2];
	char auth_code[ISO_AUTH_CODE_LEN];
	uint64_t time_ns;        /* CLOCK_REALTIME */
	struct auth_key key;
	uint16_t msg_len;
	uint8_t msg[ISO_MSG_MAX];
};

struct journal_config {
	char dir[PATH_MAX];
	uint64_t segment_bytes;  /* a new segment after this much */
	uint32_t batch_us;       /* a batch closes after this long ... */
	uint32_t batch_bytes;    /* ... or this big */
	uint32_t buffer_bytes;   /* each of the two batch buffers */
};

struct journal_stats {
	uint64_t appended, append_refused;
	uint64_t commits, committed_records, committed_bytes;
	uint64_t write_errors, segments;
	uint64_t commit_ns_total, commit_ns_max; /* write + fdatasync */
};

struct journal;

/* Encode e (seq, type set) into buf; returns bytes, 0 if cap too small. */
size_t journal_encode(const struct journal_entry *e, uint8_t *buf, size_t cap);
/* Decode one record at buf; returns its size, 0 if incomplete, or
 * (size_t)-1 if it is damaged (bad length, type or checksum). */
size_t journal_decode(const uint8_t *buf, size_t len, struct journal_entry *e);

struct journal_recovery {
	uint64_t records;        /* good records read */
	uint64_t segments;
	uint64_t next_seq;       /* what the journal continues with */
	uint64_t torn_bytes;     /* cut from the end of the last segment */
	char torn_segment[PATH_MAX + 64];
	uint64_t elapsed_ns;
};

typedef void journal_scan_fn(void *ctx, const struct journal_entry *e);

/* Read every segment in order, calling fn for each good record. A damaged
 * or incomplete tail of the last segment is cut off (reported in rep);
 * damage anywhere else, or a gap in seq, is an error: -1 and err set. */
int journal_recover(const char *dir, journal_scan_fn *fn, void *ctx,
		    struct journal_recovery *rep, char *err, size_t err_len);

/* Move the segments that hold only records with seq < below_seq into
 * DIR/archive/ (kept for settlement, not read by recovery). Returns the
 * number moved, or -1 with err set. */
int journal_archive(const char *dir, uint64_t below_seq, char *err, size_t err_len);

/* The same, reading only: a torn tail is reported, not cut (tools). */
int journal_scan(const char *dir, journal_scan_fn *fn, void *ctx,
		 struct journal_recovery *rep, char *err, size_t err_len);

/* Open for appending after recovery (a new segment at next_seq) and start
 * the writer thread. NULL and err set on failure. */
struct journal *journal_open(const struct journal_config *cfg, uint64_t next_seq,
			     char *err, size_t err_len);
/* Run the writer thread on these CPUs (the gateway's control threads'
 * set: never a busy-polling worker's CPU). */
int journal_set_affinity(struct journal *j, const cpu_set_t *cpus);
/* Flush what is appended, stop the writer, close. */
void journal_close(struct journal *j);

/* Copy e into the open batch; returns its seq, or 0 when refused (batch
 * buffers full, e.g. the disk has been failing). */
uint64_t journal_append(struct journal *j, struct journal_entry *e);
/* Highest seq that is durable (0: none yet). */
uint64_t journal_durable(const struct journal *j);
/* True while writes are failing. */
bool journal_failing(const struct journal *j);
void journal_get_stats(const struct journal *j, struct journal_stats *out);

#endif /* PAYGATE_JOURNAL_H */
