/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * paygate-banksim - an issuer that speaks ISO 8583 over TCP (2-byte
 * big-endian length, pipelined), decides from card accounts in a CSV file,
 * and answers after a configurable latency, so that the gateway can be run
 * and tested against something that behaves like a bank.
 *
 * One thread, epoll, non-blocking sockets. Answers wait in a min-heap by due
 * time, so a connection's answers may overtake each other as latencies vary,
 * as they do at a real issuer.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "card_accounts.h"
#include "iso8583.h"
#include "latency_model.h"

#include <sys/un.h>

#define CONN_MAX 256
#define RBUF_SIZE (64 * 1024)
#define WBUF_MAX (8 * 1024 * 1024)  /* per connection: a stuck reader is cut */
#define HEAP_MAX (1u << 20)         /* answers waiting for their due time */

struct conn {
	int fd;
	uint32_t gen;        /* answers for a closed connection are dropped */
	uint32_t rlen;
	uint8_t *rbuf;
	uint8_t *wbuf;
	uint32_t wlen, woff, wcap;
};

struct delayed {
	uint64_t due_ns;
	uint32_t conn, gen;
	uint16_t len;
	uint8_t *data;       /* length header + message */
};

#define foreach_bank_counter                \
	_(connections)                      \
	_(requests)                         \
	_(answers)                          \
	_(dropped_unanswerable)             \
	_(bad_length_header)                \
	_(answers_to_closed)                \
	_(heap_full)                        \
	_(stalled)                          \
	_(dropped)                          \
	_(garbage)                          \
	_(refused)

static struct {
#define _(n) uint64_t n;
	foreach_bank_counter
#undef _
	uint64_t by_mti[10000];
	uint64_t by_rc[100];
} stats;

static struct conn conns[CONN_MAX];
static struct delayed *heap;
static uint32_t heap_n;
static struct card_accounts accounts;
static struct latency_model latency;
static enum iso_bitmap_enc bitmap_enc = ISO_BITMAP_BINARY;
static volatile sig_atomic_t quit, dump;
static const char *balances_path;
static int epfd;

/* Faults, set at run time over the control socket (--ctl). */
static struct {
	bool stall;          /* read requests, never answer (no debit) */
	bool refuse;         /* listening socket closed */
	double drop;         /* share of requests ignored (no debit) */
	double garbage;      /* share answered with bytes that do not parse */
	uint64_t rng;
} fault = { .rng = 0x9e3779b97f4a7c15ull };

static double
fault_rand01(void)
{
	fault.rng ^= fault.rng << 13;
	fault.rng ^= fault.rng >> 7;
	fault.rng ^= fault.rng << 17;
	return (double)(fault.rng >> 11) / 9007199254740992.0;
}

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void
on_signal(int sig)
{
	if (sig == SIGUSR1)
		dump = 1;
	else
		quit = 1;
}

static void
heap_push(struct delayed d)
{
	uint32_t i = heap_n++;

	while (i > 0) {
		uint32_t parent = (i - 1) / 2;

		if (heap[parent].due_ns <= d.due_ns)
			break;
		heap[i] = heap[parent];
		i = parent;
	}
	heap[i] = d;
}

static struct delayed
heap_pop(void)
{
	struct delayed top = heap[0], last = heap[--heap_n];
	uint32_t i = 0;

	for (;;) {
		uint32_t c = 2 * i + 1;

		if (c >= heap_n)
			break;
		if (c + 1 < heap_n && heap[c + 1].due_ns < heap[c].due_ns)
			c++;
		if (last.due_ns <= heap[c].due_ns)
			break;
		heap[i] = heap[c];
		i = c;
	}
	if (heap_n > 0)
		heap[i] = last;
	return top;
}

static void
conn_close(uint32_t i)
{
	struct conn *c = &conns[i];

	if (c->fd < 0)
		return;
	epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->fd = -1;
	c->gen++;
	c->rlen = 0;
	c->wlen = c->woff = 0;
}

