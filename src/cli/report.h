/* SPDX-License-Identifier: MIT */
/* Printing scenario traces (report.c). */
#ifndef AVM_CLI_REPORT_H
#define AVM_CLI_REPORT_H

#include <stdbool.h>
#include <jansson.h>
#include "scenario/scenario.h"

/*
 * Print every statement's result and every recorded state to stdout;
 * returns true if every statement met its expectation.
 */
bool report_trace_text(const struct scenario *s, const struct scn_trace *t);
/* The same as one JSON object; *ok is cleared if something was not met. */
json_t *report_trace_json(const struct scenario *s, const struct scn_trace *t,
			  const char *error, bool *ok);

struct avm_stats;
/* The library's counters, a line per non-zero one / as a JSON object. */
void report_stats_text(const struct avm_stats *st);
json_t *report_stats_json(const struct avm_stats *st);

#endif
