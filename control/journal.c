/* SPDX-License-Identifier: BSD-3-Clause */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <rte_hash_crc.h>

#include "clock_ns.h"
#include "journal.h"

/* len, crc: the prefix; seq, type, fixed payload: what len counts first. */
#define PREFIX 8
#define FIXED (8 + 1 + 3 + 2 + ISO_AUTH_CODE_LEN + 8 + AUTH_KEY_LEN + 2)
#define RECORD_MAX (PREFIX + FIXED + ISO_MSG_MAX)
#define RETRY_NS 10000000ull   /* a failing disk is retried every 10 ms */

const char *const journal_type_name[JOURNAL_TYPE_MAX] = {
	[JOURNAL_REQUEST] = "request",
	[JOURNAL_BANK_ANSWER] = "bank_answer",
	[JOURNAL_DECISION] = "decision",
	[JOURNAL_REVERSAL_SENT] = "reversal_sent",
	[JOURNAL_REVERSAL_ACK] = "reversal_ack",
	[JOURNAL_ADVICE_SENT] = "advice_sent",
	[JOURNAL_ADVICE_ACK] = "advice_ack",
	[JOURNAL_CHECKPOINT_OWED] = "checkpoint_owed",
	[JOURNAL_CHECKPOINT] = "checkpoint",
};

static bool
has_msg(uint8_t type)
{
	return type == JOURNAL_REQUEST || type == JOURNAL_REVERSAL_SENT ||
	       type == JOURNAL_ADVICE_SENT || type == JOURNAL_CHECKPOINT_OWED;
}

size_t
journal_encode(const struct journal_entry *e, uint8_t *buf, size_t cap)
{
	uint16_t msg_len = has_msg(e->type) ? e->msg_len : 0;
	uint32_t len = FIXED + msg_len, crc;
	uint8_t *p = buf + PREFIX;

	if (PREFIX + (size_t)len > cap || msg_len > ISO_MSG_MAX)
		return 0;
	memcpy(buf, &len, 4);
	memcpy(p, &e->seq, 8);
	p += 8;
	*p++ = e->type;
	*p++ = e->outcome;
	*p++ = e->has_auth_code;
	*p++ = e->enc;
	memcpy(p, e->rc, 2);
	p += 2;
	memcpy(p, e->auth_code, ISO_AUTH_CODE_LEN);
	p += ISO_AUTH_CODE_LEN;
	memcpy(p, &e->time_ns, 8);
	p += 8;
	memcpy(p, e->key.b, AUTH_KEY_LEN);
	p += AUTH_KEY_LEN;
	memcpy(p, &msg_len, 2);
	p += 2;
	memcpy(p, e->msg, msg_len);
	crc = rte_hash_crc(buf + PREFIX, len, 0xffffffffu);
	memcpy(buf + 4, &crc, 4);
	return PREFIX + len;
}

size_t
journal_decode(const uint8_t *buf, size_t avail, struct journal_entry *e)
{
	uint32_t len, crc;
	const uint8_t *p = buf + PREFIX;

	if (avail < PREFIX)
		return 0;
	memcpy(&len, buf, 4);
	memcpy(&crc, buf + 4, 4);
	if (len < FIXED || len > FIXED + ISO_MSG_MAX)
		return (size_t)-1;
	if (avail < PREFIX + (size_t)len)
		return 0;
	if (rte_hash_crc(p, len, 0xffffffffu) != crc)
		return (size_t)-1;
	memcpy(&e->seq, p, 8);
	p += 8;
	e->type = *p++;
	e->outcome = *p++;
	e->has_auth_code = *p++;
	e->enc = *p++;
	memcpy(e->rc, p, 2);
	p += 2;
	memcpy(e->auth_code, p, ISO_AUTH_CODE_LEN);
	p += ISO_AUTH_CODE_LEN;
	memcpy(&e->time_ns, p, 8);
	p += 8;
	memcpy(e->key.b, p, AUTH_KEY_LEN);
	p += AUTH_KEY_LEN;
	memcpy(&e->msg_len, p, 2);
	p += 2;
	if (e->type == 0 || e->type >= JOURNAL_TYPE_MAX ||
	    e->msg_len != len - FIXED || (!has_msg(e->type) && e->msg_len))
		return (size_t)-1;
	memcpy(e->msg, p, e->msg_len);
	return PREFIX + len;
}

/* --- recovery --- */

struct seg_name {
	uint64_t first;
	char name[32];
};

static int
cmp_seg(const void *a, const void *b)
{
	const struct seg_name *x = a, *y = b;

	return (x->first > y->first) - (x->first < y->first);
}

