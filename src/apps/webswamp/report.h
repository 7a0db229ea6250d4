/* report.h - results in wrk's text shape, or as JSON */
#ifndef SWAMP_REPORT_H
#define SWAMP_REPORT_H

#include <stdbool.h>
#include <stdio.h>

#include "core.h"

struct swamp_report {
	const char *prog;
	const char *driver;
	const struct swamp_opts *o;
	const struct swamp_stats *st;
};

void swamp_report_text(FILE *f, const struct swamp_report *r);
void swamp_report_json(FILE *f, const struct swamp_report *r);

#endif /* SWAMP_REPORT_H */
