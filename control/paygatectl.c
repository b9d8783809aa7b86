/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * paygatectl - operator commands to a running paygate over its control
 * socket ([control] socket in paygate.ini).
 *
 *   paygatectl [-s SOCKET | -c paygate.ini] [--json] <command...>
 *
 * Exit status: 0 done, 1 refused by the gateway, 2 gateway not reachable
 * or bad usage.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctl_protocol.h"

static void
usage(void)
{
	fprintf(stderr,
		"usage: paygatectl [-s SOCKET | -c paygate.ini] [--json] <command>\n"
		"commands:\n"
		"  show shards | show lcores | show stats | show banks | show merchant <id>\n"
		"  move slot <S> to <lcore> | drain lcore <L> | fill lcore <L>\n"
		"  rebalance [ratio]\n");
	exit(2);
}

/* The socket path from the ini's [control] socket, relative to the ini. */
static int
socket_from_ini(const char *ini, char *out, size_t out_len)
{
	FILE *f = fopen(ini, "r");
	char line[512], section[64] = "";

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		char key[64], val[400];

		if (sscanf(line, " [%63[^]]]", section) == 1)
			continue;
		if (strcmp(section, "control") != 0 ||
		    sscanf(line, " %63[^= \t] = %399s", key, val) != 2 ||
		    strcmp(key, "socket") != 0)
			continue;
		const char *slash = strrchr(ini, '/');
		int n;

		fclose(f);
		if (val[0] == '/' || slash == NULL)
			n = snprintf(out, out_len, "%s", val);
		else
			n = snprintf(out, out_len, "%.*s/%s", (int)(slash - ini), ini, val);
		return n < 0 || (size_t)n >= out_len ? -1 : 0;
	}
	fclose(f);
	return -1;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "config", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char path[108] = "/run/paygate/ctl.sock", req[CTL_LINE_MAX];
	size_t len = 0;
	bool json = false;
	int opt;

	while ((opt = getopt_long(argc, argv, "+s:c:jh", opts, NULL)) != -1) {
		switch (opt) {
		case 's':
			snprintf(path, sizeof(path), "%s", optarg);
			break;
		case 'c':
			if (socket_from_ini(optarg, path, sizeof(path)) != 0) {
				fprintf(stderr, "paygatectl: %s: no [control] socket\n", optarg);
				return 2;
			}
			break;
		case 'j':
			json = true;
			break;
		default:
			usage();
		}
	}
	if (optind >= argc)
		usage();
	for (int i = optind; i < argc; i++) {
		int n = snprintf(req + len, sizeof(req) - len, "%s%s", i > optind ? " " : "", argv[i]);

		if (n < 0 || (size_t)n >= sizeof(req) - len) {
			fprintf(stderr, "paygatectl: command too long\n");
			return 2;
		}
		len += (size_t)n;
	}
	if (json) {
		int n = snprintf(req + len, sizeof(req) - len, " --json");

		if (n < 0 || (size_t)n >= sizeof(req) - len)
			return 2;
		len += (size_t)n;
	}
	req[len++] = '\n';

	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		fprintf(stderr, "paygatectl: gateway not running? cannot connect to %s: %s\n",
			path, strerror(errno));
		return 2;
	}
	if (write(fd, req, len) != (ssize_t)len) {
		fprintf(stderr, "paygatectl: %s: %s\n", path, strerror(errno));
		return 2;
	}
	shutdown(fd, SHUT_WR);

	char buf[65536];
	size_t have = 0;
	bool header = true;
	int status = 2;
	ssize_t r;

	/* First line is the verdict; the rest goes to stdout as is. */
	while ((r = read(fd, buf + have, sizeof(buf) - have)) > 0) {
		have += (size_t)r;
		if (header) {
			char *nl = memchr(buf, '\n', have);

			if (nl == NULL && have < sizeof(buf))
				continue;
			header = false;
			if (have >= 3 && memcmp(buf, "ok\n", 3) == 0) {
				status = 0;
				fwrite(buf + 3, 1, have - 3, stdout);
			} else {
				status = 1;
				fprintf(stderr, "paygatectl: %.*s", (int)have, buf);
			}
			have = 0;
			continue;
		}
		fwrite(buf, 1, have, status == 0 ? stdout : stderr);
		have = 0;
	}
	if (header) {
		fprintf(stderr, "paygatectl: gateway closed the connection without an answer\n");
		status = 2;
	}
	close(fd);
	return status;
}
