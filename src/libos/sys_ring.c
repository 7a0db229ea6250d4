/* sys_ring.c - packet rings (receive) and the shared-memory transmit queue */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "sys_internal.h"

/* ---- receive rings ---- */

EXOS_API int exos_ring_create(struct exos_sys *sys, uint32_t entry_size, uint32_t nentries,
			      struct exos_ring **out)
{
	struct xok_ring_set req = {0};
	struct xok_ring_set_reply rep;
	struct exos_region *reg;
	struct exos_ring *ring;
	uint32_t slot;
	int err;

	*out = NULL;
	if (entry_size < XOK_RING_ENTRY_MIN || entry_size > XOK_RING_ENTRY_MAX ||
	    (entry_size & 7) || nentries == 0 || nentries > XOK_RING_ENTRIES_MAX)
		return sys_err(-EINVAL);
	for (slot = 0; slot < SYS_RINGS_MAX; slot++)
		if (!sys->rings[slot])
			break;
	if (slot == SYS_RINGS_MAX)
		return sys_err(-EDQUOT);
	ring = calloc(1, sizeof(*ring));
	if (!ring)
		return sys_err(-ENOMEM);
	err =
	    sys_region_new(sys, sizeof(struct xok_ring_hdr) + (size_t)entry_size * nentries, &reg);
	if (err) {
		free(ring);
		return sys_err(err);
	}
	req.at.region = reg->id;
	req.entry_size = entry_size;
	req.nentries = nentries;
	err = sys_call(sys, XOK_OP_RING_SET, &req, sizeof(req), -1, &rep, sizeof(rep), NULL);
	if (err) {
		exos_region_destroy(sys, reg);
		free(ring);
		return sys_err(err);
	}
	ring->id = rep.ring;
	ring->entry_size = entry_size;
	ring->nentries = nentries;
	ring->next = 0;
	ring->hdr = reg->base;
	ring->entries = (uint8_t *)reg->base + sizeof(struct xok_ring_hdr);
	ring->region = reg;
	sys->rings[slot] = ring;
	sys->pred_dirty = true;
	*out = ring;
	return 0;
}

EXOS_API int exos_ring_destroy(struct exos_sys *sys, struct exos_ring *ring)
{
	struct xok_ring_del req = {.ring = ring->id};
	uint32_t i;
	int err;

	for (i = 0; i < SYS_RINGS_MAX; i++)
		if (sys->rings[i] == ring)
			break;
	if (i == SYS_RINGS_MAX)
		return sys_err(-ENOENT);
	err = sys_call(sys, XOK_OP_RING_DEL, &req, sizeof(req), -1, NULL, 0, NULL);
	if (err)
		return sys_err(err);
	sys->rings[i] = NULL;
	sys->pred_dirty = true;
	/* the predicate still names the region until it is reinstalled */
	if (sys->pred_installed)
		sys_pred_install(sys);
	err = exos_region_destroy(sys, ring->region);
	free(ring);
	return err;
}

EXOS_API struct xok_ring_entry *exos_ring_peek(struct exos_ring *ring)
{
	struct xok_ring_entry *e =
	    (struct xok_ring_entry *)(ring->entries + (size_t)ring->next * ring->entry_size);

	return xok_load_acquire(&e->owner) ? e : NULL;
}

EXOS_API void exos_ring_release(struct exos_ring *ring)
{
	struct xok_ring_entry *e =
	    (struct xok_ring_entry *)(ring->entries + (size_t)ring->next * ring->entry_size);

	xok_store_release(&e->owner, 0);
	if (++ring->next == ring->nentries)
		ring->next = 0;
	xok_store_release(&ring->hdr->consumed, ring->hdr->consumed + 1);
}

void sys_rings_free(struct exos_sys *sys)
{
	uint32_t i;

	for (i = 0; i < SYS_RINGS_MAX; i++) {
		free(sys->rings[i]); /* their regions are freed with the others */
		sys->rings[i] = NULL;
	}
}

