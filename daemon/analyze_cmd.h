/*
 * analyze_cmd.h - remedyd analyze: the pipeline run once over a snapshot of
 * the cluster, and a report (analyze_cmd.c).
 */
#ifndef REMEDY_DAEMON_ANALYZE_CMD_H
#define REMEDY_DAEMON_ANALYZE_CMD_H

/* argv holds "analyze" among its arguments; the exit status: 0 nothing
 * broken, 1 something is, 2 an error. */
int	analyze_main(int argc, char *argv[]);

#endif
