/* iface.c - owned interfaces: discovery, the entry program (load, attach, detach), INFO */

/*
 * Per interface: one instance of bpf/xok_entry.bpf.c (its own XSKMAP, PROG_ARRAY and
 * stats), one AF_XDP socket per rx queue, and a bpf_link attaching the entry program.  The
 * link, not a netlink attachment, so that the kernel detaches the program if xokd dies
 * however it dies; a clean exit closes it explicitly.  An interface that already has an
 * XDP program is refused unless --force, which detaches the old one first.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/if_link.h>
#include <linux/if_ether.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "kern.h"
#include "xok_shared.h"
#include "xok_entry.skel.h"

_Static_assert(XOK_DPF_PROG_SLOT == DPF_PROG_SLOT, "entry program and libdpf agree");
_Static_assert(XOK_VERDICT_DROP == XDP_DROP && XOK_VERDICT_PASS == XDP_PASS, "verdicts");

static int iface_hw(struct iface *ifc)
{
	struct ifreq ifr = {0};
	int s, err = 0;

	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifc->name);
	if (ioctl(s, SIOCGIFHWADDR, &ifr) < 0) {
		err = -errno;
		goto out;
	}
	memcpy(ifc->mac, ifr.ifr_hwaddr.sa_data, 6);
	if (ioctl(s, SIOCGIFMTU, &ifr) < 0) {
		err = -errno;
		goto out;
	}
	ifc->mtu = (uint32_t)ifr.ifr_mtu;
out:
	close(s);
	return err;
}

static uint32_t iface_rx_queues(const char *name)
{
	char path[128];
	struct dirent *d;
	uint32_t n = 0;
	DIR *dir;

	snprintf(path, sizeof(path), "/sys/class/net/%s/queues", name);
	dir = opendir(path);
	if (!dir)
		return 1;
	while ((d = readdir(dir)))
		if (!strncmp(d->d_name, "rx-", 3))
			n++;
	closedir(dir);
	if (n == 0)
		n = 1;
	return n > XOK_QUEUES_MAX ? XOK_QUEUES_MAX : n;
}

/* Refuses (or with --force removes) an XDP program someone else attached. */
static int iface_check_xdp(struct xokd *x, struct iface *ifc)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	int err;

	err = bpf_xdp_query((int)ifc->ifindex, 0, &q);
	if (err) {
		xlog("iface", "%s: cannot query XDP state: %s", ifc->name, strerror(-err));
		return err;
	}
	if (q.attach_mode == XDP_ATTACHED_NONE)
		return 0;
	if (!x->cfg.force) {
		xlog("iface",
		     "%s: another XDP program (id %u) is attached; refusing to replace it "
		     "(use --force)",
		     ifc->name,
		     q.prog_id	     ? q.prog_id
		     : q.drv_prog_id ? q.drv_prog_id
				     : q.skb_prog_id);
		return -EBUSY;
	}
	if (q.drv_prog_id)
		err = bpf_xdp_detach((int)ifc->ifindex, XDP_FLAGS_DRV_MODE, NULL);
	if (!err && q.skb_prog_id)
		err = bpf_xdp_detach((int)ifc->ifindex, XDP_FLAGS_SKB_MODE, NULL);
	if (!err && q.hw_prog_id)
		err = bpf_xdp_detach((int)ifc->ifindex, XDP_FLAGS_HW_MODE, NULL);
	if (err) {
		xlog("iface",
		     "%s: --force: cannot detach the attached XDP program: %s (is it "
		     "held by a bpf_link, e.g. another xokd?)",
		     ifc->name, strerror(-err));
		return err;
	}
	xlog("iface", "%s: --force: detached the previous XDP program", ifc->name);
	return 0;
}

int iface_open(struct xokd *x, struct iface *ifc, const struct xokd_iface_cfg *cfg)
{
	LIBBPF_OPTS(bpf_link_create_opts, lo);
	uint32_t q, nq;
	int err;

	memset(ifc, 0, sizeof(*ifc));
	ifc->link_fd = -1;
	ifc->gso_fd = -1;
	snprintf(ifc->name, sizeof(ifc->name), "%s", cfg->name);
	ifc->addr = cfg->addr;
	ifc->prefix_len = cfg->prefix_len;
	ifc->ifindex = if_nametoindex(cfg->name);
	if (ifc->ifindex == 0) {
		xlog("iface", "%s: no such interface", cfg->name);
		return -ENODEV;
	}
	err = iface_hw(ifc);
	if (err) {
		xlog("iface", "%s: cannot read MAC/MTU: %s", ifc->name, strerror(-err));
		return err;
	}
	err = iface_check_xdp(x, ifc);
	if (err)
		return err;

	ifc->skel = xok_entry__open();
	if (!ifc->skel) {
		err = -errno;
		xlog("iface", "%s: cannot open the entry program: %s", ifc->name, strerror(-err));
		return err;
	}
	ifc->skel->rodata->unmatched_verdict =
	    x->cfg.unmatched == DPF_UNMATCHED_DROP ? XOK_VERDICT_DROP : XOK_VERDICT_PASS;
	err = xok_entry__load(ifc->skel);
	if (err) {
		xlog("iface", "%s: cannot load the entry program: %s", ifc->name, strerror(-err));
		goto fail;
	}

	nq = iface_rx_queues(ifc->name);
	for (q = 0; q < nq; q++) {
		err = xport_open(x, ifc, q, &ifc->ports[q]);
		if (err)
			goto fail;
		ifc->nports++;
	}

	lo.flags = x->cfg.xdp_mode == XOKD_XDP_SKB ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE;
	ifc->link_fd = bpf_link_create(bpf_program__fd(ifc->skel->progs.xok_entry),
				       (int)ifc->ifindex, BPF_XDP, &lo);
	if (ifc->link_fd < 0) {
		err = ifc->link_fd;
		ifc->link_fd = -1;
		xlog("iface", "%s: cannot attach the XDP program in %s mode: %s", ifc->name,
		     x->cfg.xdp_mode == XOKD_XDP_SKB ? "skb" : "native", strerror(-err));
		goto fail;
	}
	err = gso_open(ifc);
	if (err)
		xlog("iface", "%s: no TCP segmentation offload (packet socket: %s)", ifc->name,
		     strerror(-err));
	xlog("iface",
	     "%s: ifindex %u, mtu %u, %02x:%02x:%02x:%02x:%02x:%02x, %u queue%s, XDP "
	     "attached%s",
	     ifc->name, ifc->ifindex, ifc->mtu, ifc->mac[0], ifc->mac[1], ifc->mac[2], ifc->mac[3],
	     ifc->mac[4], ifc->mac[5], nq, nq == 1 ? "" : "s",
	     gso_avail(x, ifc) ? ", TCP segmentation offload" : "");
	return 0;
fail:
	iface_close(x, ifc);
	return err;
}

