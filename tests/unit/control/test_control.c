/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Control-plane pieces: bank_pending against a seeded model (match,
 * deadline order, capacity, duplicates), and bank_link's framing over a
 * real TCP connection to a peer written here (a message split at every
 * byte boundary reassembles; a bad length header breaks the link).
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "bank_link.h"
#include "bank_pending.h"

static struct auth_request recs[4096];

static void
key_set(struct auth_request *r, unsigned int i)
{
	memset(&r->key, 0, sizeof(r->key));
	snprintf((char *)r->key.b, sizeof(r->key.b), "K%038u", i);
}

static void
test_pending_basic(void **state)
{
	struct bank_pending *bp = bank_pending_create(4);

	(void)state;
	assert_non_null(bp);
	for (unsigned int i = 0; i < 5; i++)
		key_set(&recs[i], i);
	assert_int_equal(bank_pending_insert(bp, &recs[0], 100, 0), 0);
	assert_int_equal(bank_pending_insert(bp, &recs[1], 200, 1), 0);
	assert_int_equal(bank_pending_insert(bp, &recs[0], 300, 0), -2);
	assert_int_equal(bank_pending_insert(bp, &recs[2], 300, 0), 0);
	assert_int_equal(bank_pending_insert(bp, &recs[3], 400, 0), 0);
	assert_int_equal(bank_pending_insert(bp, &recs[4], 500, 0), -1); /* full */
	assert_int_equal(bank_pending_count(bp), 4);
	/* Match in the middle, then expiry skips it. */
	assert_ptr_equal(bank_pending_take(bp, &recs[1].key), &recs[1]);
	assert_null(bank_pending_take(bp, &recs[1].key));
	assert_null(bank_pending_expire(bp, 99));
	assert_ptr_equal(bank_pending_expire(bp, 300), &recs[0]);
	assert_ptr_equal(bank_pending_expire(bp, 300), &recs[2]);
	assert_null(bank_pending_expire(bp, 300));
	assert_ptr_equal(bank_pending_pop(bp), &recs[3]);
	assert_null(bank_pending_pop(bp));
	assert_int_equal(bank_pending_count(bp), 0);
	bank_pending_destroy(bp);
}

/* Random inserts (increasing deadlines), matches and expiries against a
 * model array; every record comes out exactly once, in the right order. */
static void
test_pending_model(void **state)
{
	const unsigned int cap = 512, n = 4096;
	struct bank_pending *bp = bank_pending_create(cap);
	int model[4096] = { 0 }; /* 0 never, 1 pending, 2 out */
	uint64_t deadline[4096];
	unsigned int seed = 3, next = 0, pending = 0;
	uint64_t now = 0;

	(void)state;
	for (unsigned int i = 0; i < n; i++)
		key_set(&recs[i], i);
	while (next < n || pending > 0) {
		unsigned int op = (unsigned int)rand_r(&seed) % 3;

		now += 1;
		if (op == 0 && next < n) {
			int r = bank_pending_insert(bp, &recs[next], now + 50, 0);

			if (pending == cap) {
				assert_int_equal(r, -1);
				continue;
			}
			assert_int_equal(r, 0);
			deadline[next] = now + 50;
			model[next++] = 1;
			pending++;
		} else if (op == 1 && next > 0) {
			unsigned int i = (unsigned int)rand_r(&seed) % next;
			struct auth_request *got = bank_pending_take(bp, &recs[i].key);

			if (model[i] == 1) {
				assert_ptr_equal(got, &recs[i]);
				model[i] = 2;
				pending--;
			} else {
				assert_null(got);
			}
		} else {
			struct auth_request *got;

			while ((got = bank_pending_expire(bp, now)) != NULL) {
				unsigned int i = (unsigned int)(got - recs);

				assert_int_equal(model[i], 1);
				assert_true(deadline[i] <= now);
				/* Nothing pending may be older than what expired. */
				for (unsigned int j = 0; j < i; j++)
					assert_int_not_equal(model[j], 1);
				model[i] = 2;
				pending--;
			}
			if (next == n)
				now += 10;
		}
		assert_int_equal(bank_pending_count(bp), pending);
	}
	for (unsigned int i = 0; i < n; i++)
		assert_int_equal(model[i], 2);
	bank_pending_destroy(bp);
}

static uint8_t got_msgs[64][ISO_MSG_MAX];
static uint16_t got_len[64];
static unsigned int got_n;

