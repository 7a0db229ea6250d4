/* app.c - per-application state, limits, and reclaim when the connection closes */

/*
 * An app is a control connection.  Everything it creates hangs off its struct app, and
 * app_free() takes it all back in dependency order when the connection closes -- exit,
 * crash or kill -9 look the same to xokd: users of regions first (predicate, TXQ, pending
 * notifications, filters, rings), then the regions, then the DPF program is regenerated.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "kern.h"

static void app_comm(struct app *a)
{
	char path[64];
	ssize_t n;
	int fd;

	snprintf(a->comm, sizeof(a->comm), "?");
	if (a->pid <= 0)
		return;
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)a->pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = read(fd, a->comm, sizeof(a->comm) - 1);
	close(fd);
	if (n <= 0)
		n = 0;
	a->comm[n] = 0;
	a->comm[strcspn(a->comm, "\n")] = 0;
}

bool app_in_group(const struct xokd *x, int fd, uid_t uid, gid_t gid)
{
	gid_t groups[256];
	socklen_t len = sizeof(groups);
	size_t i;

	if (uid == 0)
		return true;
	if (!x->cfg.have_group)
		return false;
	if (gid == x->cfg.group)
		return true;
	if (fd < 0 || getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) < 0)
		return false;
	for (i = 0; i < len / sizeof(gid_t); i++)
		if (groups[i] == x->cfg.group)
			return true;
	return false;
}

struct app *app_new(struct xokd *x, int fd, pid_t pid, uid_t uid, gid_t gid)
{
	struct app *a = calloc(1, sizeof(*a));
	uint32_t i;

	if (!a)
		return NULL;
	a->id = x->next_app_id++;
	a->fd = fd;
	a->pid = pid;
	a->uid = uid;
	a->gid = gid;
	a->privileged = app_in_group(x, fd, uid, gid);
	memset(a->log_budget, XOK_APP_LOG_BUDGET, sizeof(a->log_budget));
	a->ev.kind = EV_CLIENT;
	a->ev.obj = a;
	list_init(&a->touched_link);
	list_init(&a->txwork_link);
	list_init(&a->paused_link);
	list_init(&a->rings);
	list_init(&a->frefs);
	list_init(&a->claims_wild);
	for (i = 0; i < XOK_CLAIM_HASH; i++)
		list_init(&a->claims[i]);
	app_comm(a);
	a->tx_weight = tx_weight_for(x, a);
	list_add_tail(&a->link, &x->apps);
	x->napps++;
	return a;
}

struct app *app_by_id(struct xokd *x, uint32_t id)
{
	struct app *a;

	list_for_each_entry(a, &x->apps, link) if (a->id == id) return a;
	return NULL;
}

void app_free(struct xokd *x, struct app *a)
{
	if (a->dead)
		return;
	xdbg(x, "app", "app %u (pid %d, %s) gone: reclaiming %u filters, %u rings, %u regions",
	     a->id, (int)a->pid, a->comm, a->nfilters, a->nrings, a->nregions);
	if (a->fd >= 0) {
		loop_del(x, a->fd);
		close(a->fd);
		a->fd = -1;
	}
	wk_reclaim(x, a);
	tx_reclaim(x, a);
	filter_reclaim(x, a);
	ring_reclaim(x, a);
	region_reclaim(a);
	if (list_linked(&a->touched_link))
		list_del(&a->touched_link);
	if (list_linked(&a->txwork_link))
		list_del(&a->txwork_link);
	if (list_linked(&a->paused_link))
		list_del(&a->paused_link);
	list_del(&a->link);
	x->napps--;
	a->dead = true;
	list_add_tail(&a->link, &x->zombies);
	filter_sync(x);
}

void app_reap(struct xokd *x)
{
	struct app *a, *n;

	list_for_each_entry_safe(a, n, &x->zombies, link)
	{
		list_del(&a->link);
		free(a);
	}
}

int app_limit_hit(struct app *a, enum app_limit l, int err, const char *fmt, ...)
{
	char buf[256];
	va_list ap;

	a->limit_hits++;
	if (a->limit_logged & (1u << l))
		return err;
	a->limit_logged |= 1u << l;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	xlog("limit", "app %u (pid %d, %s): %s (-%s; logged once per app)", a->id, (int)a->pid,
	     a->comm, buf, err == -EDQUOT ? "EDQUOT" : err == -EAGAIN ? "EAGAIN" : "E");
	return err;
}

int op_hello(struct xokd *x, struct app *a, const void *req, int *fd, void *rep, int *rep_fd)
{
	struct xok_hello_reply *out = rep;
	const struct xokd_limits *l = &x->cfg.limits;

	(void)req;
	(void)fd;
	(void)rep_fd;
	out->app_id = a->id;
	out->abi_version = XOK_ABI_VERSION;
	out->max_regions = l->regions;
	out->max_rings = l->rings;
	out->max_filters = l->filters;
	out->max_txq_frames = l->txq;
	out->max_region_bytes = l->bytes;
	out->max_ctl_rps = l->rps;
	out->tx_weight = a->tx_weight;
	out->flags = x->cfg.unchecked_tx ? 0 : XOK_INFO_CHECKED_TX;
	return 0;
}