static void
conn_flush(uint32_t i)
{
	struct conn *c = &conns[i];

	while (c->woff < c->wlen) {
		ssize_t n = write(c->fd, c->wbuf + c->woff, c->wlen - c->woff);

		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			conn_close(i);
			return;
		}
		c->woff += (uint32_t)n;
	}
	if (c->woff == c->wlen)
		c->woff = c->wlen = 0;
	struct epoll_event ev = {
		.events = EPOLLIN | (c->wlen ? EPOLLOUT : 0),
		.data.u32 = i,
	};
	epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

static void
conn_send(uint32_t i, const uint8_t *data, uint32_t len)
{
	struct conn *c = &conns[i];

	if (c->wlen + len > c->wcap) {
		if (c->woff > 0) {
			memmove(c->wbuf, c->wbuf + c->woff, c->wlen - c->woff);
			c->wlen -= c->woff;
			c->woff = 0;
		}
		while (c->wlen + len > c->wcap && c->wcap < WBUF_MAX) {
			c->wcap = c->wcap ? c->wcap * 2 : 65536;
			c->wbuf = realloc(c->wbuf, c->wcap);
		}
		if (c->wlen + len > c->wcap) {
			fprintf(stderr, "banksim: connection %u not reading; closed\n", i);
			conn_close(i);
			return;
		}
	}
	memcpy(c->wbuf + c->wlen, data, len);
	c->wlen += len;
}

static void
answer(uint32_t ci, const struct iso_msg *req, const char rc[2],
       const char *auth_code)
{
	uint8_t buf[ISO_MSG_MAX + 2];
	int len = iso_response_build(buf + 2, ISO_MSG_MAX, bitmap_enc, req, rc,
				     auth_code);

	if (len < 0) {
		stats.dropped_unanswerable++;
		return;
	}
	buf[0] = (uint8_t)(len >> 8);
	buf[1] = (uint8_t)len;
	stats.by_rc[(rc[0] - '0') * 10 + (rc[1] - '0')]++;
	stats.answers++;

	uint64_t delay = latency_sample_ns(&latency);

	if (delay == 0) {
		conn_send(ci, buf, (uint32_t)len + 2);
		return;
	}
	if (heap_n >= HEAP_MAX) {
		stats.heap_full++;
		conn_send(ci, buf, (uint32_t)len + 2);
		return;
	}
	struct delayed d = {
		.due_ns = now_ns() + delay,
		.conn = ci,
		.gen = conns[ci].gen,
		.len = (uint16_t)(len + 2),
		.data = malloc((size_t)len + 2),
	};

	memcpy(d.data, buf, (size_t)len + 2);
	heap_push(d);
}

/* Terminal (41) + STAN (11) + transmission time (7), all fixed length. */
static bool
txn_key(const struct iso_msg *m, uint8_t key[CARD_TXN_KEY_LEN])
{
	if (!iso_has(m, 41) || !iso_has(m, 11) || !iso_has(m, 7))
		return false;
	memcpy(key, iso_field_ptr(m, 41), 8);
	memcpy(key + 8, iso_field_ptr(m, 11), 6);
	memcpy(key + 14, iso_field_ptr(m, 7), 10);
	return true;
}

