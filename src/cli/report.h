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

#endif
