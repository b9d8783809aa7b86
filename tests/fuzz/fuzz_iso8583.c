/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target for the parsers every frame meets before any decision:
 * frame_parse() on the whole input as a frame, then iso_parse() on the
 * input as a message in both bitmap encodings. Whatever parses is turned
 * into a response, which must parse back, as the gateway would do.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "iso8583.h"

static void
check_message(const uint8_t *data, size_t size, enum iso_bitmap_enc enc)
{
	uint8_t out[ISO_MSG_MAX + 64];
	struct iso_msg m, r;
	int len;

	iso_parse(&m, data, size, enc);
	for (unsigned int n = 2; n <= ISO_FIELD_MAX; n++) {
		if (iso_has(&m, n)) {
			if ((size_t)m.field[n].off + m.field[n].len > size)
				abort();
			(void)iso_field_valid(&m, n);
		}
	}
	if (m.status == ISO_PARSE_NO_MTI || m.status == ISO_PARSE_BITMAP)
		return;
	len = iso_response_build(out, sizeof(out), enc, &m, "30", NULL);
	if (len > 0 && iso_parse(&r, out, (size_t)len, enc) != ISO_PARSE_OK)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct frame_local local = {
		.mac = { { 0x02, 0, 0, 0, 0, 0x01 } },
		.ip = 0x010012c6, /* 198.18.0.1 in network order */
		.port = 0x8721,   /* 8583 in network order */
	};
	struct frame_info fi;

	frame_parse(data, (uint32_t)(size > UINT32_MAX ? UINT32_MAX : size),
		    &local, true, &fi);
	if (fi.kind == FRAME_KIND_ISO) {
		if ((size_t)fi.iso_off + fi.iso_len > size)
			abort();
		check_message(data + fi.iso_off, fi.iso_len, ISO_BITMAP_BINARY);
	}
	check_message(data, size, ISO_BITMAP_BINARY);
	check_message(data, size, ISO_BITMAP_HEX);
	return 0;
}
