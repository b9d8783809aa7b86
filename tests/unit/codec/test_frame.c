/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Frame layer tests: build/parse round trips with and without a VLAN tag,
 * one test per drop reason, the length-header mismatch, ARP, and every
 * truncation of a valid frame.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <rte_arp.h>
#include <rte_ip.h>
#include <rte_udp.h>

#include "frame.h"

static struct frame_local gw, client;

static int
setup(void **state)
{
	(void)state;
	assert_true(frame_mac_parse("02:00:00:00:00:01", &gw.mac));
	assert_true(frame_ip_parse("198.18.0.1", &gw.ip));
	gw.port = rte_cpu_to_be_16(8583);
	assert_true(frame_mac_parse("02:00:00:00:00:02", &client.mac));
	assert_true(frame_ip_parse("198.18.0.2", &client.ip));
	client.port = rte_cpu_to_be_16(10001);
	return 0;
}

static struct frame_peer
peer_of(const struct frame_local *l, bool vlan)
{
	struct frame_peer p = { .ip = l->ip, .port = l->port,
				.has_vlan = vlan, .vlan_tci = vlan ? 42 : 0 };

	p.mac = l->mac;
	return p;
}

static const uint8_t msg[] = "0800\x82\x20\x00\x00\x00\x00\x00\x00"
			     "\x04\x00\x00\x00\x00\x00\x00\x00"
			     "1125120000000001301";

static uint16_t
build_request(uint8_t *buf, size_t cap, bool vlan)
{
	struct frame_peer to = peer_of(&gw, vlan);

	return frame_build_udp(buf, (uint32_t)cap, &client, &to, msg,
			       sizeof(msg) - 1);
}

static void
test_round_trip(void **state)
{
	uint8_t buf[256];

	(void)state;
	for (int vlan = 0; vlan <= 1; vlan++) {
		struct frame_info fi;
		uint16_t len = build_request(buf, sizeof(buf), vlan);

		assert_true(len >= FRAME_MIN_LEN);
		frame_parse(buf, len, &gw, true, &fi);
		assert_int_equal(fi.kind, FRAME_KIND_ISO);
		assert_int_equal(fi.len_mismatch, 0);
		assert_int_equal(fi.iso_len, sizeof(msg) - 1);
		assert_memory_equal(buf + fi.iso_off, msg, sizeof(msg) - 1);
		assert_true(rte_is_same_ether_addr(&fi.peer.mac, &client.mac));
		assert_int_equal(fi.peer.ip, client.ip);
		assert_int_equal(fi.peer.port, client.port);
		assert_int_equal(fi.peer.has_vlan, vlan);
		if (vlan)
			assert_int_equal(fi.peer.vlan_tci, 42);
		/* The client sees the gateway's reply as ours. */
		uint8_t reply[256];
		uint16_t rlen = frame_build_udp(reply, sizeof(reply), &gw,
						&fi.peer, msg, sizeof(msg) - 1);
		struct frame_info ri;

		frame_parse(reply, rlen, &client, true, &ri);
		assert_int_equal(ri.kind, FRAME_KIND_ISO);
		assert_int_equal(ri.peer.port, gw.port);
	}
}

/* Each malformation leads to its own counted reason. */
static void
test_drop_reasons(void **state)
{
	uint8_t buf[256];
	struct frame_info fi;
	uint16_t len;
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(buf + 14);
	struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(ip + 1);

	(void)state;
#define EXPECT_DROP(why)                                                   \
	do {                                                               \
		frame_parse(buf, len, &gw, true, &fi);                     \
		assert_int_equal(fi.kind, FRAME_KIND_DROP);                \
		assert_string_equal(frame_drop_name[fi.drop],              \
				    frame_drop_name[FRAME_DROP_##why]);    \
	} while (0)
#define FRESH() (len = build_request(buf, sizeof(buf), false))

	FRESH();
	len = 10;
	EXPECT_DROP(RUNT);

	FRESH();
	buf[12] = 0x86; /* IPv6 ethertype */
	buf[13] = 0xdd;
	EXPECT_DROP(ETHERTYPE);

	FRESH();
	buf[0] = 0x02; buf[5] = 0x09; /* another unicast MAC */
	EXPECT_DROP(NOT_FOR_US);

	FRESH();
	ip->version_ihl = 0x65;
	EXPECT_DROP(IP_VERSION);

	FRESH();
	ip->version_ihl = 0x46;
	EXPECT_DROP(IP_OPTIONS);

	FRESH();
	ip->time_to_live = 1; /* checksum now wrong */
	EXPECT_DROP(IP_CHECKSUM);

	FRESH();
	ip->total_length = rte_cpu_to_be_16(1000);
	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	EXPECT_DROP(IP_LENGTH);

	FRESH();
	ip->fragment_offset = rte_cpu_to_be_16(RTE_IPV4_HDR_MF_FLAG);
	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	EXPECT_DROP(IP_FRAGMENT);

	FRESH();
	ip->next_proto_id = IPPROTO_TCP;
	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	EXPECT_DROP(NOT_UDP);

	FRESH();
	ip->dst_addr = client.ip;
	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	EXPECT_DROP(NOT_FOR_US);

	FRESH();
	udp->dst_port = rte_cpu_to_be_16(53);
	EXPECT_DROP(NOT_FOR_US);

	FRESH();
	udp->dgram_len = rte_cpu_to_be_16(4);
	EXPECT_DROP(UDP_LENGTH);

	FRESH();
	udp->dgram_len = rte_cpu_to_be_16(9);
	EXPECT_DROP(NO_LEN_HEADER);

	/* Stacked VLAN tags. */
	FRESH();
	len = build_request(buf, sizeof(buf), true);
	buf[16] = 0x81;
	buf[17] = 0x00;
	EXPECT_DROP(VLAN_STACKED);

	/* Without the checksum check the bad TTL passes. */
	FRESH();
	ip->time_to_live = 1;
	frame_parse(buf, len, &gw, false, &fi);
	assert_int_equal(fi.kind, FRAME_KIND_ISO);
#undef EXPECT_DROP
#undef FRESH
}

static void
test_len_header_mismatch(void **state)
{
	uint8_t buf[256];
	struct frame_info fi;
	uint16_t len = build_request(buf, sizeof(buf), false);
	uint8_t *hdr = buf + 14 + 20 + 8;

	(void)state;
	hdr[0] = 0;
	hdr[1] = 10; /* says 10, carries more */
	frame_parse(buf, len, &gw, true, &fi);
	assert_int_equal(fi.kind, FRAME_KIND_ISO);
	assert_int_equal(fi.len_mismatch, 1);
	assert_int_equal(fi.iso_len, 10);
	hdr[0] = 0x10; /* says 4096, carries less */
	frame_parse(buf, len, &gw, true, &fi);
	assert_int_equal(fi.len_mismatch, 1);
	assert_int_equal(fi.iso_len, sizeof(msg) - 1);
}

static uint16_t
build_arp_request(uint8_t *buf, rte_be32_t target)
{
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)buf;
	struct rte_arp_hdr *arp = (struct rte_arp_hdr *)(eth + 1);

	memset(buf, 0, 60);
	memset(&eth->dst_addr, 0xff, 6);
	eth->src_addr = client.mac;
	eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP);
	arp->arp_hardware = rte_cpu_to_be_16(RTE_ARP_HRD_ETHER);
	arp->arp_protocol = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	arp->arp_hlen = 6;
	arp->arp_plen = 4;
	arp->arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REQUEST);
	arp->arp_data.arp_sha = client.mac;
	arp->arp_data.arp_sip = client.ip;
	arp->arp_data.arp_tip = target;
	return 60;
}

