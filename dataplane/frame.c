/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Ethernet/VLAN/IPv4/UDP framing of ISO 8583 messages. See frame.h.
 *
 * Header structs are read with memcpy-free pointer casts only after the
 * length has been checked; DPDK's header structs are packed where needed
 * and x86 tolerates unaligned loads.
 */
#include <stdio.h>
#include <string.h>

#include <rte_arp.h>
#include <rte_ip.h>
#include <rte_udp.h>

#include "frame.h"

const char *const frame_drop_name[FRAME_DROP_MAX] = {
	[FRAME_DROP_NONE] = "none",
#define _(sym, str) [FRAME_DROP_##sym] = str,
	foreach_frame_drop
#undef _
};

static inline void
drop(struct frame_info *fi, enum frame_drop why)
{
	fi->kind = FRAME_KIND_DROP;
	fi->drop = (uint8_t)why;
}

static void
arp_classify(const uint8_t *l3, uint32_t l3_len,
	     const struct frame_local *local, struct frame_info *fi)
{
	const struct rte_arp_hdr *arp = (const struct rte_arp_hdr *)l3;

	if (l3_len < sizeof(*arp)) {
		drop(fi, FRAME_DROP_RUNT);
		return;
	}
	if (arp->arp_hardware != rte_cpu_to_be_16(RTE_ARP_HRD_ETHER) ||
	    arp->arp_protocol != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4) ||
	    arp->arp_hlen != RTE_ETHER_ADDR_LEN || arp->arp_plen != 4 ||
	    arp->arp_opcode != rte_cpu_to_be_16(RTE_ARP_OP_REQUEST) ||
	    arp->arp_data.arp_tip != local->ip) {
		drop(fi, FRAME_DROP_ARP_OTHER);
		return;
	}
	fi->kind = FRAME_KIND_ARP_REQUEST;
}