void iface_close(struct xokd *x, struct iface *ifc)
{
	uint32_t q;

	if (ifc->link_fd >= 0) {
		close(ifc->link_fd); /* detaches the entry program */
		ifc->link_fd = -1;
		xlog("iface", "%s: XDP detached", ifc->name);
	}
	gso_close(ifc);
	for (q = 0; q < ifc->nports; q++)
		xport_close(x, ifc->ports[q]);
	ifc->nports = 0;
	if (ifc->skel)
		xok_entry__destroy(ifc->skel);
	ifc->skel = NULL;
}

int iface_fake(struct xokd *x, const char *name, uint32_t ifindex, uint32_t mtu)
{
	struct iface *ifc;
	int err;

	if (x->niface == XOK_IFACES_MAX)
		return -ENOSPC;
	ifc = &x->ifaces[x->niface];
	memset(ifc, 0, sizeof(*ifc));
	ifc->link_fd = -1;
	ifc->gso_fd = -1;
	snprintf(ifc->name, sizeof(ifc->name), "%s", name);
	ifc->ifindex = ifindex;
	ifc->mtu = mtu;
	ifc->mac[0] = 0x02;
	ifc->mac[5] = (uint8_t)ifindex;
	err = xport_fake(ifc, 0, &ifc->ports[0]);
	if (err)
		return err;
	ifc->nports = 1;
	x->niface++;
	return 0;
}

struct iface *iface_by_index(struct xokd *x, uint32_t ifindex)
{
	uint32_t i;

	for (i = 0; i < x->niface; i++)
		if (x->ifaces[i].ifindex == ifindex)
			return &x->ifaces[i];
	return NULL;
}

int iface_xskmap_fd(const struct iface *ifc)
{
	return ifc->skel ? bpf_map__fd(ifc->skel->maps.xsk_map) : -1;
}

int iface_install(struct xokd *x, struct iface *ifc, int prog_fd)
{
	uint32_t slot = XOK_DPF_PROG_SLOT;
	int err;

	(void)x;
	if (!ifc->skel)
		return 0;
	if (prog_fd >= 0)
		return dpf_prog_install(bpf_map__fd(ifc->skel->maps.dpf_progs), prog_fd);
	err = bpf_map_delete_elem(bpf_map__fd(ifc->skel->maps.dpf_progs), &slot);
	return err == -ENOENT ? 0 : err;
}

void iface_entry_stats(const struct iface *ifc, uint64_t out[])
{
	int ncpu = libbpf_num_possible_cpus();
	uint32_t k;
	int c;

	for (k = 0; k < XOK_ESTAT_NR; k++) {
		out[k] = 0;
		if (!ifc->skel || ncpu <= 0)
			continue;
		uint64_t v[ncpu];

		if (bpf_map_lookup_elem(bpf_map__fd(ifc->skel->maps.entry_stats), &k, v))
			continue;
		for (c = 0; c < ncpu; c++)
			out[k] += v[c];
	}
}

uint32_t iface_frame_max(const struct iface *ifc)
{
	uint32_t m = ifc->mtu + ETH_HLEN;

	return m > XOK_UMEM_FRAME_SIZE ? XOK_UMEM_FRAME_SIZE : m;
}

int op_info(struct xokd *x, struct app *a, const void *req, int *fd, void *rep, int *rep_fd)
{
	struct xok_info_reply *out = rep;
	uint32_t i;

	(void)a;
	(void)req;
	(void)fd;
	(void)rep_fd;
	out->niface = x->niface;
	out->flags = x->cfg.unchecked_tx ? 0 : XOK_INFO_CHECKED_TX;
	for (i = 0; i < x->niface; i++) {
		const struct iface *ifc = &x->ifaces[i];
		struct xok_iface_info *ii = &out->ifaces[i];

		ii->ifindex = ifc->ifindex;
		ii->mtu = ifc->mtu;
		memcpy(ii->name, ifc->name, sizeof(ii->name));
		memcpy(ii->mac, ifc->mac, 6);
		ii->prefix_len = ifc->prefix_len;
		ii->addr = ifc->addr;
		ii->gateway = x->cfg.gateway;
		if (gso_avail(x, ifc)) {
			ii->flags = XOK_IFF_TCP_GSO;
			ii->gso_max = XOK_TX_GSO_FRAME_MAX;
		}
	}
	return 0;
}
