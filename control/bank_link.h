/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bank_link - one pipelined TCP connection to a bank: non-blocking connect
 * with exponential backoff (10 ms doubling to 1 s), 2-byte big-endian
 * length framing, read reassembly and a bounded write buffer. Owned by the
 * control thread; knows nothing of ISO 8583 beyond the length header.
 */
#ifndef PAYGATE_BANK_LINK_H
#define PAYGATE_BANK_LINK_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include "iso8583.h"

#define BANK_LINK_RBUF (64 * 1024)
/* Requests waiting for the socket: a bank that stops reading is noticed
 * (send fails, request answered 91) instead of growing memory. */
#define BANK_LINK_WBUF (1024 * 1024)
#define BANK_LINK_BACKOFF_MIN_MS 10
#define BANK_LINK_BACKOFF_MAX_MS 1000

enum bank_link_state { BANK_LINK_DOWN, BANK_LINK_CONNECTING, BANK_LINK_UP };

struct bank_link {
	int fd;
	uint8_t state;
	struct sockaddr_in addr;
	uint64_t retry_at_ns;
	uint32_t backoff_ms;
	uint32_t rlen, wlen, woff;
	uint8_t *rbuf, *wbuf;
	uint64_t connects, disconnects, bad_frames;
	uint64_t last_rx_ns;      /* bytes last read (liveness) */
	uint64_t echo_sent_ns;    /* keepalive 0800 outstanding since; 0: none */
};

typedef void (*bank_link_msg_fn)(void *ctx, const uint8_t *msg, uint16_t len);

int bank_link_init(struct bank_link *l, const struct sockaddr_in *addr);
void bank_link_fini(struct bank_link *l);
/* Move DOWN -> CONNECTING -> UP as time and the socket allow. */
void bank_link_service(struct bank_link *l, uint64_t now_ns);
/* Queue one message; false if the link is not up or its buffer is full. */
bool bank_link_send(struct bank_link *l, const uint8_t *msg, uint16_t len);
/* Write what is queued; false if the link broke. */
bool bank_link_flush(struct bank_link *l, uint64_t now_ns);
/* Read and deliver complete messages; false if the link broke (closed,
 * error, or a length header of 0 or over ISO_MSG_MAX). */
bool bank_link_read(struct bank_link *l, uint64_t now_ns,
		    bank_link_msg_fn fn, void *ctx);

/* Give up on the connection (e.g. an unanswered keepalive); reconnects
 * after the backoff. */
void bank_link_close(struct bank_link *l, uint64_t now_ns);

#endif /* PAYGATE_BANK_LINK_H */
