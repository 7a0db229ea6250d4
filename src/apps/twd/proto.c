/* proto.c - validating the hand-off protocol's messages and records (include/exos/twd.h) */
#include <errno.h>
#include <string.h>
#include <xok/proto/tcp.h>

#include "twd.h"

#define SEQ_DIFF(a, b) ((int32_t)((uint32_t)(a) - (uint32_t)(b)))

static bool zero(const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

int twd_rec_check(const struct twd_rec *r)
{
	int32_t una = SEQ_DIFF(r->snd_una, r->fin_seq), nxt = SEQ_DIFF(r->snd_nxt, r->fin_seq);

	if (!r->laddr || !r->raddr || !r->lport || !r->rport || !r->ifindex || !r->filter ||
	    r->pad || (r->flags & ~TWD_F_ALL) || r->rcv_wscale > TCP_WSCALE_MAX ||
	    (!(r->flags & TWD_F_PORT) && r->port_laddr) ||
	    (r->flags & (TWD_F_PORT | TWD_F_BLOCK)) == (TWD_F_PORT | TWD_F_BLOCK))
		return -EINVAL;
	if (r->lmac[0] & 1) /* our address: never a group address */
		return -EINVAL;
	/* no data outstanding: only the FIN may be, sent (nxt 1) or not yet (nxt 0) */
	if (una < 0 || una > nxt || nxt < 0 || nxt > 1)
		return -EINVAL;
	switch (r->state) {
	case EXOS_TCP_FIN_WAIT_1:
	case EXOS_TCP_CLOSING:
	case EXOS_TCP_LAST_ACK:
		if (una != 0) /* our FIN is not acknowledged yet */
			return -EINVAL;
		break;
	case EXOS_TCP_FIN_WAIT_2:
	case EXOS_TCP_TIME_WAIT:
		if (una != 1 || !r->expire_ns)
			return -EINVAL;
		break;
	default:
		return -EINVAL;
	}
	if (r->state == EXOS_TCP_TIME_WAIT && r->since_ns > r->expire_ns)
		return -EINVAL;
	return 0;
}

int twd_msg_check(const void *buf, size_t len, struct twd_hdr *h)
{
	size_t body;

	if (len < sizeof(*h))
		return -EINVAL;
	memcpy(h, buf, sizeof(*h));
	if (h->magic != TWD_MAGIC)
		return -EPROTO;
	if (h->version != TWD_VERSION)
		return -EPROTONOSUPPORT;
	if (h->pad || h->status)
		return -EINVAL;
	body = len - sizeof(*h);
	switch (h->type) {
	case TWD_MSG_HANDOFF:
		if (!h->count || h->count > TWD_BATCH_MAX || body != h->count * sizeof(struct twd_rec))
			return -EINVAL;
		return 0;
	case TWD_MSG_TAKE: {
		struct twd_take t;
		if (h->count || body != sizeof(t))
			return -EINVAL;
		memcpy(&t, (const uint8_t *)buf + sizeof(*h), sizeof(t));
		return t.lport && zero(&t.pad, sizeof(t.pad)) ? 0 : -EINVAL;
	}
	case TWD_MSG_DONE:
		return h->count || body ? -EINVAL : 0;
	default:
		return -EINVAL; /* ACK and PORT are twd's own */
	}
}
