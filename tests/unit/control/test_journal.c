/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The journal: record encoding and checksums, recovery across segments,
 * torn tails cut and reported, damage elsewhere refused, group commit
 * making appends durable in order, and failing closed when the file
 * cannot grow (RLIMIT_FSIZE stands in for a full disk), then recovering.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "journal.h"

static char dir[256];

static void
fill(struct journal_entry *e, uint8_t type, unsigned int i)
{
	memset(e, 0, sizeof(*e));
	e->type = type;
	e->outcome = AUTH_OUTCOME_BANK;
	memcpy(e->rc, "00", 2);
	memcpy(e->auth_code, "A12345", 6);
	e->has_auth_code = 1;
	e->time_ns = 1700000000000000000ull + i;
	snprintf((char *)e->key.b, sizeof(e->key.b), "M%014uT%07u%06u", i % 7, i % 11, i);
	if (type == JOURNAL_REQUEST || type == JOURNAL_REVERSAL_SENT) {
		e->msg_len = (uint16_t)(50 + i % 200);
		for (unsigned int k = 0; k < e->msg_len; k++)
			e->msg[k] = (uint8_t)(k * 7 + i);
	}
}

static int
setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/paygate-jtest.%d", getpid());
	return mkdir(dir, 0700);
}

static int
teardown(void **state)
{
	char cmd[300];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd);
}

static void
clean(void)
{
	teardown(NULL);
	mkdir(dir, 0700);
}

static void
test_encode_decode(void **state)
{
	struct journal_entry a, b;
	uint8_t buf[2048];

	(void)state;
	for (uint8_t t = JOURNAL_REQUEST; t < JOURNAL_TYPE_MAX; t++) {
		fill(&a, t, 77);
		a.seq = 42;
		size_t n = journal_encode(&a, buf, sizeof(buf));

		assert_true(n > 0);
		assert_int_equal(journal_decode(buf, n, &b), n);
		assert_int_equal(b.seq, 42);
		assert_int_equal(b.type, t);
		assert_memory_equal(b.key.b, a.key.b, AUTH_KEY_LEN);
		assert_int_equal(b.msg_len, a.msg_len);
		assert_memory_equal(b.msg, a.msg, a.msg_len);
		/* Incomplete: wait for more; any flipped bit: damaged. */
		for (size_t cut = 0; cut < n; cut += 7)
			assert_int_equal(journal_decode(buf, cut, &b), 0);
		for (size_t i = 4; i < n; i++) {
			buf[i] ^= 0x10;
			assert_int_equal(journal_decode(buf, n, &b), (size_t)-1);
			buf[i] ^= 0x10;
		}
	}
	/* A length that claims too much is damage, not "incomplete". */
	memset(buf, 0xff, 8);
	assert_int_equal(journal_decode(buf, 2048, &b), (size_t)-1);
}

struct seen {
	uint64_t n, last_seq;
	unsigned int bad;
};

static void
count(void *ctx, const struct journal_entry *e)
{
	struct seen *s = ctx;
	struct journal_entry want;

	fill(&want, e->type, (unsigned int)(e->seq - 1));
	if (e->seq != s->last_seq + 1 || memcmp(e->key.b, want.key.b, AUTH_KEY_LEN) != 0 ||
	    e->msg_len != want.msg_len || memcmp(e->msg, want.msg, want.msg_len) != 0)
		s->bad++;
	s->last_seq = e->seq;
	s->n++;
}

static const struct journal_config small = {
	.segment_bytes = 64 * 1024, .batch_us = 200, .batch_bytes = 16 * 1024,
	.buffer_bytes = 1 << 20,
};

static struct journal *
open_j(uint64_t next)
{
	struct journal_config c = small;
	char err[256];
	struct journal *j;

	snprintf(c.dir, sizeof(c.dir), "%s", dir);
	j = journal_open(&c, next, err, sizeof(err));
	if (j == NULL)
		fail_msg("%s", err);
	return j;
}