static void
collect(void *ctx, const uint8_t *msg, uint16_t len)
{
	(void)ctx;
	assert_true(got_n < 64);
	memcpy(got_msgs[got_n], msg, len);
	got_len[got_n++] = len;
}

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* A listening socket on 127.0.0.1:0 and a bank_link connected to it. */
static int
connect_pair(struct bank_link *l, int *peer)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	int lfd = socket(AF_INET, SOCK_STREAM, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(lfd, 4), 0);
	getsockname(lfd, (struct sockaddr *)&sa, &len);
	assert_int_equal(bank_link_init(l, &sa), 0);
	for (int i = 0; i < 1000 && l->state != BANK_LINK_UP; i++) {
		bank_link_service(l, now_ns());
		usleep(1000);
	}
	assert_int_equal(l->state, BANK_LINK_UP);
	*peer = accept(lfd, NULL, NULL);
	assert_true(*peer >= 0);
	return lfd;
}

static void
test_link_framing(void **state)
{
	struct bank_link l;
	int peer, lfd = connect_pair(&l, &peer);
	uint8_t stream[3 * (2 + 300)];
	size_t total = 0;

	(void)state;
	/* Three messages of different sizes, back to back. */
	for (int m = 0; m < 3; m++) {
		uint16_t len = (uint16_t)(100 * (m + 1));

		stream[total] = (uint8_t)(len >> 8);
		stream[total + 1] = (uint8_t)len;
		memset(stream + total + 2, 'a' + m, len);
		total += 2u + len;
	}
	/* Cut the stream at every byte boundary: two writes, reassembled. */
	for (size_t cut = 1; cut < total; cut += 7) {
		got_n = 0;
		assert_int_equal(write(peer, stream, cut), (ssize_t)cut);
		usleep(200);
		assert_true(bank_link_read(&l, now_ns(), collect, NULL));
		assert_int_equal(write(peer, stream + cut, total - cut), (ssize_t)(total - cut));
		for (int i = 0; i < 100 && got_n < 3; i++) {
			usleep(200);
			assert_true(bank_link_read(&l, now_ns(), collect, NULL));
		}
		assert_int_equal(got_n, 3);
		for (int m = 0; m < 3; m++) {
			assert_int_equal(got_len[m], 100 * (m + 1));
			assert_int_equal(got_msgs[m][0], 'a' + m);
			assert_int_equal(got_msgs[m][got_len[m] - 1], 'a' + m);
		}
	}
	/* Sending: length header + bytes arrive at the peer. */
	assert_true(bank_link_send(&l, (const uint8_t *)"0800xyz", 7));
	assert_true(bank_link_flush(&l, now_ns()));
	uint8_t buf[16];

	assert_int_equal(read(peer, buf, 9), 9);
	assert_int_equal(buf[0], 0);
	assert_int_equal(buf[1], 7);
	assert_memory_equal(buf + 2, "0800xyz", 7);

	/* A zero length header: framing is lost, the link goes down. */
	uint8_t bad[2] = { 0, 0 };

	assert_int_equal(write(peer, bad, 2), 2);
	bool alive = true;

	for (int i = 0; i < 100 && alive; i++) {
		usleep(200);
		alive = bank_link_read(&l, now_ns(), collect, NULL);
	}
	assert_false(alive);
	assert_int_equal(l.state, BANK_LINK_DOWN);
	assert_int_equal(l.bad_frames, 1);
	assert_false(bank_link_send(&l, (const uint8_t *)"0800", 4));
	close(peer);
	close(lfd);
	bank_link_fini(&l);
}

/* Nobody listening: the link stays down and backs off exponentially. */
static void
test_link_backoff(void **state)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(9) };
	struct bank_link l;
	uint64_t t = now_ns();

	(void)state;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bank_link_init(&l, &sa), 0);
	for (int i = 0; i < 50; i++) {
		bank_link_service(&l, t);
		usleep(1000);
		bank_link_service(&l, t);
		t += 1000000000ull; /* jump past any backoff */
	}
	assert_int_not_equal(l.state, BANK_LINK_UP);
	assert_int_equal(l.backoff_ms, BANK_LINK_BACKOFF_MAX_MS);
	bank_link_fini(&l);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pending_basic),
		cmocka_unit_test(test_pending_model),
		cmocka_unit_test(test_link_framing),
		cmocka_unit_test(test_link_backoff),
	};

	return cmocka_run_group_tests_name("control", tests, NULL, NULL);
}