static void
handle_message(uint32_t ci, const uint8_t *msg, uint16_t len)
{
	struct iso_msg m;
	struct card_result r;
	uint8_t key[CARD_TXN_KEY_LEN];
	uint64_t amount;

	stats.requests++;
	if (fault.stall) {
		stats.stalled++;
		return;
	}
	if (fault.drop > 0 && fault_rand01() < fault.drop) {
		stats.dropped++;
		return;
	}
	if (fault.garbage > 0 && fault_rand01() < fault.garbage) {
		static const uint8_t junk[] = { 0, 6, '0', '1', 'x', '?', 0xff, 0 };

		stats.garbage++;
		conn_send(ci, junk, sizeof(junk));
		return;
	}
	iso_parse(&m, msg, len, bitmap_enc);
	if (m.status == ISO_PARSE_NO_MTI || m.status == ISO_PARSE_BITMAP ||
	    m.status == ISO_PARSE_TERTIARY || !iso_has(&m, 11) ||
	    !iso_mti_is_request(m.mti)) {
		stats.dropped_unanswerable++;
		return;
	}
	stats.by_mti[m.mti]++;
	if (m.status != ISO_PARSE_OK) {
		answer(ci, &m, "30", NULL);
		return;
	}
	switch (m.mti) {
	case 100:
	case 200:
		if (!iso_has(&m, 2) || !iso_field_u64(&m, 4, &amount) ||
		    !txn_key(&m, key)) {
			answer(ci, &m, "30", NULL);
			return;
		}
		card_authorise(&accounts, (const char *)iso_field_ptr(&m, 2),
			       iso_field_len(&m, 2), (int64_t)amount, key, &r);
		answer(ci, &m, r.rc, r.has_auth_code ? r.auth_code : NULL);
		return;
	case 120:
	case 121:
		if (!iso_has(&m, 2) || !iso_field_u64(&m, 4, &amount) || !txn_key(&m, key) ||
		    !iso_has(&m, 38) || iso_field_len(&m, 38) != 6) {
			answer(ci, &m, "30", NULL);
			return;
		}
		card_advise(&accounts, (const char *)iso_field_ptr(&m, 2), iso_field_len(&m, 2),
			    (int64_t)amount, key, (const char *)iso_field_ptr(&m, 38), &r);
		answer(ci, &m, r.rc, NULL);
		return;
	case 400:
	case 401:
		if (!iso_has(&m, 90) || !iso_has(&m, 41)) {
			answer(ci, &m, "30", NULL);
			return;
		}
		/* 90: orig MTI (4), orig STAN (6), orig field 7 (10), ... */
		memcpy(key, iso_field_ptr(&m, 41), 8);
		memcpy(key + 8, iso_field_ptr(&m, 90) + 4, 6);
		memcpy(key + 14, iso_field_ptr(&m, 90) + 10, 10);
		card_reverse(&accounts, key, &r);
		answer(ci, &m, r.rc, NULL);
		return;
	case 800:
		answer(ci, &m, "00", NULL);
		return;
	default:
		answer(ci, &m, "12", NULL);
		return;
	}
}

static void
conn_read(uint32_t i)
{
	struct conn *c = &conns[i];

	for (;;) {
		ssize_t n = read(c->fd, c->rbuf + c->rlen, RBUF_SIZE - c->rlen);

		if (n == 0) {
			conn_close(i);
			return;
		}
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			conn_close(i);
			return;
		}
		c->rlen += (uint32_t)n;

		uint32_t off = 0;

		while (c->rlen - off >= 2) {
			uint32_t mlen = ((uint32_t)c->rbuf[off] << 8) | c->rbuf[off + 1];

			if (mlen == 0 || mlen > ISO_MSG_MAX) {
				/* The stream has lost its framing; nothing after
				 * this point can be trusted. */
				stats.bad_length_header++;
				fprintf(stderr, "banksim: bad length header %u; closing connection\n", mlen);
				conn_close(i);
				return;
			}
			if (c->rlen - off < 2 + mlen)
				break;
			handle_message(i, c->rbuf + off + 2, (uint16_t)mlen);
			if (c->fd < 0)
				return;
			off += 2 + mlen;
		}
		memmove(c->rbuf, c->rbuf + off, c->rlen - off);
		c->rlen -= off;
	}
	conn_flush(i);
}

static void
release_due(void)
{
	uint64_t now = now_ns();
	uint64_t touched[CONN_MAX / 64] = { 0 };

	while (heap_n > 0 && heap[0].due_ns <= now) {
		struct delayed d = heap_pop();

		if (conns[d.conn].fd >= 0 && conns[d.conn].gen == d.gen) {
			conn_send(d.conn, d.data, d.len);
			touched[d.conn / 64] |= 1ull << (d.conn % 64);
		} else {
			stats.answers_to_closed++;
		}
		free(d.data);
	}
	for (uint32_t i = 0; i < CONN_MAX; i++)
		if ((touched[i / 64] >> (i % 64)) & 1 && conns[i].fd >= 0)
			conn_flush(i);
}

