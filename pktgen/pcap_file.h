/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * pcap_file - classic pcap files (Ethernet link type), written and read by
 * hand so that pktgen can produce frames for net_pcap / tshark and check
 * what the gateway wrote, without libpcap.
 */
#ifndef PAYGATE_PCAP_FILE_H
#define PAYGATE_PCAP_FILE_H

#include <stdint.h>
#include <stdio.h>

FILE *pcap_create(const char *path);
int pcap_write(FILE *f, const uint8_t *frame, uint32_t len, uint64_t ts_ns);
FILE *pcap_open(const char *path);
/* Next frame into buf; returns its length, 0 at end, -1 on a bad file. */
int pcap_read(FILE *f, uint8_t *buf, uint32_t cap);

#endif /* PAYGATE_PCAP_FILE_H */