static void
test_arp(void **state)
{
	uint8_t buf[128], out[128];
	struct frame_info fi;
	uint16_t len;

	(void)state;
	len = build_arp_request(buf, gw.ip);
	frame_parse(buf, len, &gw, true, &fi);
	assert_int_equal(fi.kind, FRAME_KIND_ARP_REQUEST);
	uint16_t rlen = frame_build_arp_reply(out, sizeof(out), &gw, buf, len);

	assert_int_equal(rlen, 60);
	const struct rte_ether_hdr *eth = (const struct rte_ether_hdr *)out;
	const struct rte_arp_hdr *arp = (const struct rte_arp_hdr *)(eth + 1);

	assert_true(rte_is_same_ether_addr(&eth->dst_addr, &client.mac));
	assert_true(rte_is_same_ether_addr(&eth->src_addr, &gw.mac));
	assert_int_equal(arp->arp_opcode, rte_cpu_to_be_16(RTE_ARP_OP_REPLY));
	assert_int_equal(arp->arp_data.arp_sip, gw.ip);
	assert_int_equal(arp->arp_data.arp_tip, client.ip);
	assert_true(rte_is_same_ether_addr(&arp->arp_data.arp_sha, &gw.mac));
	/* In place works too. */
	rlen = frame_build_arp_reply(buf, sizeof(buf), &gw, buf, len);
	assert_memory_equal(buf, out, rlen);

	len = build_arp_request(buf, client.ip); /* not our IP */
	frame_parse(buf, len, &gw, true, &fi);
	assert_int_equal(fi.kind, FRAME_KIND_DROP);
	assert_int_equal(fi.drop, FRAME_DROP_ARP_OTHER);
}

/* Every prefix of a valid frame is either dropped or yields a message
 * inside the prefix. */
static void
test_every_truncation(void **state)
{
	uint8_t buf[256];
	uint16_t full = build_request(buf, sizeof(buf), true);

	(void)state;
	for (uint16_t cut = 0; cut <= full; cut++) {
		uint8_t *p = malloc(cut ? cut : 1);
		struct frame_info fi;

		memcpy(p, buf, cut);
		frame_parse(p, cut, &gw, true, &fi);
		if (fi.kind == FRAME_KIND_ISO)
			assert_true((uint32_t)fi.iso_off + fi.iso_len <= cut);
		/* The frame needs no padding, so any cut loses bytes
		 * that the IP total length still claims. */
		if (cut < full)
			assert_int_equal(fi.kind, FRAME_KIND_DROP);
		else
			assert_int_equal(fi.kind, FRAME_KIND_ISO);
		free(p);
	}
}

static void
test_addr_parsing(void **state)
{
	struct rte_ether_addr mac;
	rte_be32_t ip;

	(void)state;
	assert_false(frame_mac_parse("02:00:00:00:00", &mac));
	assert_false(frame_mac_parse("02:00:00:00:00:01x", &mac));
	assert_false(frame_ip_parse("256.0.0.1", &ip));
	assert_false(frame_ip_parse("1.2.3", &ip));
	assert_true(frame_ip_parse("10.1.2.3", &ip));
	assert_int_equal(rte_be_to_cpu_32(ip), 0x0a010203);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_drop_reasons),
		cmocka_unit_test(test_len_header_mismatch),
		cmocka_unit_test(test_arp),
		cmocka_unit_test(test_every_truncation),
		cmocka_unit_test(test_addr_parsing),
	};

	return cmocka_run_group_tests_name("frame", tests, setup, NULL);
}
