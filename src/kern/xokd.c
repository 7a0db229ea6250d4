/* xokd.c - the daemon's state: initialisation and orderly teardown */
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "kern.h"

int xokd_init(struct xokd *x, const struct xokd_cfg *cfg)
{
	uint32_t t;
	int err;

	memset(x, 0, sizeof(*x));
	x->cfg = *cfg;
	x->epfd = x->listen_fd = x->timer_fd = x->signal_fd = -1;
	x->next_app_id = x->next_ring_id = x->next_filter_id = 1;
	list_init(&x->apps);
	list_init(&x->zombies);
	list_init(&x->touched);
	list_init(&x->txwork);
	list_init(&x->paused);
	for (t = 0; t < XOK_TABLE_NR; t++)
		x->tables[t].ro_fd = x->tables[t].rw_fd = -1;
	xokd_limits_default(&x->cfg.limits);
	if (!x->cfg.tx_quantum)
		x->cfg.tx_quantum = XOK_TX_QUANTUM;
	x->imp_rng = x->cfg.impair.seed ? x->cfg.impair.seed : 1;
	err = filter_init(x);
	if (!err)
		err = table_init(x);
	return err;
}

void xokd_limits_default(struct xokd_limits *l)
{
	if (!l->regions || l->regions > XOK_APP_REGIONS_MAX)
		l->regions = XOK_APP_REGIONS_MAX; /* region ids are slots 1..XOK_APP_REGIONS_MAX */
	if (!l->rings)
		l->rings = XOK_APP_RINGS_MAX;
	if (!l->filters)
		l->filters = XOK_APP_FILTERS_MAX;
	if (!l->txq)
		l->txq = XOK_APP_TX_INFLIGHT_MAX;
	if (!l->bytes)
		l->bytes = XOK_APP_REGION_BYTES_MAX;
}

void xokd_fini(struct xokd *x)
{
	struct app *a;
	uint32_t i;

	x->no_bpf = true; /* the programs are about to go: no recompiles while apps are freed */
	/* apps asleep on xokd learn at once that it is going: their socket hangs up, then
	 * their futex is kicked (they check the socket after an empty wakeup) */
	list_for_each_entry(a, &x->apps, link) if (a->fd >= 0) shutdown(a->fd, SHUT_RDWR);
	wk_shutdown(x);
	while (!list_empty(&x->apps))
		app_free(x, list_entry(x->apps.next, struct app, link));
	app_reap(x);
	ctl_close(x);
	impair_fini(x);
	for (i = 0; i < x->niface; i++)
		iface_close(x, &x->ifaces[i]);
	x->niface = 0;
	table_fini(x);
	filter_fini(x);
	if (x->timer_fd >= 0)
		close(x->timer_fd);
	if (x->signal_fd >= 0)
		close(x->signal_fd);
	if (x->epfd >= 0)
		close(x->epfd);
	x->epfd = x->timer_fd = x->signal_fd = -1;
}
