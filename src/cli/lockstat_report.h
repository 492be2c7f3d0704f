/* SPDX-License-Identifier: MIT */
/* --lockstat of run, compare and demo: the lock statistics table. */
#ifndef AVM_CLI_LOCKSTAT_REPORT_H
#define AVM_CLI_LOCKSTAT_REPORT_H

#include <stdio.h>
#include <jansson.h>

/* Start collecting (clears the counts): 0, or -1 after printing why not. */
int lockstat_report_start(const char *cmd);
/* The statistics since the start, as a table on f / a JSON array. */
void lockstat_report_text(FILE *f);
json_t *lockstat_report_json(void);

#endif
