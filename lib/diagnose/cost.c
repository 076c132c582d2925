/*
 * cost.c - see cost.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "diagnose/cost.h"

#define MIN_MS	(60 * 1000LL)
#define HOUR_MS	(60 * MIN_MS)

void
cost_init(struct cost *c, int64_t ttl_ms, int64_t max_calls_hour,
    int64_t max_tokens_day)
{
	memset(c, 0, sizeof(*c));
	hmap_init(&c->cache);
	c->ttl_ms = ttl_ms;
	c->max_calls_hour = max_calls_hour;
	c->max_tokens_day = max_tokens_day;
	memset(c->call_min_id, 0xff, sizeof(c->call_min_id));
	memset(c->tok_hour_id, 0xff, sizeof(c->tok_hour_id));
}

static void
entry_free(struct cost_entry *e)
{
	if (e != NULL) {
		free(e->text);
		free(e);
	}
}

void
cost_clear(struct cost *c)
{
	size_t	i;

	for (i = 0; i < COST_CACHE_MAX; i++) {
		if (c->ring[i] != NULL)
			entry_free(hmap_del(&c->cache, c->ring[i]));
		free(c->ring[i]);
	}
	hmap_clear(&c->cache);
	memset(c, 0, sizeof(*c));
}

void
cost_key(char out[65], const char *backend, const char *model,
    const char *prompt_version, const char *context)
{
	EVP_MD_CTX	*md;
	unsigned char	 h[32];
	unsigned int	 n = 0;
	const char	*parts[4];
	size_t		 i;

	parts[0] = backend;
	parts[1] = model ? model : "";
	parts[2] = prompt_version;
	parts[3] = context;
	memset(h, 0, sizeof(h));
	if ((md = EVP_MD_CTX_new()) != NULL) {
		EVP_DigestInit_ex(md, EVP_sha256(), NULL);
		for (i = 0; i < 4; i++)	/* NUL-separated: no ambiguity */
			EVP_DigestUpdate(md, parts[i], strlen(parts[i]) + 1);
		EVP_DigestFinal_ex(md, h, &n);
		EVP_MD_CTX_free(md);
	}
	for (i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", h[i]);
}

const struct cost_entry *
cost_get(struct cost *c, const char *key, int64_t now)
{
	struct cost_entry *e = hmap_get(&c->cache, key);

	if (e != NULL && c->ttl_ms > 0 && now - e->at > c->ttl_ms)
		e = NULL;
	if (e != NULL)
		c->hits++;
	else
		c->misses++;
	return e;
}

int
cost_put(struct cost *c, const char *key, const char *text,
    int64_t prompt_tokens, int64_t completion_tokens, int64_t now)
{
	struct cost_entry	*e;
	void			*old = NULL;
	char			*k;
	size_t			 i;

	if ((e = calloc(1, sizeof(*e))) == NULL ||
	    (e->text = strdup(text)) == NULL || (k = strdup(key)) == NULL) {
		entry_free(e);
		return -1;
	}
	e->prompt_tokens = prompt_tokens;
	e->completion_tokens = completion_tokens;
	e->at = now;
	if (hmap_put(&c->cache, key, e, &old) == -1) {
		entry_free(e);
		free(k);
		return -1;
	}
	if (old != NULL) {		/* replaced: the key is in the ring */
		entry_free(old);
		free(k);
		return 0;
	}
	i = c->ring_pos;
	if (c->ring[i] != NULL) {	/* full: drop the oldest */
		entry_free(hmap_del(&c->cache, c->ring[i]));
		free(c->ring[i]);
	}
	c->ring[i] = k;
	c->ring_pos = (i + 1) % COST_CACHE_MAX;
	return 0;
}

int64_t
cost_calls_last_hour(const struct cost *c, int64_t now)
{
	int64_t	id = now / MIN_MS, n = 0;
	size_t	i;

	for (i = 0; i < 60; i++)
		if (c->call_min_id[i] > id - 60 && c->call_min_id[i] <= id)
			n += c->call_min[i];
	return n;
}

int64_t
cost_tokens_last_day(const struct cost *c, int64_t now)
{
	int64_t	id = now / HOUR_MS, n = 0;
	size_t	i;

	for (i = 0; i < 24; i++)
		if (c->tok_hour_id[i] > id - 24 && c->tok_hour_id[i] <= id)
			n += c->tok_hour[i];
	return n;
}

int
cost_admit(struct cost *c, int64_t now, char *err, size_t errlen)
{
	if (c->max_calls_hour > 0 &&
	    cost_calls_last_hour(c, now) >= c->max_calls_hour) {
		snprintf(err, errlen, "call budget exhausted: %lld calls in "
		    "the last hour (diagnosis.max_calls_per_hour)",
		    (long long)c->max_calls_hour);
		return -1;
	}
	if (c->max_tokens_day > 0 &&
	    cost_tokens_last_day(c, now) >= c->max_tokens_day) {
		snprintf(err, errlen, "token budget exhausted: %lld tokens in "
		    "the last 24 hours (diagnosis.max_tokens_per_day)",
		    (long long)cost_tokens_last_day(c, now));
		return -1;
	}
	return 0;
}

void
cost_count_call(struct cost *c, int64_t now)
{
	int64_t	id = now / MIN_MS;
	size_t	i = (size_t)(id % 60);

	if (c->call_min_id[i] != id) {
		c->call_min_id[i] = id;
		c->call_min[i] = 0;
	}
	c->call_min[i]++;
}

void
cost_count_tokens(struct cost *c, int64_t now, int64_t tokens)
{
	int64_t	id = now / HOUR_MS;
	size_t	i = (size_t)(id % 24);

	if (c->tok_hour_id[i] != id) {
		c->tok_hour_id[i] = id;
		c->tok_hour[i] = 0;
	}
	c->tok_hour[i] += tokens;
}
