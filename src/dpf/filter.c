/* filter.c - DPF filters: validation and builders for Ethernet/IPv4/TCP/UDP filters */
#include "dpf_internal.h"

/* Ethernet II / IPv4 offsets (from the start of the frame) */
#define ETH_TYPE_OFF  12
#define IP_VHL_OFF    14
#define IP_PROTO_OFF  23
#define IP_SRC_OFF    26
#define IP_DST_OFF    30
#define ETH_HDR_LEN   14
#define L4_SPORT_OFF  0 /* relative to the L4 header */
#define L4_DPORT_OFF  2
#define ETHERTYPE_IP  0x0800
#define ETHERTYPE_ARP 0x0806
#define IPPROTO_TCP_  6
#define IPPROTO_UDP_  17

static uint32_t width_mask(uint8_t width)
{
	return width == 4 ? 0xffffffffu : (1u << (8 * width)) - 1;
}

int dpf_filter_validate(const struct dpf_filter *f)
{
	unsigned depth = 0;

	if (!f || f->natoms > DPF_MAX_ATOMS || f->pad)
		return -EINVAL;
	for (uint32_t i = 0; i < f->natoms; i++) {
		const struct dpf_atom *a = &f->atoms[i];

		if (a->width != 1 && a->width != 2 && a->width != 4)
			return -EINVAL;
		if (a->pad || a->offset > DPF_MAX_OFFSET || (a->mask & ~width_mask(a->width)))
			return -EINVAL;
		if (a->value & ~a->mask)
			return -EINVAL;
		switch (a->kind) {
		case DPF_ATOM_MATCH:
			if (a->shift || a->add)
				return -EINVAL;
			break;
		case DPF_ATOM_SHIFT:
			if (a->value || a->shift > 7 || a->add > DPF_MAX_OFFSET)
				return -EINVAL;
			if (++depth > DPF_MAX_DEPTH)
				return -EINVAL;
			break;
		default:
			return -EINVAL;
		}
	}
	return 0;
}

void dpf_filter_init(struct dpf_filter *f)
{
	memset(f, 0, sizeof(*f));
}

int dpf_add_match(struct dpf_filter *f, uint16_t offset, uint8_t width, uint32_t mask,
		  uint32_t value)
{
	if (f->natoms >= DPF_MAX_ATOMS)
		return -ENOSPC;
	f->atoms[f->natoms++] = (struct dpf_atom){
	    .kind = DPF_ATOM_MATCH,
	    .width = width,
	    .offset = offset,
	    .mask = mask,
	    .value = value,
	};
	return 0;
}

int dpf_add_shift(struct dpf_filter *f, uint16_t offset, uint8_t width, uint32_t mask,
		  uint8_t shift, uint16_t add)
{
	if (f->natoms >= DPF_MAX_ATOMS)
		return -ENOSPC;
	f->atoms[f->natoms++] = (struct dpf_atom){
	    .kind = DPF_ATOM_SHIFT,
	    .width = width,
	    .shift = shift,
	    .offset = offset,
	    .add = add,
	    .mask = mask,
	};
	return 0;
}

/* Number of SHIFT atoms so far (the depth of the context new atoms land in). */
static int cur_depth(const struct dpf_filter *f, const struct dpf_atom **last)
{
	int d = 0;

	*last = NULL;
	for (uint32_t i = 0; i < f->natoms; i++) {
		if (f->atoms[i].kind == DPF_ATOM_SHIFT) {
			d++;
			*last = &f->atoms[i];
		}
	}
	return d;
}

/* The helpers that address the Ethernet/IPv4 headers need the frame-start context. */
static int root_ctx(const struct dpf_filter *f)
{
	const struct dpf_atom *last;

	return cur_depth(f, &last) == 0 ? 0 : -EINVAL;
}

int dpf_match_ethertype(struct dpf_filter *f, uint16_t ethertype)
{
	int err = root_ctx(f);

	return err ? err : dpf_add_match(f, ETH_TYPE_OFF, 2, 0xffff, ethertype);
}

int dpf_match_arp(struct dpf_filter *f)
{
	return dpf_match_ethertype(f, ETHERTYPE_ARP);
}

int dpf_match_ipv4(struct dpf_filter *f)
{
	return dpf_match_ethertype(f, ETHERTYPE_IP);
}

