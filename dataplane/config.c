/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cfgfile.h>
#include <rte_common.h>

#include "config.h"
#include "idem_table.h"

struct loader {
	struct rte_cfgfile *f;
	const char *path;
	char *err;
	size_t err_len;
	int failed;
};

static const char *
get(struct loader *l, const char *sec, const char *key)
{
	const char *v;

	if (l->failed)
		return NULL;
	v = rte_cfgfile_get_entry(l->f, sec, key);
	if (v == NULL || *v == 0) {
		snprintf(l->err, l->err_len, "%s: [%s] %s is missing", l->path, sec, key);
		l->failed = 1;
	}
	return v;
}

static uint32_t
get_u32(struct loader *l, const char *sec, const char *key, uint64_t min,
	uint64_t max, int pow2)
{
	const char *v = get(l, sec, key);
	char *end;
	unsigned long long n;

	if (v == NULL)
		return 0;
	errno = 0;
	n = strtoull(v, &end, 10);
	if (errno || end == v || *end != 0 || n < min || n > max ||
	    (pow2 && !rte_is_power_of_2((uint32_t)n))) {
		snprintf(l->err, l->err_len, "%s: [%s] %s = '%s': expected %s%llu..%llu",
			 l->path, sec, key, v, pow2 ? "a power of two in " : "",
			 (unsigned long long)min, (unsigned long long)max);
		l->failed = 1;
		return 0;
	}
	return (uint32_t)n;
}

static uint8_t
get_enc(struct loader *l, const char *sec, const char *key)
{
	const char *v = get(l, sec, key);

	if (v == NULL)
		return 0;
	if (strcmp(v, "binary") == 0)
		return ISO_BITMAP_BINARY;
	if (strcmp(v, "hex") == 0)
		return ISO_BITMAP_HEX;
	snprintf(l->err, l->err_len, "%s: [%s] %s = '%s': expected binary or hex",
		 l->path, sec, key, v);
	l->failed = 1;
	return 0;
}

/* Paths are relative to the ini file, so a config directory moves whole. */
static void
relative_path(struct loader *l, const char *sec, const char *key, char *out,
	      size_t out_len)
{
	const char *v = get(l, sec, key);
	const char *slash = strrchr(l->path, '/');
	int n;

	if (v == NULL)
		return;
	if (v[0] == '/' || slash == NULL)
		n = snprintf(out, out_len, "%s", v);
	else
		n = snprintf(out, out_len, "%.*s/%s", (int)(slash - l->path), l->path, v);
	if (n < 0 || (size_t)n >= out_len) {
		snprintf(l->err, l->err_len, "%s: [%s] %s: path too long", l->path, sec, key);
		l->failed = 1;
	}
}