void
frame_parse(const uint8_t *pkt, uint32_t len, const struct frame_local *local,
	    bool check_ip_csum, struct frame_info *fi)
{
	const struct rte_ether_hdr *eth = (const struct rte_ether_hdr *)pkt;
	uint32_t off = sizeof(*eth);
	uint16_t type;

	fi->drop = FRAME_DROP_NONE;
	fi->len_mismatch = 0;
	fi->peer.has_vlan = 0;
	fi->peer.vlan_tci = 0;

	if (len < sizeof(*eth)) {
		drop(fi, FRAME_DROP_RUNT);
		return;
	}
	type = eth->ether_type;
	if (type == rte_cpu_to_be_16(RTE_ETHER_TYPE_VLAN)) {
		const struct rte_vlan_hdr *vh;

		if (len < off + sizeof(*vh)) {
			drop(fi, FRAME_DROP_RUNT);
			return;
		}
		vh = (const struct rte_vlan_hdr *)(pkt + off);
		fi->peer.has_vlan = 1;
		fi->peer.vlan_tci = rte_be_to_cpu_16(vh->vlan_tci);
		type = vh->eth_proto;
		off += sizeof(*vh);
		if (type == rte_cpu_to_be_16(RTE_ETHER_TYPE_VLAN) ||
		    type == rte_cpu_to_be_16(RTE_ETHER_TYPE_QINQ)) {
			drop(fi, FRAME_DROP_VLAN_STACKED);
			return;
		}
	}
	rte_ether_addr_copy(&eth->src_addr, &fi->peer.mac);

	if (type == rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP)) {
		arp_classify(pkt + off, len - off, local, fi);
		return;
	}
	if (type != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4)) {
		drop(fi, FRAME_DROP_ETHERTYPE);
		return;
	}
	if (!rte_is_same_ether_addr(&eth->dst_addr, &local->mac)) {
		drop(fi, FRAME_DROP_NOT_FOR_US);
		return;
	}

	const struct rte_ipv4_hdr *ip;

	if (len < off + sizeof(*ip)) {
		drop(fi, FRAME_DROP_RUNT);
		return;
	}
	ip = (const struct rte_ipv4_hdr *)(pkt + off);
	if ((ip->version_ihl >> 4) != 4) {
		drop(fi, FRAME_DROP_IP_VERSION);
		return;
	}
	if ((ip->version_ihl & 0xf) != 5) {
		/* Options are legal IPv4 but no payment client needs them,
		 * and refusing them keeps the header a fixed 20 bytes. */
		drop(fi, FRAME_DROP_IP_OPTIONS);
		return;
	}
	uint16_t ip_total = rte_be_to_cpu_16(ip->total_length);

	if (ip_total < sizeof(*ip) + sizeof(struct rte_udp_hdr) ||
	    ip_total > len - off) {
		drop(fi, FRAME_DROP_IP_LENGTH);
		return;
	}
	if (check_ip_csum) {
		/* Summed with its checksum included, a correct header folds
		 * to 0xffff, which rte_ipv4_cksum returns as 0 or 0xffff. */
		uint16_t c = rte_ipv4_cksum(ip);

		if (c != 0 && c != 0xffff) {
			drop(fi, FRAME_DROP_IP_CHECKSUM);
			return;
		}
	}
	if ((rte_be_to_cpu_16(ip->fragment_offset) &
	     (RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK)) != 0) {
		drop(fi, FRAME_DROP_IP_FRAGMENT);
		return;
	}
	if (ip->next_proto_id != IPPROTO_UDP) {
		drop(fi, FRAME_DROP_NOT_UDP);
		return;
	}
	if (ip->dst_addr != local->ip) {
		drop(fi, FRAME_DROP_NOT_FOR_US);
		return;
	}
	off += sizeof(*ip);

	const struct rte_udp_hdr *udp = (const struct rte_udp_hdr *)(pkt + off);
	uint16_t udp_len = rte_be_to_cpu_16(udp->dgram_len);

	if (udp_len < sizeof(*udp) || udp_len > ip_total - sizeof(*ip)) {
		drop(fi, FRAME_DROP_UDP_LENGTH);
		return;
	}
	if (local->port != 0 && udp->dst_port != local->port) {
		drop(fi, FRAME_DROP_NOT_FOR_US);
		return;
	}
	fi->peer.ip = ip->src_addr;
	fi->peer.port = udp->src_port;
	off += sizeof(*udp);

	uint32_t payload = udp_len - sizeof(*udp);

	if (payload < 2) {
		drop(fi, FRAME_DROP_NO_LEN_HEADER);
		return;
	}
	uint32_t hdr_len = ((uint32_t)pkt[off] << 8) | pkt[off + 1];

	payload -= 2;
	fi->iso_off = (uint16_t)(off + 2);
	if (hdr_len != payload) {
		fi->len_mismatch = 1;
		fi->iso_len = (uint16_t)(hdr_len < payload ? hdr_len : payload);
	} else {
		fi->iso_len = (uint16_t)payload;
	}
	fi->kind = FRAME_KIND_ISO;
}