int dpf_match_ipv4_proto(struct dpf_filter *f, uint8_t proto)
{
	int err = root_ctx(f);

	return err ? err : dpf_add_match(f, IP_PROTO_OFF, 1, 0xff, proto);
}

static int match_prefix(struct dpf_filter *f, uint16_t off, uint32_t addr, uint8_t prefix_len)
{
	uint32_t mask;
	int err = root_ctx(f);

	if (err)
		return err;
	if (prefix_len > 32)
		return -EINVAL;
	if (prefix_len == 0)
		return 0; /* matches every address */
	mask = prefix_len == 32 ? 0xffffffffu : ~(0xffffffffu >> prefix_len);
	return dpf_add_match(f, off, 4, mask, addr & mask);
}

int dpf_match_ipv4_src(struct dpf_filter *f, uint32_t addr, uint8_t prefix_len)
{
	return match_prefix(f, IP_SRC_OFF, addr, prefix_len);
}

int dpf_match_ipv4_dst(struct dpf_filter *f, uint32_t addr, uint8_t prefix_len)
{
	return match_prefix(f, IP_DST_OFF, addr, prefix_len);
}

/* Enters the L4 context (IPv4 header length indirection) unless already there. */
static int enter_l4(struct dpf_filter *f)
{
	const struct dpf_atom *last;
	int d = cur_depth(f, &last);

	if (d == 0)
		return dpf_add_shift(f, IP_VHL_OFF, 1, 0x0f, 2, ETH_HDR_LEN);
	if (d == 1 && last->offset == IP_VHL_OFF && last->width == 1 && last->mask == 0x0f &&
	    last->shift == 2 && last->add == ETH_HDR_LEN)
		return 0;
	return -EINVAL;
}

static int match_port(struct dpf_filter *f, uint16_t off, uint16_t port)
{
	uint32_t saved = f->natoms;
	int err = enter_l4(f);

	if (!err)
		err = dpf_add_match(f, off, 2, 0xffff, port);
	if (err)
		f->natoms = saved;
	return err;
}

int dpf_match_l4_dport(struct dpf_filter *f, uint16_t port)
{
	return match_port(f, L4_DPORT_OFF, port);
}

int dpf_match_l4_sport(struct dpf_filter *f, uint16_t port)
{
	return match_port(f, L4_SPORT_OFF, port);
}

static int l4_port(struct dpf_filter *f, uint8_t proto, uint32_t local_addr, uint16_t local_port)
{
	int err;

	dpf_filter_init(f);
	err = dpf_match_ipv4(f);
	if (!err)
		err = dpf_match_ipv4_proto(f, proto);
	if (!err && local_addr)
		err = dpf_match_ipv4_dst(f, local_addr, 32);
	if (!err)
		err = dpf_match_l4_dport(f, local_port);
	return err;
}

int dpf_filter_udp_port(struct dpf_filter *f, uint32_t local_addr, uint16_t local_port)
{
	return l4_port(f, IPPROTO_UDP_, local_addr, local_port);
}

int dpf_filter_tcp_port(struct dpf_filter *f, uint32_t local_addr, uint16_t local_port)
{
	return l4_port(f, IPPROTO_TCP_, local_addr, local_port);
}

int dpf_filter_tcp_4tuple(struct dpf_filter *f, uint32_t local_addr, uint16_t local_port,
			  uint32_t remote_addr, uint16_t remote_port)
{
	int err;

	dpf_filter_init(f);
	err = dpf_match_ipv4(f);
	if (!err)
		err = dpf_match_ipv4_proto(f, IPPROTO_TCP_);
	if (!err)
		err = dpf_match_ipv4_src(f, remote_addr, 32);
	if (!err && local_addr)
		err = dpf_match_ipv4_dst(f, local_addr, 32);
	if (!err)
		err = dpf_match_l4_dport(f, local_port);
	if (!err)
		err = dpf_match_l4_sport(f, remote_port);
	return err;
}

int dpf_filter_all_ipv4(struct dpf_filter *f)
{
	dpf_filter_init(f);
	return dpf_match_ipv4(f);
}

int dpf_filter_everything(struct dpf_filter *f)
{
	dpf_filter_init(f);
	return 0;
}
