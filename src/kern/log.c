/* log.c - stderr logging with a module prefix ("xokd: dpf: insert rejected: ...") */
#include <stdio.h>
#include <string.h>

#include "kern.h"

bool xlog_quiet; /* fuzzers: no output at all */

static void vlog(const char *mod, const char *fmt, va_list ap)
{
	char buf[512];

	if (xlog_quiet)
		return;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	fprintf(stderr, "xokd: %s: %s\n", mod, buf);
}

void xlog(const char *mod, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(mod, fmt, ap);
	va_end(ap);
}

void xdbg(const struct xokd *x, const char *mod, const char *fmt, ...)
{
	va_list ap;

	if (!x->cfg.verbose)
		return;
	va_start(ap, fmt);
	vlog(mod, fmt, ap);
	va_end(ap);
}

/* The budget slot of a module: the ones apps can make noisy, then everything else. */
static unsigned log_mod_slot(const char *mod)
{
	static const char *const mods[XOK_LOG_MODS - 1] = {"ctl", "dpf", "region", "table", "tx"};
	unsigned i;

	for (i = 0; i < XOK_LOG_MODS - 1; i++)
		if (!strcmp(mod, mods[i]))
			break;
	return i;
}

void app_log(struct app *a, const char *mod, const char *fmt, ...)
{
	uint8_t *budget = &a->log_budget[log_mod_slot(mod)];
	char buf[448];
	va_list ap;

	if (*budget == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (--*budget == 0)
		xlog(mod, "app %u (pid %d): %s (further errors of this app not logged)", a->id,
		     (int)a->pid, buf);
	else
		xlog(mod, "app %u (pid %d): %s", a->id, (int)a->pid, buf);
}