int
paygate_config_load(const char *path, struct paygate_config *cfg, char *err,
		    size_t err_len)
{
	struct loader l = { .path = path, .err = err, .err_len = err_len };
	const char *v;

	memset(cfg, 0, sizeof(*cfg));
	l.f = rte_cfgfile_load(path, 0);
	if (l.f == NULL) {
		snprintf(err, err_len, "%s: cannot read or parse", path);
		return -1;
	}
	v = get(&l, "gateway", "mac");
	if (v && !frame_mac_parse(v, &cfg->local.mac)) {
		snprintf(err, err_len, "%s: [gateway] mac = '%s': expected aa:bb:cc:dd:ee:ff", path, v);
		l.failed = 1;
	}
	v = get(&l, "gateway", "ip");
	if (v && !frame_ip_parse(v, &cfg->local.ip)) {
		snprintf(err, err_len, "%s: [gateway] ip = '%s': expected a dotted IPv4 address", path, v);
		l.failed = 1;
	}
	cfg->local.port = rte_cpu_to_be_16((uint16_t)get_u32(&l, "gateway", "udp_port", 1, 65535, 0));
	cfg->enc = get_enc(&l, "gateway", "bitmap");
	relative_path(&l, "gateway", "merchants", cfg->merchants_path,
		      sizeof(cfg->merchants_path));
	cfg->idle_sleep_us = get_u32(&l, "gateway", "idle_sleep_us", 0, 100000, 0);

	cfg->idem_ttl_ms = get_u32(&l, "limits", "idem_ttl_ms", 1, 86400000, 0);
	cfg->requests_max = get_u32(&l, "limits", "requests_max", 64, 1u << 22, 0);
	cfg->mbufs = get_u32(&l, "limits", "mbufs", 1024, 1u << 22, 0);
	cfg->ring_size = get_u32(&l, "limits", "ring_size", 64, 1u << 22, 1);

	struct control_config *cp = &cfg->control;

	/* [bank] is the default route; [bank.NAME] sections add banks with
	 * their own address, connections and BIN ranges. */
	struct bank_endpoint *b0 = &cp->banks[0];

	snprintf(b0->name, sizeof(b0->name), "default");
	v = get(&l, "bank", "host");
	if (v)
		snprintf(b0->host, sizeof(b0->host), "%s", v);
	b0->port = (uint16_t)get_u32(&l, "bank", "port", 1, 65535, 0);
	b0->connections = (uint16_t)get_u32(&l, "bank", "connections", 1, 64, 0);
	cp->n_banks = 1;

	/* rte_cfgfile_sections() lists every section: pick the bank.* ones. */
	int n_all = rte_cfgfile_num_sections(l.f, NULL, 0);
	char (*secs)[CFG_NAME_LEN] = n_all > 0 ? calloc((size_t)n_all, CFG_NAME_LEN) : NULL;
	char **ptrs = n_all > 0 ? calloc((size_t)n_all, sizeof(*ptrs)) : NULL;

	for (int i = 0; i < n_all && secs && ptrs; i++)
		ptrs[i] = secs[i];
	if (secs && ptrs)
		rte_cfgfile_sections(l.f, ptrs, n_all);
	for (int i = 0; i < n_all && secs && ptrs && !l.failed; i++) {
		if (strncmp(ptrs[i], "bank.", 5) != 0)
			continue;
		if (cp->n_banks == BANKS_MAX) {
			snprintf(err, err_len, "%s: more than %d [bank.*] sections", path,
				 BANKS_MAX - 1);
			l.failed = 1;
			break;
		}
		struct bank_endpoint *b = &cp->banks[cp->n_banks];
		char e[256];

		snprintf(b->name, sizeof(b->name), "%s", ptrs[i] + 5);
		v = get(&l, ptrs[i], "host");
		if (v)
			snprintf(b->host, sizeof(b->host), "%s", v);
		b->port = (uint16_t)get_u32(&l, ptrs[i], "port", 1, 65535, 0);
		b->connections = (uint16_t)get_u32(&l, ptrs[i], "connections", 1, 64, 0);
		v = get(&l, ptrs[i], "bins");
		if (v && bin_routes_add(&cp->routes, v, cp->n_banks, e, sizeof(e)) != 0) {
			snprintf(err, err_len, "%s: [%s] %s", path, ptrs[i], e);
			l.failed = 1;
		}
		cp->n_banks++;
	}
	free(secs);
	free(ptrs);
	cp->bank_enc = get_enc(&l, "bank", "bitmap");
	cp->bank_timeout_ms = get_u32(&l, "bank", "timeout_ms", 1, 600000, 0);
	cp->inflight_max = get_u32(&l, "bank", "inflight_max", 1, 1u << 22, 0);
	cp->idle_sleep_us = get_u32(&l, "control", "idle_sleep_us", 0, 100000, 0);
	relative_path(&l, "control", "socket", cfg->ctl_socket, sizeof(cfg->ctl_socket));

	cp->reversal_retry_ms = get_u32(&l, "bank", "reversal_retry_ms", 10, 3600000, 0);
	cp->reversals_max = cp->inflight_max;
	cp->keepalive_ms = get_u32(&l, "bank", "keepalive_ms", 0, 3600000, 0);
	cp->standin.enabled = (uint8_t)get_u32(&l, "standin", "enabled", 0, 1, 0);
	cp->standin.max_amount = get_u32(&l, "standin", "max_amount", 0, UINT32_MAX, 0);
	cp->standin.card_limit = get_u32(&l, "standin", "card_limit", 0, UINT32_MAX, 0);
	cp->standin.merchant_limit = get_u32(&l, "standin", "merchant_limit", 0, UINT32_MAX, 0);
	cp->breaker.window_ms = get_u32(&l, "bank", "breaker_window_ms", 10, 600000, 0);
	cp->breaker.min_requests = get_u32(&l, "bank", "breaker_min_requests", 1, 1000000, 0);
	cp->breaker.failure_ratio = get_u32(&l, "bank", "breaker_failure_pct", 1, 100, 0) / 100.0;
	cp->breaker.consecutive_failures = get_u32(&l, "bank", "breaker_consecutive", 1, 1000000, 0);
	cp->breaker.open_ms = get_u32(&l, "bank", "breaker_open_ms", 1, 3600000, 0);
	cp->breaker.probes = get_u32(&l, "bank", "breaker_probes", 1, 1000, 0);

	struct journal_config *j = &cfg->journal;

	relative_path(&l, "journal", "dir", j->dir, sizeof(j->dir));
	j->segment_bytes = (uint64_t)get_u32(&l, "journal", "segment_mb", 1, 65536, 0) << 20;
	j->batch_us = get_u32(&l, "journal", "batch_us", 0, 1000000, 0);
	j->batch_bytes = get_u32(&l, "journal", "batch_kb", 1, 65536, 0) << 10;
	j->buffer_bytes = get_u32(&l, "journal", "buffer_mb", 1, 1024, 0) << 20;
	cp->checkpoint_ms = get_u32(&l, "journal", "checkpoint_s", 0, 86400, 0) * 1000;
	cfg->journal_declines_per_s = get_u32(&l, "journal", "declines_per_s", 0, 10000000, 0);
	if (!l.failed && j->buffer_bytes < 2 * j->batch_bytes) {
		snprintf(err, err_len, "%s: [journal] buffer_mb must hold two batches (batch_kb)", path);
		l.failed = 1;
	}

	cfg->slots = get_u32(&l, "shards", "slots", 1, 1u << 16, 1);
	cfg->idem_entries_per_slot = get_u32(&l, "shards", "idem_entries_per_slot",
					     IDEM_WAYS, 1u << 24, 1);
	v = get(&l, "shards", "rebalance_ratio");
	if (v) {
		char *end;

		cfg->rebalance_ratio = strtod(v, &end);
		if (*end != 0 || !(cfg->rebalance_ratio >= 1.0 && cfg->rebalance_ratio <= 100.0)) {
			snprintf(err, err_len, "%s: [shards] rebalance_ratio = '%s': expected 1.0..100",
				 path, v);
			l.failed = 1;
		}
	}

	rte_cfgfile_close(l.f);
	return l.failed ? -1 : 0;
}
