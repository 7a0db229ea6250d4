/* sbuf.c - bounded string building: formatters never overrun their buffer */
#include <stdarg.h>
#include <stdio.h>
#include "xokdump.h"

void sb_init(struct sbuf *sb, char *buf, size_t size)
{
	sb->buf = buf;
	sb->size = size;
	sb->len = 0;
	sb->full = false;
	buf[0] = '\0';
}

void sb_printf(struct sbuf *sb, const char *fmt, ...)
{
	size_t room = sb->size - sb->len;
	va_list ap;
	int n;

	if (sb->full)
		return;
	va_start(ap, fmt);
	n = vsnprintf(sb->buf + sb->len, room, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= room) {
		/* Keep what fit; vsnprintf has NUL-terminated it. */
		sb->len = sb->size - 1;
		sb->buf[sb->len] = '\0';
		sb->full = true;
		return;
	}
	sb->len += (size_t)n;
}

void sb_putc(struct sbuf *sb, char c)
{
	sb_printf(sb, "%c", c);
}
