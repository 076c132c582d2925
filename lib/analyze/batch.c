/*
 * batch.c - Jobs that failed (BackoffLimitExceeded, DeadlineExceeded) and
 * CronJobs with an invalid schedule or suspended while runs are missed.  A
 * failed Job owned by a CronJob is attributed to the CronJob (the engine's
 * root owner), which is how "the CronJob's last job failed" is reported.
 *
 * cron_matches() understands the five standard fields with *, lists,
 * ranges, steps, month and weekday names, and the @hourly ... @yearly
 * macros, as the CronJob controller (robfig/cron) does; a CRON_TZ= or TZ=
 * prefix is accepted and evaluated as UTC.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "analyze/analyze.h"
#include "base/util.h"

#define S(x)		((x) ? (x) : "")
#define MISSED_SCAN_MIN	(7 * 24 * 60)	/* look back at most a week */

/*
 * A Job still running whose pods keep failing the same way: at least two
 * failed pods ended with the same non-zero exit code, and the Job has
 * neither failed nor completed (its controller is still retrying, up to
 * spec.backoffLimit, default 6).  Reported before the controller gives up,
 * as JobPodsFailing; once it gives up, BackoffLimitExceeded.
 */
#define JOB_SAME_FAILURES	2

static int
job_retrying(const struct analyze_ctx *ctx, const struct kobj *o,
    struct finding *f)
{
	json_t	*c;
	char	 cont[128];
	int	 failed, code = 0, same = 0;

	if ((c = kcond(json_at(o->f, "status.conditions"), "Complete")) !=
	    NULL && strcmp(S(json_string_value(json_object_get(c, "status"))),
	    "True") == 0)
		return 0;
	if (ctx == NULL || ctx->failed_pods == NULL || o->m.uid == NULL ||
	    json_int_at(o->f, "status.failed", 0) < JOB_SAME_FAILURES)
		return 0;
	cont[0] = '\0';
	failed = ctx->failed_pods(ctx->arg, o->m.ns, o->m.uid, &code, &same,
	    cont, sizeof(cont));
	if (failed < JOB_SAME_FAILURES || same < JOB_SAME_FAILURES)
		return 0;
	snprintf(f->reason, sizeof(f->reason), "JobPodsFailing");
	snprintf(f->container, sizeof(f->container), "%s", cont);
	snprintf(f->detail, sizeof(f->detail), "Job %s/%s: %d pods failed with "
	    "exit code %d (container %s), %lld failed so far of backoffLimit "
	    "%lld; still retrying", o->m.ns, o->m.name, same, code,
	    cont[0] ? cont : "?", (long long)json_int_at(o->f,
	    "status.failed", 0), (long long)json_int_at(o->f,
	    "spec.backoffLimit", 6));
	return 1;
}

int
analyze_job(const struct analyze_ctx *ctx, const void *obj, struct finding *f)
{
	const struct kobj	*o = obj;
	json_t			*c;
	const char		*why, *msg;

	c = kcond(json_at(o->f, "status.conditions"), "Failed");
	if (c == NULL || strcmp(S(json_string_value(json_object_get(c,
	    "status"))), "True") != 0)
		return job_retrying(ctx, o, f);
	why = json_string_value(json_object_get(c, "reason"));
	msg = json_string_value(json_object_get(c, "message"));
	snprintf(f->reason, sizeof(f->reason), "%s", why ? why : "JobFailed");
	snprintf(f->detail, sizeof(f->detail), "Job %s/%s failed: %s: %s (%lld "
	    "failed pods)", o->m.ns, o->m.name, why ? why : "Failed",
	    msg ? msg : "(no message)",
	    (long long)json_int_at(o->f, "status.failed", 0));
	return 1;
}

static const char *const months[] = { "jan", "feb", "mar", "apr", "may",
    "jun", "jul", "aug", "sep", "oct", "nov", "dec" };
static const char *const wdays[] = { "sun", "mon", "tue", "wed", "thu",
    "fri", "sat" };

/* One number or name of a field. */
static int
cron_value(const char **p, int lo, const char *const *names, int nnames,
    int *v)
{
	int i;

	if (isdigit((unsigned char)**p)) {
		char *end;
		long n = strtol(*p, &end, 10);

		if (end - *p > 4)
			return -1;
		*p = end;
		*v = (int)n;
		return 0;
	}
	for (i = 0; names != NULL && i < nnames; i++)
		if (strncasecmp(*p, names[i], 3) == 0) {
			*p += 3;
			*v = i + lo;
			return 0;
		}
	return -1;
}

/* Parse one field into bits[lo..hi]; -1 on a syntax or range error. */
static int
cron_field(const char *s, int lo, int hi, const char *const *names,
    int nnames, unsigned char *bits, int *star)
{
	const char	*p = s;
	int		 a, b, step, i;

	*star = 0;
	memset(bits, 0, 64);
	for (;;) {
		step = 1;
		if (*p == '*' || *p == '?') {
			a = lo;
			b = hi;
			p++;
			if (*p != '/')
				*star = 1;
		} else {
			if (cron_value(&p, lo, names, nnames, &a) == -1)
				return -1;
			b = a;
			if (*p == '-') {
				p++;
				if (cron_value(&p, lo, names, nnames, &b) == -1)
					return -1;
			}
		}
		if (*p == '/') {
			char *end;

			p++;
			step = (int)strtol(p, &end, 10);
			if (end == p || step <= 0)
				return -1;
			if (a == b)
				b = hi;
			p = end;
		}
		/* 7 is Sunday too */
		if (a < lo || b > (names == wdays ? 7 : hi) || a > b)
			return -1;
		for (i = a; i <= b; i += step)
			bits[names == wdays && i == 7 ? 0 : i] = 1;
		if (*p == '\0')
			return 0;
		if (*p != ',')
			return -1;
		p++;
	}
}

