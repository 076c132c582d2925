/*
 * cost.h - what keeps LLM spending bounded: a reply cache and budgets.
 *
 * Cache: key = SHA-256 of backend, model, prompt version and the redacted
 * context (exactly what is sent, so two identical incidents share an entry
 * and a changed cluster state does not).  The entry is the validated reply
 * text as the model wrote it (still pseudonymised when anonymize is on; it
 * is mapped back per incident).  At most COST_CACHE_MAX entries; the oldest
 * goes first.  Entries live for ttl ms.
 *
 * Budgets: calls per rolling hour and tokens (prompt + completion) per
 * rolling day, counted in one-minute / one-hour buckets.  0 means no limit.
 */
#ifndef REMEDY_DIAGNOSE_COST_H
#define REMEDY_DIAGNOSE_COST_H

#include <stddef.h>
#include <stdint.h>

#include "base/hmap.h"

#define COST_CACHE_MAX	512

struct cost_entry {
	char	*text;
	int64_t	 prompt_tokens, completion_tokens;
	int64_t	 at;		/* mono ms */
};

struct cost {
	struct hmap	 cache;		/* hex key -> struct cost_entry */
	char		*ring[COST_CACHE_MAX];	/* keys, insertion order */
	size_t		 ring_pos;
	int64_t		 ttl_ms;
	int64_t		 hits, misses;

	int64_t		 max_calls_hour, max_tokens_day;
	int64_t		 call_min[60], call_min_id[60];	/* per minute */
	int64_t		 tok_hour[24], tok_hour_id[24];	/* per hour */
};

void	cost_init(struct cost *, int64_t ttl_ms, int64_t max_calls_hour,
	    int64_t max_tokens_day);
void	cost_clear(struct cost *);

/* The cache key of a request, as 64 hex characters into out[65]. */
void	cost_key(char out[65], const char *backend, const char *model,
	    const char *prompt_version, const char *context);
/* The entry for key (borrowed), or NULL; counts a hit or a miss. */
const struct cost_entry *cost_get(struct cost *, const char *key,
	    int64_t now);
/* Remember text for key; -1 on ENOMEM. */
int	cost_put(struct cost *, const char *key, const char *text,
	    int64_t prompt_tokens, int64_t completion_tokens, int64_t now);

/* 0 when a call may start now, else -1 with why in err. */
int	cost_admit(struct cost *, int64_t now, char *err, size_t errlen);
/* Count a call that started and, later, its tokens. */
void	cost_count_call(struct cost *, int64_t now);
void	cost_count_tokens(struct cost *, int64_t now, int64_t tokens);
int64_t	cost_calls_last_hour(const struct cost *, int64_t now);
int64_t	cost_tokens_last_day(const struct cost *, int64_t now);

#endif