uint16_t
frame_build_udp(uint8_t *dst, uint32_t cap, const struct frame_local *src,
		const struct frame_peer *to, const uint8_t *msg,
		uint16_t msg_len)
{
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)dst;
	uint32_t l2 = sizeof(*eth) + (to->has_vlan ? sizeof(struct rte_vlan_hdr) : 0);
	uint32_t total = l2 + sizeof(struct rte_ipv4_hdr) +
			 sizeof(struct rte_udp_hdr) + 2 + msg_len;
	uint32_t padded = total < FRAME_MIN_LEN ? FRAME_MIN_LEN : total;

	if (padded > cap || msg_len > 0xffff - 64)
		return 0;

	rte_ether_addr_copy(&to->mac, &eth->dst_addr);
	rte_ether_addr_copy(&src->mac, &eth->src_addr);
	if (to->has_vlan) {
		struct rte_vlan_hdr *vh = (struct rte_vlan_hdr *)(eth + 1);

		eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_VLAN);
		vh->vlan_tci = rte_cpu_to_be_16(to->vlan_tci);
		vh->eth_proto = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	} else {
		eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	}

	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(dst + l2);
	uint16_t udp_len = (uint16_t)(sizeof(struct rte_udp_hdr) + 2 + msg_len);

	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->type_of_service = 0;
	ip->total_length = rte_cpu_to_be_16((uint16_t)(sizeof(*ip) + udp_len));
	ip->packet_id = 0;
	ip->fragment_offset = rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG);
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_UDP;
	ip->hdr_checksum = 0;
	ip->src_addr = src->ip;
	ip->dst_addr = to->ip;
	ip->hdr_checksum = rte_ipv4_cksum(ip);

	struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(ip + 1);

	udp->src_port = src->port;
	udp->dst_port = to->port;
	udp->dgram_len = rte_cpu_to_be_16(udp_len);
	udp->dgram_cksum = 0;

	uint8_t *p = (uint8_t *)(udp + 1);

	p[0] = (uint8_t)(msg_len >> 8);
	p[1] = (uint8_t)msg_len;
	memcpy(p + 2, msg, msg_len);
	if (padded > total)
		memset(dst + total, 0, padded - total);
	return (uint16_t)padded;
}

uint16_t
frame_build_arp_reply(uint8_t *dst, uint32_t cap,
		      const struct frame_local *local, const uint8_t *pkt,
		      uint32_t len)
{
	const struct rte_ether_hdr *req_eth = (const struct rte_ether_hdr *)pkt;
	uint32_t l2 = sizeof(*req_eth);
	bool vlan = req_eth->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_VLAN);

	if (vlan)
		l2 += sizeof(struct rte_vlan_hdr);
	if (len < l2 + sizeof(struct rte_arp_hdr))
		return 0;

	uint32_t total = l2 + sizeof(struct rte_arp_hdr);
	uint32_t padded = total < FRAME_MIN_LEN ? FRAME_MIN_LEN : total;
	const struct rte_arp_hdr *req = (const struct rte_arp_hdr *)(pkt + l2);
	struct rte_arp_ipv4 q = req->arp_data; /* dst may alias pkt */

	if (padded > cap)
		return 0;

	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)dst;

	if (dst != pkt)
		memcpy(dst, pkt, l2); /* keeps the VLAN tag, if any */
	rte_ether_addr_copy(&q.arp_sha, &eth->dst_addr);
	rte_ether_addr_copy(&local->mac, &eth->src_addr);

	struct rte_arp_hdr *arp = (struct rte_arp_hdr *)(dst + l2);

	arp->arp_hardware = rte_cpu_to_be_16(RTE_ARP_HRD_ETHER);
	arp->arp_protocol = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	arp->arp_hlen = RTE_ETHER_ADDR_LEN;
	arp->arp_plen = 4;
	arp->arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REPLY);
	rte_ether_addr_copy(&local->mac, &arp->arp_data.arp_sha);
	arp->arp_data.arp_sip = local->ip;
	rte_ether_addr_copy(&q.arp_sha, &arp->arp_data.arp_tha);
	arp->arp_data.arp_tip = q.arp_sip;
	if (padded > total)
		memset(dst + total, 0, padded - total);
	return (uint16_t)padded;
}

bool
frame_mac_parse(const char *s, struct rte_ether_addr *mac)
{
	unsigned int b[6];
	char tail;

	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3],
		   &b[4], &b[5], &tail) != 6)
		return false;
	for (int i = 0; i < 6; i++)
		mac->addr_bytes[i] = (uint8_t)b[i];
	return true;
}

bool
frame_ip_parse(const char *s, rte_be32_t *ip)
{
	unsigned int a, b, c, d;
	char tail;

	if (sscanf(s, "%3u.%3u.%3u.%3u%c", &a, &b, &c, &d, &tail) != 4 ||
	    a > 255 || b > 255 || c > 255 || d > 255)
		return false;
	*ip = rte_cpu_to_be_32((a << 24) | (b << 16) | (c << 8) | d);
	return true;
}