int
cron_matches(const char *schedule, int64_t minute, char *err, size_t errlen)
{
	static const struct { const char *macro, *spec; } macros[] = {
		{ "@yearly", "0 0 1 1 *" }, { "@annually", "0 0 1 1 *" },
		{ "@monthly", "0 0 1 * *" }, { "@weekly", "0 0 * * 0" },
		{ "@daily", "0 0 * * *" }, { "@midnight", "0 0 * * *" },
		{ "@hourly", "0 * * * *" },
	};
	static const struct { int lo, hi; const char *name; } spec[5] = {
		{ 0, 59, "minute" }, { 0, 23, "hour" }, { 1, 31, "day of month" },
		{ 1, 12, "month" }, { 0, 6, "day of week" },
	};
	unsigned char	 bits[5][64];
	char		 buf[256], *fields[6], *tok, *save = NULL;
	const char	*s = schedule;
	int		 n = 0, i, star[5], dom, dow;
	int64_t		 days, y, mo, d, doy, era, yoe, doe, mp, wd;

	if (s == NULL || *s == '\0') {
		snprintf(err, errlen, "empty schedule");
		return -1;
	}
	if (strncmp(s, "CRON_TZ=", 8) == 0 || strncmp(s, "TZ=", 3) == 0) {
		if ((s = strchr(s, ' ')) == NULL) {
			snprintf(err, errlen, "time zone without a schedule");
			return -1;
		}
		while (*s == ' ')
			s++;
	}
	for (i = 0; i < (int)(sizeof(macros) / sizeof(macros[0])); i++)
		if (strcmp(s, macros[i].macro) == 0)
			s = macros[i].spec;
	if (strlen(s) >= sizeof(buf)) {
		snprintf(err, errlen, "schedule too long");
		return -1;
	}
	snprintf(buf, sizeof(buf), "%s", s);
	for (tok = strtok_r(buf, " \t", &save); tok != NULL && n < 6;
	    tok = strtok_r(NULL, " \t", &save))
		fields[n++] = tok;
	if (n != 5) {
		snprintf(err, errlen, "expected 5 fields, found %s", n > 5 ?
		    "more" : n == 0 ? "none" : "fewer");
		return -1;
	}
	for (i = 0; i < 5; i++)
		if (cron_field(fields[i], spec[i].lo, spec[i].hi,
		    i == 3 ? months : i == 4 ? wdays : NULL, i == 3 ? 12 :
		    i == 4 ? 7 : 0, bits[i], &star[i]) == -1) {
			snprintf(err, errlen, "bad %s field \"%s\"",
			    spec[i].name, fields[i]);
			return -1;
		}
	/* Civil date of the minute (H. Hinnant's civil_from_days). */
	days = minute / 1440;
	era = (days + 719468 >= 0 ? days + 719468 : days + 719468 - 146096) /
	    146097;
	doe = days + 719468 - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	y = yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	d = doy - (153 * mp + 2) / 5 + 1;
	mo = mp < 10 ? mp + 3 : mp - 9;
	(void)y;
	wd = (days % 7 + 11) % 7;	/* 1970-01-01 was a Thursday (4) */
	if (!bits[0][minute % 60] || !bits[1][(minute / 60) % 24] ||
	    !bits[3][mo])
		return 0;
	dom = bits[2][d];
	dow = bits[4][wd];
	if (star[2] || star[4])
		return dom && dow;
	return dom || dow;
}

int
analyze_cronjob(const struct analyze_ctx *ctx, const void *obj,
    struct finding *f)
{
	const struct kobj	*o = obj;
	const char		*sched = json_str_at(o->f, "spec.schedule");
	const char		*last;
	char			 err[128];
	int64_t			 from, to, m, missed = 0;

	if (cron_matches(sched, 0, err, sizeof(err)) == -1) {
		snprintf(f->reason, sizeof(f->reason), "InvalidSchedule");
		snprintf(f->detail, sizeof(f->detail), "CronJob %s/%s: schedule "
		    "\"%s\" is not valid: %s", o->m.ns, o->m.name, S(sched),
		    err);
		return 1;
	}
	if (!json_is_true(json_at(o->f, "spec.suspend")) || ctx == NULL ||
	    ctx->now <= 0)
		return 0;
	last = json_str_at(o->f, "status.lastScheduleTime");
	if (last == NULL)
		last = json_str_at(o->f, "metadata.creationTimestamp");
	if ((from = analyze_time(last)) < 0)
		return 0;
	from = from / 60000 + 1;
	to = ctx->now / 60000;
	if (to - from > MISSED_SCAN_MIN)
		from = to - MISSED_SCAN_MIN;
	for (m = from; m <= to; m++)
		if (cron_matches(sched, m, err, sizeof(err)) == 1)
			missed++;
	if (missed == 0)
		return 0;
	snprintf(f->reason, sizeof(f->reason), "SuspendedMissedRuns");
	snprintf(f->detail, sizeof(f->detail), "CronJob %s/%s: suspended; "
	    "%lld scheduled run%s (\"%s\") missed since %s%s", o->m.ns,
	    o->m.name, (long long)missed, missed == 1 ? "" : "s", S(sched),
	    S(last), to - from >= MISSED_SCAN_MIN ? " (last 7 days)" : "");
	return 1;
}
