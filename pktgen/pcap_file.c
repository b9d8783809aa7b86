/* SPDX-License-Identifier: BSD-3-Clause */
#include <string.h>

#include "pcap_file.h"

struct pcap_hdr {
	uint32_t magic;
	uint16_t major, minor;
	int32_t thiszone;
	uint32_t sigfigs, snaplen, linktype;
};

struct pcap_rec {
	uint32_t sec, usec, caplen, len;
};

FILE *
pcap_create(const char *path)
{
	struct pcap_hdr h = { 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1 };
	FILE *f = fopen(path, "wb");

	if (f && fwrite(&h, sizeof(h), 1, f) != 1) {
		fclose(f);
		return NULL;
	}
	return f;
}

int
pcap_write(FILE *f, const uint8_t *frame, uint32_t len, uint64_t ts_ns)
{
	struct pcap_rec r = {
		(uint32_t)(ts_ns / 1000000000ull),
		(uint32_t)(ts_ns % 1000000000ull / 1000), len, len,
	};

	if (fwrite(&r, sizeof(r), 1, f) != 1 || fwrite(frame, 1, len, f) != len)
		return -1;
	return 0;
}

FILE *
pcap_open(const char *path)
{
	struct pcap_hdr h;
	FILE *f = fopen(path, "rb");

	if (f == NULL)
		return NULL;
	/* Native byte order and Ethernet, as we (microseconds) and net_pcap
	 * (nanoseconds, 0xa1b23c4d) write them. */
	if (fread(&h, sizeof(h), 1, f) != 1 ||
	    (h.magic != 0xa1b2c3d4 && h.magic != 0xa1b23c4d) || h.linktype != 1) {
		fclose(f);
		return NULL;
	}
	return f;
}

int
pcap_read(FILE *f, uint8_t *buf, uint32_t cap)
{
	struct pcap_rec r;

	if (fread(&r, sizeof(r), 1, f) != 1)
		return 0;
	if (r.caplen > cap || fread(buf, 1, r.caplen, f) != r.caplen)
		return -1;
	return (int)r.caplen;
}