static void
write_balances(void)
{
	if (balances_path == NULL)
		return;

	char tmp[4096];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", balances_path);
	f = fopen(tmp, "w");
	if (f == NULL || card_accounts_write(&accounts, f) != 0 || fclose(f) != 0 ||
	    rename(tmp, balances_path) != 0)
		fprintf(stderr, "banksim: cannot write %s: %s\n", balances_path,
			strerror(errno));
}

static int lfd = -1;
static struct sockaddr_in listen_sa;

static int
listen_open(void)
{
	int one = 1;
	struct epoll_event lev = { .events = EPOLLIN, .data.u32 = UINT32_MAX };

	lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)&listen_sa, sizeof(listen_sa)) != 0 ||
	    listen(lfd, 64) != 0) {
		close(lfd);
		lfd = -1;
		return -1;
	}
	if (epfd >= 0)
		epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &lev);
	return 0;
}

static void
close_all(void)
{
	for (uint32_t i = 0; i < CONN_MAX; i++)
		conn_close(i);
}

/* One fault command, answered on the same connection:
 *   stall on|off   drop SHARE   garbage SHARE   close   refuse on|off
 *   latency SPEC   balances     status */
static void
ctl_command(int c)
{
	char line[256], reply[512], word[32], arg[200];
	ssize_t n = read(c, line, sizeof(line) - 1);
	int k;

	if (n <= 0)
		return;
	line[n] = 0;
	line[strcspn(line, "\r\n")] = 0;
	arg[0] = 0;
	k = sscanf(line, "%31s %199s", word, arg);
	snprintf(reply, sizeof(reply), "ok\n");
	if (k >= 1 && strcmp(word, "stall") == 0 && k == 2) {
		fault.stall = strcmp(arg, "on") == 0;
	} else if (k == 2 && strcmp(word, "drop") == 0) {
		fault.drop = atof(arg);
	} else if (k == 2 && strcmp(word, "garbage") == 0) {
		fault.garbage = atof(arg);
	} else if (k == 1 && strcmp(word, "close") == 0) {
		close_all();
	} else if (k == 2 && strcmp(word, "refuse") == 0) {
		bool on = strcmp(arg, "on") == 0;

		if (on && !fault.refuse && lfd >= 0) {
			epoll_ctl(epfd, EPOLL_CTL_DEL, lfd, NULL);
			close(lfd);
			lfd = -1;
			close_all();
		} else if (!on && fault.refuse && listen_open() != 0) {
			snprintf(reply, sizeof(reply), "error: cannot listen again: %s\n",
				 strerror(errno));
		}
		fault.refuse = on;
	} else if (k == 2 && strcmp(word, "latency") == 0) {
		char err[256];
		struct latency_model lm;

		if (latency_parse(&lm, arg, fault.rng, err, sizeof(err)) == 0)
			latency = lm;
		else
			snprintf(reply, sizeof(reply), "error: %s\n", err);
	} else if (k == 1 && strcmp(word, "balances") == 0) {
		write_balances();
	} else if (k == 1 && strcmp(word, "status") == 0) {
		snprintf(reply, sizeof(reply),
			 "ok\nrequests %" PRIu64 " answers %" PRIu64 " stalled %" PRIu64
			 " dropped %" PRIu64 " garbage %" PRIu64 " refuse %d stall %d\n",
			 stats.requests, stats.answers, stats.stalled, stats.dropped,
			 stats.garbage, fault.refuse, fault.stall);
	} else {
		snprintf(reply, sizeof(reply), "error: unknown command '%s'\n", line);
	}
	if (write(c, reply, strlen(reply)) < 0)
		return;
	fprintf(stderr, "banksim: fault command: %s\n", line);
}

