/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * config - paygate.ini loaded once at start (rte_cfgfile) into one struct
 * that everyone reads and nobody writes after launch. A missing or
 * out-of-range key stops the start with file, section and key named.
 */
#ifndef PAYGATE_CONFIG_H
#define PAYGATE_CONFIG_H

#include <limits.h>
#include <stdint.h>

#include "control_plane.h"
#include "frame.h"
#include "iso8583.h"
#include "journal.h"

struct paygate_config {
	struct frame_local local;     /* our MAC, IP, UDP port */
	uint8_t enc;                  /* enum iso_bitmap_enc, client side */
	char merchants_path[PATH_MAX];
	uint32_t idle_sleep_us;       /* worker sleep after an empty poll */
	uint32_t idem_ttl_ms;
	uint32_t requests_max;        /* auth_request records */
	uint32_t mbufs;
	uint32_t ring_size;           /* power of two */
	uint32_t slots;               /* power of two */
	uint32_t idem_entries_per_slot; /* power of two */
	double rebalance_ratio;       /* busiest lcore / mean that rebalance aims at */
	char ctl_socket[108];         /* sun_path */
	struct control_config control;
	struct journal_config journal;
	uint32_t journal_declines_per_s; /* per worker, best effort; 0: none */
};

int paygate_config_load(const char *path, struct paygate_config *cfg,
			char *err, size_t err_len);

#endif /* PAYGATE_CONFIG_H */