static void
append_n(struct journal *j, unsigned int from, unsigned int n)
{
	struct journal_entry e;
	uint64_t last = 0;

	for (unsigned int i = from; i < from + n; i++) {
		fill(&e, (uint8_t)(JOURNAL_REQUEST + i % 5), i);
		/* Faster than a disk: refused while both buffers are full. */
		for (int k = 0; (last = journal_append(j, &e)) == 0 && k < 10000; k++)
			usleep(100);
		assert_int_equal(last, i + 1);
	}
	/* Group commit gets there without being asked. */
	for (int k = 0; k < 5000 && journal_durable(j) < last; k++)
		usleep(1000);
	assert_int_equal(journal_durable(j), last);
}

static void
test_group_commit_and_recover(void **state)
{
	struct journal_recovery rep;
	struct journal_stats st;
	struct seen s = { 0 };
	char err[256];
	struct journal *j;

	(void)state;
	clean();
	j = open_j(1);
	append_n(j, 0, 20000);
	journal_get_stats(j, &st);
	/* Batched: far fewer fdatasyncs than records. */
	assert_true(st.commits < 20000 / 4);
	assert_true(st.segments >= 2);   /* rotated: recovery spans segments */
	journal_close(j);

	assert_int_equal(journal_recover(dir, count, &s, &rep, err, sizeof(err)), 0);
	assert_int_equal(s.n, 20000);
	assert_int_equal(s.bad, 0);
	assert_int_equal(rep.next_seq, 20001);
	assert_int_equal(rep.torn_bytes, 0);

	/* Continue after a restart: a new segment, seq without a gap. */
	j = open_j(rep.next_seq);
	append_n(j, 20000, 500);
	journal_close(j);
	memset(&s, 0, sizeof(s));
	assert_int_equal(journal_recover(dir, count, &s, &rep, err, sizeof(err)), 0);
	assert_int_equal(s.n, 20500);
	assert_int_equal(s.bad, 0);

	/* Files hold card numbers: owner only. */
	char path[512];
	struct stat sb;

	snprintf(path, sizeof(path), "%s/%020d.jnl", dir, 1);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
}

/* The newest segment's name. */
static void
last_segment(char *path, size_t len)
{
	char cmd[400];
	FILE *p;

	snprintf(cmd, sizeof(cmd), "ls %s/*.jnl | sort | tail -n 1", dir);
	p = popen(cmd, "r");
	assert_non_null(fgets(path, (int)len, p));
	path[strcspn(path, "\n")] = 0;
	pclose(p);
}

static void
test_torn_tail(void **state)
{
	struct journal_recovery rep;
	struct seen s = { 0 };
	char err[256], path[512];
	struct stat sb;
	struct journal *j;

	(void)state;
	clean();
	j = open_j(1);
	append_n(j, 0, 1000);
	journal_close(j);
	last_segment(path, sizeof(path));
	assert_int_equal(stat(path, &sb), 0);

	/* Cut the last record in half. */
	assert_int_equal(truncate(path, sb.st_size - 30), 0);
	assert_int_equal(journal_recover(dir, count, &s, &rep, err, sizeof(err)), 0);
	assert_int_equal(s.n, 999);
	assert_int_equal(s.bad, 0);
	assert_true(rep.torn_bytes > 0);
	assert_string_equal(rep.torn_segment, path);
	assert_int_equal(rep.next_seq, 1000);
	/* Repaired: a second recovery finds nothing torn. */
	memset(&s, 0, sizeof(s));
	assert_int_equal(journal_recover(dir, count, &s, &rep, err, sizeof(err)), 0);
	assert_int_equal(rep.torn_bytes, 0);
	assert_int_equal(s.n, 999);

	/* Corrupt a byte inside the (new) last record. */
	assert_int_equal(stat(path, &sb), 0);
	int fd = open(path, O_RDWR);
	uint8_t b;

	assert_true(pread(fd, &b, 1, sb.st_size - 5) == 1);
	b ^= 0xff;
	assert_true(pwrite(fd, &b, 1, sb.st_size - 5) == 1);
	close(fd);
	memset(&s, 0, sizeof(s));
	assert_int_equal(journal_recover(dir, count, &s, &rep, err, sizeof(err)), 0);
	assert_int_equal(s.n, 998);
	assert_true(rep.torn_bytes > 0);
}