static void
usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s --listen ADDR:PORT --cards FILE [--bitmap binary|hex]\n"
		"       [--latency fixed:US | uniform:MIN_US:MAX_US | longtail:MEDIAN_US:P99_US]\n"
		"       [--seed N] [--balances-out FILE] [--port-file FILE] [--ctl SOCKET]\n", prog);
	exit(2);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "cards", required_argument, NULL, 'c' },
		{ "bitmap", required_argument, NULL, 'b' },
		{ "latency", required_argument, NULL, 'L' },
		{ "seed", required_argument, NULL, 's' },
		{ "balances-out", required_argument, NULL, 'o' },
		{ "port-file", required_argument, NULL, 'p' },
		{ "ctl", required_argument, NULL, 'C' },
		{ NULL, 0, NULL, 0 },
	};
	const char *listen_arg = "127.0.0.1:8584", *cards = NULL, *port_file = NULL;
	const char *ctl_path = NULL;
	const char *latency_arg = "fixed:0";
	uint64_t seed = 1;
	char err[512];
	int opt;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'l': listen_arg = optarg; break;
		case 'c': cards = optarg; break;
		case 'b':
			if (strcmp(optarg, "binary") == 0)
				bitmap_enc = ISO_BITMAP_BINARY;
			else if (strcmp(optarg, "hex") == 0)
				bitmap_enc = ISO_BITMAP_HEX;
			else
				usage(argv[0]);
			break;
		case 'L': latency_arg = optarg; break;
		case 's': seed = strtoull(optarg, NULL, 10); break;
		case 'o': balances_path = optarg; break;
		case 'p': port_file = optarg; break;
		case 'C': ctl_path = optarg; break;
		default: usage(argv[0]);
		}
	}
	if (cards == NULL)
		usage(argv[0]);
	if (latency_parse(&latency, latency_arg, seed, err, sizeof(err)) != 0) {
		fprintf(stderr, "banksim: --latency: %s\n", err);
		return 2;
	}
	if (card_accounts_load(&accounts, cards, err, sizeof(err)) != 0) {
		fprintf(stderr, "banksim: %s\n", err);
		return 2;
	}

	char host[64];
	const char *colon = strrchr(listen_arg, ':');
	struct sockaddr_in sa = { .sin_family = AF_INET };

	if (colon == NULL || (size_t)(colon - listen_arg) >= sizeof(host))
		usage(argv[0]);
	memcpy(host, listen_arg, (size_t)(colon - listen_arg));
	host[colon - listen_arg] = 0;
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
		usage(argv[0]);
	sa.sin_port = htons((uint16_t)atoi(colon + 1));

	int one = 1;

	epfd = -1;
	listen_sa = sa;
	if (listen_open() != 0) {
		fprintf(stderr, "banksim: listen %s: %s\n", listen_arg, strerror(errno));
		return 1;
	}
	socklen_t slen = sizeof(sa);

	getsockname(lfd, (struct sockaddr *)&sa, &slen);
	listen_sa.sin_port = sa.sin_port;   /* port 0: keep what we got */
	if (port_file) {
		FILE *f = fopen(port_file, "w");

		if (f == NULL) {
			fprintf(stderr, "banksim: %s: %s\n", port_file, strerror(errno));
			return 1;
		}
		fprintf(f, "%u\n", ntohs(sa.sin_port));
		fclose(f);
	}

	struct sigaction act = { .sa_handler = on_signal };

	sigaction(SIGINT, &act, NULL);
	sigaction(SIGTERM, &act, NULL);
	sigaction(SIGUSR1, &act, NULL);
	signal(SIGPIPE, SIG_IGN);

	heap = calloc(HEAP_MAX, sizeof(*heap));
	for (uint32_t i = 0; i < CONN_MAX; i++) {
		conns[i].fd = -1;
		conns[i].rbuf = malloc(RBUF_SIZE);
	}
	epfd = epoll_create1(0);
	struct epoll_event lev = { .events = EPOLLIN, .data.u32 = UINT32_MAX };

	epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &lev);

	int cfd = -1;

	if (ctl_path) {
		struct sockaddr_un ua = { .sun_family = AF_UNIX };

		snprintf(ua.sun_path, sizeof(ua.sun_path), "%s", ctl_path);
		unlink(ctl_path);
		cfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
		if (cfd < 0 || bind(cfd, (struct sockaddr *)&ua, sizeof(ua)) != 0 ||
		    listen(cfd, 8) != 0) {
			fprintf(stderr, "banksim: --ctl %s: %s\n", ctl_path, strerror(errno));
			return 1;
		}
		struct epoll_event cev = { .events = EPOLLIN, .data.u32 = UINT32_MAX - 1 };

		epoll_ctl(epfd, EPOLL_CTL_ADD, cfd, &cev);
	}
	fprintf(stderr, "banksim: listening on %s:%u, %u cards, latency %s\n", host,
		ntohs(sa.sin_port), accounts.n_cards, latency_arg);

	uint64_t persisted_moves = 0, persisted_ns = 0;

	while (!quit) {
		struct epoll_event evs[64];
		int timeout_ms = 100;

		if (heap_n > 0) {
			uint64_t now = now_ns();

			timeout_ms = heap[0].due_ns <= now ? 0 :
				(int)((heap[0].due_ns - now + 999999) / 1000000);
			if (timeout_ms > 100)
				timeout_ms = 100;
		}
		int n = epoll_wait(epfd, evs, 64, timeout_ms);

		for (int e = 0; e < n; e++) {
			uint32_t id = evs[e].data.u32;

			if (id == UINT32_MAX - 1) {
				int c = accept(cfd, NULL, NULL);

				if (c >= 0) {
					struct timeval tv = { .tv_sec = 1 };

					setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
					ctl_command(c);
					close(c);
				}
				continue;
			}
			if (id == UINT32_MAX) {
				int fd;

				if (lfd < 0)
					continue;
				while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
					uint32_t i;

					for (i = 0; i < CONN_MAX && conns[i].fd >= 0; i++)
						;
					if (i == CONN_MAX) {
						close(fd);
						continue;
					}
					setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
					conns[i].fd = fd;
					struct epoll_event ev = { .events = EPOLLIN, .data.u32 = i };

					epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
					stats.connections++;
				}
				continue;
			}
			if (conns[id].fd < 0)
				continue;
			if (evs[e].events & (EPOLLERR | EPOLLHUP)) {
				conn_close(id);
				continue;
			}
			if (evs[e].events & EPOLLIN)
				conn_read(id);
			if (conns[id].fd >= 0 && (evs[e].events & EPOLLOUT))
				conn_flush(id);
		}
		release_due();
		/* Balances persisted once a second when they moved, so that a
		 * crash of either side leaves books to compare with. */
		uint64_t moves = 0, tnow = now_ns();

		for (uint32_t i = 0; i < accounts.n_cards; i++)
			moves += accounts.cards[i].approved_count + accounts.cards[i].reversed_count;
		if (dump || (moves != persisted_moves && tnow - persisted_ns > 1000000000ull)) {
			dump = 0;
			write_balances();
			persisted_moves = moves;
			persisted_ns = tnow;
		}
	}
	write_balances();
	if (ctl_path)
		unlink(ctl_path);
	fprintf(stderr, "banksim: connections %" PRIu64 " requests %" PRIu64
		" answers %" PRIu64 " unanswerable %" PRIu64 " bad_length %" PRIu64
		" duplicates %" PRIu64 "\n", stats.connections, stats.requests,
		stats.answers, stats.dropped_unanswerable, stats.bad_length_header,
		accounts.duplicates);
	fprintf(stderr, "banksim: by mti:");
	for (int i = 0; i < 10000; i++)
		if (stats.by_mti[i])
			fprintf(stderr, " %04d=%" PRIu64, i, stats.by_mti[i]);
	fprintf(stderr, "\nbanksim: by code:");
	for (int i = 0; i < 100; i++)
		if (stats.by_rc[i])
			fprintf(stderr, " %02d=%" PRIu64, i, stats.by_rc[i]);
	fprintf(stderr, "\n");
	card_accounts_free(&accounts);
	return 0;
}
