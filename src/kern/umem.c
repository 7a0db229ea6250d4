/* umem.c - an AF_XDP socket's UMEM: the frame area, transmit frame allocation */

/*
 * Each socket has its own UMEM of XOK_UMEM_FRAMES frames of XOK_UMEM_FRAME_SIZE bytes.
 * Frames [0, XOK_UMEM_RX_FRAMES) circulate between the fill ring, the rx ring and xokd;
 * the rest are transmit frames on a free stack.  A received frame's data starts
 * XOK_UMEM_HEADROOM bytes into its chunk; its first bytes are the generated DPF program's
 * struct dpf_xdp_meta prefix (rx.c strips it).
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "kern.h"

int umem_create(struct xport *p)
{
	uint32_t i;

	p->area_size = (size_t)XOK_UMEM_FRAMES * XOK_UMEM_FRAME_SIZE;
	if (p->fake) {
		p->area = calloc(1, p->area_size);
		if (!p->area)
			return -ENOMEM;
	} else {
		p->area = mmap(NULL, p->area_size, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
		if (p->area == MAP_FAILED) {
			p->area = NULL;
			return -errno;
		}
	}
	p->tx_free = calloc(XOK_UMEM_FRAMES - XOK_UMEM_RX_FRAMES, sizeof(*p->tx_free));
	p->pend = calloc(XOK_UMEM_FRAMES, sizeof(*p->pend));
	if (!p->tx_free || !p->pend)
		return -ENOMEM;
	for (i = XOK_UMEM_FRAMES; i > XOK_UMEM_RX_FRAMES; i--)
		p->tx_free[p->ntx_free++] = (uint64_t)(i - 1) * XOK_UMEM_FRAME_SIZE;
	return 0;
}

void umem_destroy(struct xport *p)
{
	if (p->area) {
		if (p->fake)
			free(p->area);
		else
			munmap(p->area, p->area_size);
	}
	p->area = NULL;
	free(p->tx_free);
	free(p->pend);
	p->tx_free = NULL;
	p->pend = NULL;
}

uint8_t *umem_frame(struct xport *p, uint64_t addr)
{
	return p->area + addr;
}

int umem_tx_alloc(struct xport *p, uint64_t *addr)
{
	if (p->ntx_free == 0)
		return -EAGAIN;
	*addr = p->tx_free[--p->ntx_free];
	return 0;
}

void umem_tx_release(struct xport *p, uint64_t addr)
{
	addr &= ~(uint64_t)(XOK_UMEM_FRAME_SIZE - 1);
	if (addr < (uint64_t)XOK_UMEM_RX_FRAMES * XOK_UMEM_FRAME_SIZE || addr >= p->area_size ||
	    p->ntx_free >= XOK_UMEM_FRAMES - XOK_UMEM_RX_FRAMES) {
		xlog("umem", "bogus completion address %#llx", (unsigned long long)addr);
		return;
	}
	p->tx_free[p->ntx_free++] = addr;
}
