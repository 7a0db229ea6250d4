/* xokd.c - the daemon's state: initialisation and orderly teardown */
#include <string.h>
#include <unistd.h>

#include "kern.h"

int xokd_init(struct xokd *x, const struct xokd_cfg *cfg)
{
	uint32_t t;

	memset(x, 0, sizeof(*x));
	x->cfg = *cfg;
	x->epfd = x->listen_fd = x->timer_fd = x->signal_fd = -1;
	x->next_app_id = x->next_ring_id = x->next_filter_id = 1;
	list_init(&x->apps);
	list_init(&x->zombies);
	list_init(&x->touched);
	list_init(&x->txwork);
	for (t = 0; t < XOK_TABLE_NR; t++)
		x->tables[t].ro_fd = -1;
	return filter_init(x);
}

void xokd_fini(struct xokd *x)
{
	uint32_t i;

	x->no_bpf = true; /* the programs are about to go: no recompiles while apps are freed */
	while (!list_empty(&x->apps))
		app_free(x, list_entry(x->apps.next, struct app, link));
	app_reap(x);
	ctl_close(x);
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