static void
test_damage_in_middle_refused(void **state)
{
	struct journal_recovery rep;
	struct seen s = { 0 };
	char err[256], cmd[400], first[512];
	struct journal *j;
	FILE *p;

	(void)state;
	clean();
	j = open_j(1);
	for (unsigned int r = 0; r < 5; r++)
		append_n(j, r * 1000, 1000);
	journal_close(j);
	snprintf(cmd, sizeof(cmd), "ls %s/*.jnl | sort | head -n 1", dir);
	p = popen(cmd, "r");
	assert_non_null(fgets(first, sizeof(first), p));
	pclose(p);
	first[strcspn(first, "\n")] = 0;
	int fd = open(first, O_RDWR);
	uint8_t b = 0x5a;

	assert_true(pwrite(fd, &b, 1, 100) == 1);
	close(fd);
	assert_int_equal(journal_recover(dir, count, &s, &rep, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not the last segment"));

	/* A missing segment is a gap, also refused. */
	clean();
	j = open_j(1);
	for (unsigned int r = 0; r < 5; r++)
		append_n(j, r * 1000, 1000);
	journal_close(j);
	snprintf(cmd, sizeof(cmd), "rm \"$(ls %s/*.jnl | sort | sed -n 2p)\"", dir);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(journal_recover(dir, count, &s, &rep, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "missing"));
}

/* A file that may not grow: nothing becomes durable, appends are refused
 * once the spare buffer fills, and all of it lands once it may grow. */
static void
test_disk_full_fails_closed(void **state)
{
	struct journal_config c = small;
	struct journal_recovery rep;
	struct journal_stats st;
	struct seen s = { 0 };
	struct journal_entry e;
	struct rlimit rl, old;
	char err[256];
	struct journal *j;
	uint64_t last = 0, refused = 0;

	(void)state;
	clean();
	signal(SIGXFSZ, SIG_IGN);
	snprintf(c.dir, sizeof(c.dir), "%s", dir);
	c.buffer_bytes = 64 * 1024;
	c.segment_bytes = 1 << 30;
	j = journal_open(&c, 1, err, sizeof(err));
	assert_non_null(j);
	append_n(j, 0, 100);
	getrlimit(RLIMIT_FSIZE, &old);
	rl = old;
	rl.rlim_cur = 40000;  /* the segment is ~20 KB: room for a little more */
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &rl), 0);

	unsigned int i = 100;

	for (; i < 3000; i++) {
		fill(&e, JOURNAL_REQUEST, i);
		uint64_t seq = journal_append(j, &e);

		if (seq == 0) {
			refused++;
			break;
		}
		last = seq;
		usleep(20);
	}
	usleep(100000);
	assert_true(refused > 0);                 /* fail closed */
	assert_true(journal_failing(j));
	assert_true(journal_durable(j) < last);   /* never claimed durable */
	journal_get_stats(j, &st);
	assert_true(st.write_errors > 0);

	/* Space returns: everything appended becomes durable, in order. */
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	for (int k = 0; k < 3000 && journal_durable(j) < last; k++)
		usleep(1000);
	assert_int_equal(journal_durable(j), last);
	assert_false(journal_failing(j));
	journal_close(j);
	assert_int_equal(journal_recover(dir, count, &s, &rep, err, sizeof(err)), 0);
	assert_int_equal(s.n, last);
	assert_int_equal(s.bad, 0);
	assert_int_equal(rep.torn_bytes, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_encode_decode),
		cmocka_unit_test(test_group_commit_and_recover),
		cmocka_unit_test(test_torn_tail),
		cmocka_unit_test(test_damage_in_middle_refused),
		cmocka_unit_test(test_disk_full_fails_closed),
	};

	return cmocka_run_group_tests_name("journal", tests, setup, teardown);
}
