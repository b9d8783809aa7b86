/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bank_link.h"

int
bank_link_init(struct bank_link *l, const struct sockaddr_in *addr)
{
	memset(l, 0, sizeof(*l));
	l->fd = -1;
	l->addr = *addr;
	l->backoff_ms = BANK_LINK_BACKOFF_MIN_MS;
	l->rbuf = malloc(BANK_LINK_RBUF);
	l->wbuf = malloc(BANK_LINK_WBUF);
	return (l->rbuf && l->wbuf) ? 0 : -1;
}

void
bank_link_fini(struct bank_link *l)
{
	if (l->fd >= 0)
		close(l->fd);
	free(l->rbuf);
	free(l->wbuf);
	l->fd = -1;
}

static void
link_down(struct bank_link *l, uint64_t now_ns)
{
	if (l->fd >= 0)
		close(l->fd);
	if (l->state == BANK_LINK_UP)
		l->disconnects++;
	l->fd = -1;
	l->state = BANK_LINK_DOWN;
	l->rlen = l->wlen = l->woff = 0;
	l->retry_at_ns = now_ns + (uint64_t)l->backoff_ms * 1000000ull;
	l->backoff_ms *= 2;
	if (l->backoff_ms > BANK_LINK_BACKOFF_MAX_MS)
		l->backoff_ms = BANK_LINK_BACKOFF_MAX_MS;
}

void
bank_link_close(struct bank_link *l, uint64_t now_ns)
{
	link_down(l, now_ns);
	l->echo_sent_ns = 0;
}

void
bank_link_service(struct bank_link *l, uint64_t now_ns)
{
	int one = 1, err = 0;
	socklen_t len = sizeof(err);

	if (l->state == BANK_LINK_DOWN && now_ns >= l->retry_at_ns) {
		l->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		if (l->fd < 0) {
			link_down(l, now_ns);
			return;
		}
		setsockopt(l->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (connect(l->fd, (const struct sockaddr *)&l->addr, sizeof(l->addr)) == 0 ||
		    errno == EINPROGRESS)
			l->state = BANK_LINK_CONNECTING;
		else
			link_down(l, now_ns);
		return;
	}
	if (l->state == BANK_LINK_CONNECTING) {
		/* A second connect() reports the outcome without poll(). */
		if (connect(l->fd, (const struct sockaddr *)&l->addr, sizeof(l->addr)) == 0 ||
		    errno == EISCONN) {
			l->state = BANK_LINK_UP;
			l->last_rx_ns = now_ns;
			l->echo_sent_ns = 0;
			l->connects++;
			l->backoff_ms = BANK_LINK_BACKOFF_MIN_MS;
		} else if (errno != EALREADY && errno != EINPROGRESS) {
			getsockopt(l->fd, SOL_SOCKET, SO_ERROR, &err, &len);
			link_down(l, now_ns);
		}
	}
}

bool
bank_link_send(struct bank_link *l, const uint8_t *msg, uint16_t len)
{
	if (l->state != BANK_LINK_UP || len == 0 || len > ISO_MSG_MAX)
		return false;
	if (l->wlen + 2u + len > BANK_LINK_WBUF) {
		if (l->woff == 0)
			return false;
		memmove(l->wbuf, l->wbuf + l->woff, l->wlen - l->woff);
		l->wlen -= l->woff;
		l->woff = 0;
		if (l->wlen + 2u + len > BANK_LINK_WBUF)
			return false;
	}
	l->wbuf[l->wlen] = (uint8_t)(len >> 8);
	l->wbuf[l->wlen + 1] = (uint8_t)len;
	memcpy(l->wbuf + l->wlen + 2, msg, len);
	l->wlen += 2u + len;
	return true;
}

bool
bank_link_flush(struct bank_link *l, uint64_t now_ns)
{
	while (l->state == BANK_LINK_UP && l->woff < l->wlen) {
		ssize_t n = send(l->fd, l->wbuf + l->woff, l->wlen - l->woff, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return true;
			link_down(l, now_ns);
			return false;
		}
		l->woff += (uint32_t)n;
	}
	if (l->woff == l->wlen)
		l->woff = l->wlen = 0;
	return true;
}

bool
bank_link_read(struct bank_link *l, uint64_t now_ns, bank_link_msg_fn fn,
	       void *ctx)
{
	if (l->state != BANK_LINK_UP)
		return true;
	for (;;) {
		ssize_t n = recv(l->fd, l->rbuf + l->rlen, BANK_LINK_RBUF - l->rlen, 0);

		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
			link_down(l, now_ns);
			return false;
		}
		if (n < 0)
			return true;
		l->rlen += (uint32_t)n;
		l->last_rx_ns = now_ns;
		l->echo_sent_ns = 0;

		uint32_t off = 0;

		while (l->rlen - off >= 2) {
			uint32_t mlen = ((uint32_t)l->rbuf[off] << 8) | l->rbuf[off + 1];

			if (mlen == 0 || mlen > ISO_MSG_MAX) {
				/* Framing lost: nothing after this can be trusted. */
				l->bad_frames++;
				link_down(l, now_ns);
				return false;
			}
			if (l->rlen - off < 2 + mlen)
				break;
			fn(ctx, l->rbuf + off + 2, (uint16_t)mlen);
			off += 2 + mlen;
		}
		memmove(l->rbuf, l->rbuf + off, l->rlen - off);
		l->rlen -= off;
	}
}
