/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * frame - the layers around an ISO 8583 message on the wire: Ethernet II,
 * at most one 802.1Q tag, IPv4 without options or fragments, UDP, and the
 * 2-byte big-endian length header in front of the MTI.
 *
 * Owns: classifying a received frame (ours / ARP request / drop and why),
 * building a UDP frame around a message, and building an ARP reply. Works
 * on flat buffers so that the gateway, pktgen and tests share it; it never
 * reads outside [pkt, pkt + len).
 */
#ifndef PAYGATE_FRAME_H
#define PAYGATE_FRAME_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_byteorder.h>
#include <rte_ether.h>

/* Headers in front of the message: Ethernet + VLAN + IPv4 + UDP + length. */
#define FRAME_HDR_MAX (14 + 4 + 20 + 8 + 2)
/* A frame shorter than this is padded by the builder (Ethernet minimum
 * without FCS). */
#define FRAME_MIN_LEN 60

/* This end of the conversation. */
struct frame_local {
	struct rte_ether_addr mac;
	rte_be32_t ip;
	rte_be16_t port;
};

/* The other end: learnt from a request, used to address the reply. */
struct frame_peer {
	struct rte_ether_addr mac;
	rte_be32_t ip;
	rte_be16_t port;
	uint16_t vlan_tci; /* host order; valid when has_vlan */
	uint8_t has_vlan;
};

/* Why a frame was not taken; counted per lcore. X-macro so that counter
 * names and strings stay in one list. */
#define foreach_frame_drop                                                  \
	_(RUNT, "runt")                     /* shorter than its headers */  \
	_(NOT_FOR_US, "not_for_us")         /* dst MAC, IP or port */       \
	_(ETHERTYPE, "ethertype")           /* not IPv4 or ARP */           \
	_(VLAN_STACKED, "vlan_stacked")     /* more than one tag */         \
	_(IP_VERSION, "ip_version")                                         \
	_(IP_OPTIONS, "ip_options")                                         \
	_(IP_CHECKSUM, "ip_checksum")                                       \
	_(IP_LENGTH, "ip_length")           /* total length vs frame */     \
	_(IP_FRAGMENT, "ip_fragment")                                       \
	_(NOT_UDP, "not_udp")                                               \
	_(UDP_LENGTH, "udp_length")                                         \
	_(ARP_OTHER, "arp_other")           /* not a request for our IP */  \
	_(NO_LEN_HEADER, "no_len_header")   /* UDP payload < 2 bytes */

enum frame_drop {
	FRAME_DROP_NONE = 0,
#define _(sym, str) FRAME_DROP_##sym,
	foreach_frame_drop
#undef _
	FRAME_DROP_MAX,
};

extern const char *const frame_drop_name[FRAME_DROP_MAX];

enum frame_kind {
	FRAME_KIND_DROP = 0,
	FRAME_KIND_ISO,         /* UDP to our IP and port */
	FRAME_KIND_ARP_REQUEST, /* who-has our IP */
};

struct frame_info {
	uint8_t kind;       /* enum frame_kind */
	uint8_t drop;       /* enum frame_drop when kind == DROP */
	/* The length header disagrees with the UDP payload; the message is
	 * taken as min(header, payload) bytes and is answered 30. */
	uint8_t len_mismatch;
	struct frame_peer peer;
	uint16_t iso_off;   /* message start (after the length header) */
	uint16_t iso_len;
};

/*
 * Classify pkt[0..len). `local` gives our MAC, IP and UDP port. Frames to
 * another unicast MAC, IP or port are NOT_FOR_US; a local port of 0 takes
 * any port (pktgen, whose flows each have their own). check_ip_csum may be
 * false when the NIC has already verified it.
 */
void frame_parse(const uint8_t *pkt, uint32_t len,
		 const struct frame_local *local, bool check_ip_csum,
		 struct frame_info *fi);

/*
 * Write Ethernet (+ tag) + IPv4 + UDP + length header + msg into dst.
 * Returns the frame length (padded to FRAME_MIN_LEN), or 0 if it does not
 * fit in cap. The IPv4 checksum is computed; the UDP checksum is 0 (allowed
 * for IPv4, RFC 768).
 */
uint16_t frame_build_udp(uint8_t *dst, uint32_t cap,
			 const struct frame_local *src,
			 const struct frame_peer *to, const uint8_t *msg,
			 uint16_t msg_len);

/*
 * pkt is an ARP request for local->ip (frame_parse said ARP_REQUEST).
 * Writes the reply into dst; returns its length or 0.
 */
uint16_t frame_build_arp_reply(uint8_t *dst, uint32_t cap,
			       const struct frame_local *local,
			       const uint8_t *pkt, uint32_t len);

/* Parse "aa:bb:cc:dd:ee:ff" and dotted IPv4 (result in network order). */
bool frame_mac_parse(const char *s, struct rte_ether_addr *mac);
bool frame_ip_parse(const char *s, rte_be32_t *ip);

#endif /* PAYGATE_FRAME_H */