/* ---- the transmit queue ---- */

int sys_txq_setup(struct exos_sys *sys)
{
	size_t size = SYS_TXQ_OFFSET + sizeof(struct xok_txq_hdr) +
		      (size_t)SYS_TXQ_ENTRIES * sizeof(struct xok_tx_desc);
	struct xok_txq_set req = {0};
	int err;

	err = sys_region_new(sys, size, &sys->ctl);
	if (err)
		return err;
	sys->wake = sys->ctl->base;
	sys->txq = (struct xok_txq_hdr *)((uint8_t *)sys->ctl->base + SYS_TXQ_OFFSET);
	sys->txd = (struct xok_tx_desc *)(sys->txq + 1);
	sys->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (sys->efd < 0)
		return -errno;
	req.at.region = sys->ctl->id;
	req.at.offset = SYS_TXQ_OFFSET;
	req.nentries = SYS_TXQ_ENTRIES;
	return sys_call(sys, XOK_OP_TXQ_SET, &req, sizeof(req), sys->efd, NULL, 0, NULL);
}

static int sys_xmit(struct exos_sys *sys, uint32_t ifindex, const struct exos_iov *iov, int n,
		    uint32_t *notify, uint16_t gso_size)
{
	struct xok_tx_desc *d;
	struct xok_ref ref;
	int i, err;

	if (n <= 0 || n > XOK_XMIT_PIECES)
		return sys_err(-EINVAL);
	if (sys->txq_prod - xok_load_acquire(&sys->txq->cons) >= SYS_TXQ_ENTRIES)
		return sys_err(-EAGAIN);
	d = &sys->txd[sys->txq_prod & (SYS_TXQ_ENTRIES - 1)];
	memset(d, 0, sizeof(*d));
	d->ifindex = ifindex;
	d->npieces = (uint16_t)n;
	if (gso_size) {
		d->flags = XOK_TX_TCP_GSO;
		d->gso_size = gso_size;
	}
	for (i = 0; i < n; i++) {
		err = exos_region_ref(sys, iov[i].base, iov[i].len, &ref);
		if (err || (ref.region & XOK_REGION_TABLE(0)))
			return sys_err(-EFAULT);
		d->pieces[i].region = ref.region;
		d->pieces[i].len = iov[i].len;
		d->pieces[i].offset = ref.offset;
	}
	if (notify) {
		err = exos_region_ref(sys, notify, sizeof(*notify), &ref);
		if (err || (ref.region & XOK_REGION_TABLE(0)) || (ref.offset & 3))
			return sys_err(-EFAULT);
		d->notify = ref;
	}
	xok_store_release(&sys->txq->prod, ++sys->txq_prod);
	return 0;
}

EXOS_API int exos_xmit(struct exos_sys *sys, uint32_t ifindex, const struct exos_iov *iov, int n,
		       uint32_t *notify)
{
	return sys_xmit(sys, ifindex, iov, n, notify, 0);
}

EXOS_API int exos_xmit_gso(struct exos_sys *sys, uint32_t ifindex, const struct exos_iov *iov,
			   int n, uint32_t *notify, uint16_t gso_size)
{
	if (!gso_size)
		return sys_err(-EINVAL);
	return sys_xmit(sys, ifindex, iov, n, notify, gso_size);
}

EXOS_API int exos_xmit_flush(struct exos_sys *sys)
{
	uint64_t one = 1;

	/* pairs with xokd's fence between setting NEED_WAKEUP and re-reading prod */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!(__atomic_load_n(&sys->txq->flags, __ATOMIC_RELAXED) & XOK_TXQ_NEED_WAKEUP))
		return 0;
	if (sys->txq_prod == xok_load_acquire(&sys->txq->cons))
		return 0;
	if (write(sys->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		return sys_err(-errno);
	return 0;
}

EXOS_API uint32_t exos_xmit_pending(const struct exos_sys *sys)
{
	return sys->txq_prod - xok_load_acquire(&sys->txq->cons);
}