static int
list_segments(const char *dir, struct seg_name **out, size_t *n_out,
	      char *err, size_t err_len)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	struct seg_name *v = NULL;
	size_t n = 0, cap = 0;

	if (d == NULL) {
		snprintf(err, err_len, "%s: %s", dir, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		unsigned long long first;
		char tail[8];

		if (strlen(de->d_name) != 24 ||
		    sscanf(de->d_name, "%20llu%7s", &first, tail) != 2 ||
		    strcmp(tail, ".jnl") != 0)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			struct seg_name *nv = realloc(v, cap * sizeof(*v));

			if (nv == NULL) {
				free(v);
				closedir(d);
				snprintf(err, err_len, "out of memory");
				return -1;
			}
			v = nv;
		}
		v[n].first = first;
		snprintf(v[n].name, sizeof(v[n].name), "%s", de->d_name);
		n++;
	}
	closedir(d);
	qsort(v, n, sizeof(*v), cmp_seg);
	*out = v;
	*n_out = n;
	return 0;
}

static uint8_t *
read_file(const char *path, size_t *len, char *err, size_t err_len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	uint8_t *buf;
	size_t got = 0;

	if (fd < 0 || fstat(fd, &st) != 0) {
		snprintf(err, err_len, "%s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	buf = malloc((size_t)st.st_size + 1);
	while (buf && got < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);

		if (r <= 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	if (buf == NULL || got != (size_t)st.st_size) {
		free(buf);
		snprintf(err, err_len, "%s: short read", path);
		return NULL;
	}
	*len = got;
	return buf;
}

static int
scan(const char *dir, journal_scan_fn *fn, void *ctx, struct journal_recovery *rep,
     bool repair, char *err, size_t err_len)
{
	struct seg_name *segs = NULL;
	size_t n_segs = 0;
	uint64_t t0 = clock_mono_ns(), expect = 1;
	struct journal_entry *e = malloc(sizeof(*e));
	int ret = -1;

	memset(rep, 0, sizeof(*rep));
	if (e == NULL || list_segments(dir, &segs, &n_segs, err, err_len) != 0) {
		free(e);
		return -1;
	}
	if (n_segs > 0)
		expect = segs[0].first;
	for (size_t i = 0; i < n_segs; i++) {
		char path[PATH_MAX + 32];
		size_t len, off = 0;
		uint8_t *buf;
		bool last = i + 1 == n_segs;

		snprintf(path, sizeof(path), "%s/%s", dir, segs[i].name);
		if (segs[i].first != expect) {
			snprintf(err, err_len, "%s: starts at %" PRIu64 ", expected %" PRIu64
				 " (a segment is missing)", path, segs[i].first, expect);
			goto out;
		}
		buf = read_file(path, &len, err, err_len);
		if (buf == NULL)
			goto out;
		while (off < len) {
			size_t r = journal_decode(buf + off, len - off, e);

			if (r == 0 || r == (size_t)-1 || e->seq != expect)
				break;
			fn(ctx, e);
			rep->records++;
			expect++;
			off += r;
		}
		free(buf);
		rep->segments++;
		if (off < len) {
			if (!last) {
				snprintf(err, err_len, "%s: damaged at byte %zu of %zu, and it is not "
					 "the last segment: refusing to guess", path, off, len);
				goto out;
			}
			/* A torn tail: what a crash in the middle of a batch
			 * leaves. Nothing in it was ever reported durable. */
			if (repair && truncate(path, (off_t)off) != 0) {
				snprintf(err, err_len, "%s: cannot cut the torn tail: %s", path,
					 strerror(errno));
				goto out;
			}
			rep->torn_bytes = len - off;
			snprintf(rep->torn_segment, sizeof(rep->torn_segment), "%s", path);
		}
	}
	rep->next_seq = expect;
	ret = 0;
out:
	rep->elapsed_ns = clock_mono_ns() - t0;
	free(segs);
	free(e);
	return ret;
}

int
journal_recover(const char *dir, journal_scan_fn *fn, void *ctx,
		struct journal_recovery *rep, char *err, size_t err_len)
{
	return scan(dir, fn, ctx, rep, true, err, err_len);
}

int
journal_scan(const char *dir, journal_scan_fn *fn, void *ctx,
	     struct journal_recovery *rep, char *err, size_t err_len)
{
	return scan(dir, fn, ctx, rep, false, err, err_len);
}

int
journal_archive(const char *dir, uint64_t below_seq, char *err, size_t err_len)
{
	struct seg_name *segs = NULL;
	size_t n = 0;
	int moved = 0;
	char from[PATH_MAX + 64], to[PATH_MAX + 96], adir[PATH_MAX + 16];

	if (list_segments(dir, &segs, &n, err, err_len) != 0)
		return -1;
	snprintf(adir, sizeof(adir), "%s/archive", dir);
	/* Segment i ends where i + 1 starts; the last one is never moved. */
	for (size_t i = 0; i + 1 < n && segs[i + 1].first <= below_seq; i++) {
		if (moved == 0 && mkdir(adir, 0700) != 0 && errno != EEXIST) {
			snprintf(err, err_len, "%s: %s", adir, strerror(errno));
			moved = -1;
			break;
		}
		snprintf(from, sizeof(from), "%s/%s", dir, segs[i].name);
		snprintf(to, sizeof(to), "%s/%s", adir, segs[i].name);
		if (rename(from, to) != 0) {
			snprintf(err, err_len, "%s: %s", from, strerror(errno));
			moved = -1;
			break;
		}
		moved++;
	}
	free(segs);
	return moved;
}

/* --- appending --- */

struct journal {
	struct journal_config cfg;
	int fd;
	int dir_fd;
	uint64_t seg_written;
	pthread_t writer;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool stop;
	/* The open batch (appender side) and the one being written. */
	uint8_t *buf[2];
	size_t len[2];
	uint64_t last_seq[2];
	int open;                /* index of the open batch */
	uint64_t opened_ns;      /* when the open batch got its first record */
	uint64_t next_seq;
	uint64_t durable;        /* atomic */
	bool failing;            /* atomic */
	struct journal_stats st; /* appender fields under mu */
};

static int
open_segment(struct journal *j, uint64_t first, char *err, size_t err_len)
{
	char path[PATH_MAX + 32];
	int fd;

	snprintf(path, sizeof(path), "%s/%020" PRIu64 ".jnl", j->cfg.dir, first);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, err_len, "%s: %s", path, strerror(errno));
		return -1;
	}
	/* The new name must survive a crash too. */
	if (fsync(j->dir_fd) != 0) {
		snprintf(err, err_len, "%s: fsync: %s", j->cfg.dir, strerror(errno));
		close(fd);
		return -1;
	}
	if (j->fd >= 0)
		close(j->fd);
	j->fd = fd;
	j->seg_written = 0;
	j->st.segments++;
	return 0;
}

/* Write one batch durably; undo a partial write. 0 or -1. */
static int
commit(struct journal *j, const uint8_t *buf, size_t len, uint64_t first_seq)
{
	size_t done = 0;
	char err[256];

	if (j->seg_written > 0 && j->seg_written + len > j->cfg.segment_bytes &&
	    open_segment(j, first_seq, err, sizeof(err)) != 0) {
		fprintf(stderr, "journal: %s\n", err);
		return -1;
	}
	while (done < len) {
		ssize_t r = write(j->fd, buf + done, len - done);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		done += (size_t)r;
	}
	if (done == len && fdatasync(j->fd) == 0) {
		j->seg_written += len;
		return 0;
	}
	/* Leave the segment as it was, so that the retry appends cleanly. */
	if (ftruncate(j->fd, (off_t)j->seg_written) != 0 ||
	    lseek(j->fd, (off_t)j->seg_written, SEEK_SET) < 0)
		fprintf(stderr, "journal: cannot undo a failed write: %s\n", strerror(errno));
	return -1;
}

static void *
writer_main(void *arg)
{
	struct journal *j = arg;

	pthread_mutex_lock(&j->mu);
	for (;;) {
		int o = j->open;

		/* Wait for a batch to close: big enough, old enough, or stop. */
		while (!j->stop && (j->len[o] == 0 ||
		       (j->len[o] < j->cfg.batch_bytes &&
			clock_mono_ns() - j->opened_ns < (uint64_t)j->cfg.batch_us * 1000))) {
			struct timespec ts;
			uint64_t age = clock_mono_ns() - j->opened_ns, window = (uint64_t)j->cfg.batch_us * 1000;
			/* The batch may have come of age since the check above. */
			uint64_t wait_ns = j->len[o] == 0 ? 100000000ull :
					   age >= window ? 0 : window - age;

			if (wait_ns == 0)
				break;

			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += (long)(wait_ns % 1000000000ull);
			ts.tv_sec += (time_t)(wait_ns / 1000000000ull) + ts.tv_nsec / 1000000000L;
			ts.tv_nsec %= 1000000000L;
			pthread_cond_timedwait(&j->cv, &j->mu, &ts);
		}
		if (j->len[o] == 0 && j->stop)
			break;
		/* Close it: appends go to the other buffer from now on. */
		j->open = 1 - o;
		j->len[j->open] = 0;
		j->opened_ns = clock_mono_ns();
		size_t len = j->len[o];
		uint64_t last = j->last_seq[o];
		uint64_t first = __atomic_load_n(&j->durable, __ATOMIC_RELAXED) + 1;
		pthread_mutex_unlock(&j->mu);

		uint64_t t0 = clock_mono_ns();

		while (commit(j, j->buf[o], len, first) != 0) {
			__atomic_store_n(&j->failing, true, __ATOMIC_RELEASE);
			j->st.write_errors++;
			if (j->stop)
				break;
			usleep(RETRY_NS / 1000);
		}
		uint64_t dt = clock_mono_ns() - t0;

		__atomic_store_n(&j->failing, false, __ATOMIC_RELEASE);
		__atomic_store_n(&j->durable, last, __ATOMIC_RELEASE);
		pthread_mutex_lock(&j->mu);
		j->len[o] = 0;
		j->st.commits++;
		j->st.committed_bytes += len;
		j->st.commit_ns_total += dt;
		if (dt > j->st.commit_ns_max)
			j->st.commit_ns_max = dt;
		if (j->stop && j->len[j->open] == 0)
			break;
	}
	pthread_mutex_unlock(&j->mu);
	return NULL;
}

struct journal *
journal_open(const struct journal_config *cfg, uint64_t next_seq, char *err,
	     size_t err_len)
{
	struct journal *j = calloc(1, sizeof(*j));

	if (j == NULL) {
		snprintf(err, err_len, "out of memory");
		return NULL;
	}
	j->cfg = *cfg;
	j->fd = -1;
	j->next_seq = next_seq ? next_seq : 1;
	j->durable = j->next_seq - 1;
	if (mkdir(cfg->dir, 0700) != 0 && errno != EEXIST) {
		snprintf(err, err_len, "%s: %s", cfg->dir, strerror(errno));
		free(j);
		return NULL;
	}
	j->dir_fd = open(cfg->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	j->buf[0] = malloc(cfg->buffer_bytes);
	j->buf[1] = malloc(cfg->buffer_bytes);
	if (j->dir_fd < 0 || j->buf[0] == NULL || j->buf[1] == NULL ||
	    open_segment(j, j->next_seq, err, err_len) != 0) {
		if (j->dir_fd < 0)
			snprintf(err, err_len, "%s: %s", cfg->dir, strerror(errno));
		goto fail;
	}
	pthread_mutex_init(&j->mu, NULL);
	pthread_cond_init(&j->cv, NULL);
	if (pthread_create(&j->writer, NULL, writer_main, j) != 0) {
		snprintf(err, err_len, "cannot start the journal writer");
		goto fail;
	}
	pthread_setname_np(j->writer, "paygate-jnl");
	return j;
fail:
	if (j->fd >= 0)
		close(j->fd);
	if (j->dir_fd >= 0)
		close(j->dir_fd);
	free(j->buf[0]);
	free(j->buf[1]);
	free(j);
	return NULL;
}

void
journal_close(struct journal *j)
{
	if (j == NULL)
		return;
	pthread_mutex_lock(&j->mu);
	j->stop = true;
	pthread_cond_signal(&j->cv);
	pthread_mutex_unlock(&j->mu);
	pthread_join(j->writer, NULL);
	close(j->fd);
	close(j->dir_fd);
	free(j->buf[0]);
	free(j->buf[1]);
	free(j);
}

uint64_t
journal_append(struct journal *j, struct journal_entry *e)
{
	uint8_t rec[RECORD_MAX];
	size_t n;
	uint64_t seq = 0;

	pthread_mutex_lock(&j->mu);
	e->seq = j->next_seq;
	n = journal_encode(e, rec, sizeof(rec));
	int o = j->open;

	if (n == 0 || j->len[o] + n > j->cfg.buffer_bytes) {
		j->st.append_refused++;
		goto out;
	}
	if (j->len[o] == 0)
		j->opened_ns = clock_mono_ns();
	memcpy(j->buf[o] + j->len[o], rec, n);
	j->len[o] += n;
	j->last_seq[o] = e->seq;
	seq = j->next_seq++;
	j->st.appended++;
	/* Wake the writer for a new batch (it sleeps without one) or a full one. */
	if (j->len[o] == n || j->len[o] >= j->cfg.batch_bytes)
		pthread_cond_signal(&j->cv);
out:
	pthread_mutex_unlock(&j->mu);
	return seq;
}

int
journal_set_affinity(struct journal *j, const cpu_set_t *cpus)
{
	return pthread_setaffinity_np(j->writer, sizeof(*cpus), cpus);
}

uint64_t
journal_durable(const struct journal *j)
{
	return __atomic_load_n(&j->durable, __ATOMIC_ACQUIRE);
}

bool
journal_failing(const struct journal *j)
{
	return __atomic_load_n(&j->failing, __ATOMIC_ACQUIRE);
}

void
journal_get_stats(const struct journal *j, struct journal_stats *out)
{
	struct journal *m = (struct journal *)j;

	pthread_mutex_lock(&m->mu);
	*out = j->st;
	out->committed_records = j->durable;
	pthread_mutex_unlock(&m->mu);
}
