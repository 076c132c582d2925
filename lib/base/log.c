/*
 * log.c - see log.h.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/log.h"

static int log_level = LOG_INFO;
static int log_journald = -1;

void
log_init(int level)
{
	log_level = level;
	log_journald = getenv("JOURNAL_STREAM") != NULL;
}

void
log_setlevel(int level)
{
	log_level = level;
}

int
log_getlevel(void)
{
	return log_level;
}

static void
log_vmsg(int pri, const char *suffix, const char *fmt, va_list ap)
{
	char		 msg[2048], ts[32];
	struct timespec	 now;
	struct tm	 tm;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (log_journald == -1)
		log_journald = getenv("JOURNAL_STREAM") != NULL;
	if (log_journald) {
		fprintf(stderr, "<%d>%s%s%s\n", pri, msg,
		    suffix ? ": " : "", suffix ? suffix : "");
		return;
	}
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	fprintf(stderr, "%s.%03ldZ %s%s%s\n", ts, now.tv_nsec / 1000000, msg,
	    suffix ? ": " : "", suffix ? suffix : "");
}

void
log_msg(int pri, const char *fmt, ...)
{
	va_list ap;

	if (pri > log_level)
		return;
	va_start(ap, fmt);
	log_vmsg(pri, NULL, fmt, ap);
	va_end(ap);
}

void
log_warn(const char *fmt, ...)
{
	va_list	ap;
	int	saved = errno;

	if (LOG_WARNING > log_level)
		return;
	va_start(ap, fmt);
	log_vmsg(LOG_WARNING, strerror(saved), fmt, ap);
	va_end(ap);
	errno = saved;
}
