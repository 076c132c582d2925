/*
 * diagconf.c - see diagconf.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "base/util.h"
#include "base/yamltree.h"
#include "diagnose/diagconf.h"
#include "diagnose/llm.h"
#include "kube/objects.h"

const char *const diag_config_keys[] = {
	"model", "endpoint", "api_key_file", "api_key_env",
	"azure_deployment", "api_version", "structured_output", "timeout",
	"max_retries", "max_tokens", "max_concurrent", "max_queued",
	"max_calls_per_hour",
	"max_tokens_per_day", "cache_ttl", "anonymize", "redact_ips",
	"context_bytes", "log_lines", "memory_raise_factor", "memory_ceiling",
	NULL
};

static const char *const structured_names[] = {
	"json_schema", "json_object", "prompt"
};

void
diag_config_init(struct diag_config *d)
{
	memset(d, 0, sizeof(*d));
	d->structured = LLM_JSON_SCHEMA;
	d->timeout_ms = 60 * 1000;
	d->max_retries = 3;
	d->max_tokens = 1024;
	d->max_concurrent = 2;
	d->max_queued = 256;
	d->max_calls_per_hour = 60;
	d->max_tokens_per_day = 200000;
	d->cache_ttl_ms = 24LL * 3600 * 1000;
	d->context_bytes = 6000;
	d->log_lines = 30;
	d->memory_raise_factor = 1.5;
	d->memory_ceiling = 4LL << 30;
}

void
diag_config_clear(struct diag_config *d)
{
	free(d->model);
	free(d->endpoint);
	free(d->api_key_file);
	free(d->api_key_env);
	free(d->azure_deployment);
	free(d->api_version);
	memset(d, 0, sizeof(*d));
}

static const char *
str_of(struct ytree *t, const char *keypath, struct yaml_node_s *v)
{
	const char	*s;

	if ((s = ytree_str(v)) == NULL) {
		ytree_error(t, v, "%s: expected a string, got %s", keypath,
		    ytree_kind(v));
		return NULL;
	}
	if (*s == '\0' || strlen(s) != v->data.scalar.length) {
		ytree_error(t, v, "%s: must be a non-empty string without NUL "
		    "bytes", keypath);
		return NULL;
	}
	return s;
}

static void
set_str(struct ytree *t, const char *keypath, struct yaml_node_s *v,
    char **dst)
{
	const char	*s;
	char		*c;

	if (ytree_is_null(v)) {
		free(*dst);
		*dst = NULL;
		return;
	}
	if ((s = str_of(t, keypath, v)) == NULL)
		return;
	if ((c = strdup(s)) == NULL) {
		ytree_error(t, v, "%s: out of memory", keypath);
		return;
	}
	free(*dst);
	*dst = c;
}

static void
set_int(struct ytree *t, const char *keypath, struct yaml_node_s *v,
    long long lo, long long hi, int64_t *dst)
{
	const char	*s;
	char		*end;
	long long	 n;

	if ((s = str_of(t, keypath, v)) == NULL)
		return;
	errno = 0;
	n = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || n < lo || n > hi) {
		ytree_error(t, v, "%s: \"%s\" is not a whole number from %lld "
		    "to %lld", keypath, s, lo, hi);
		return;
	}
	*dst = n;
}

static void
set_bool(struct ytree *t, const char *keypath, struct yaml_node_s *v,
    int *dst)
{
	const char	*s;

	if ((s = str_of(t, keypath, v)) != NULL)
		ytree_bool(t, v, keypath, s, 1, dst);
}

static void
set_dur(struct ytree *t, const char *keypath, struct yaml_node_s *v,
    int64_t *dst)
{
	const char	*s;
	int64_t		 ms;

	if ((s = str_of(t, keypath, v)) == NULL)
		return;
	if (parse_duration(s, &ms) == -1 || ms <= 0) {
		ytree_error(t, v, "%s: \"%s\" is not a duration greater than "
		    "zero (like 30s, 5m, 24h)", keypath, s);
		return;
	}
	*dst = ms;
}

void
diag_config_key(struct diag_config *d, struct ytree *t, const char *key,
    const char *keypath, struct yaml_node_s *v)
{
	const char	*s;
	int64_t		 n;
	size_t		 i;
	char		*end;
	double		 f;

	if (strcmp(key, "model") == 0)
		set_str(t, keypath, v, &d->model);
	else if (strcmp(key, "endpoint") == 0) {
		if (ytree_is_null(v))	/* "~", as remedyd -nv prints it */
			set_str(t, keypath, v, &d->endpoint);
		else if ((s = str_of(t, keypath, v)) != NULL &&
		    strncmp(s, "http://", 7) != 0 &&
		    strncmp(s, "https://", 8) != 0)
			ytree_error(t, v, "%s: \"%s\" is not an http:// or "
			    "https:// URL", keypath, s);
		else if (s != NULL && strlen(s) > 400)
			ytree_error(t, v, "%s: longer than 400 bytes", keypath);
		else if (s != NULL)
			set_str(t, keypath, v, &d->endpoint);
	} else if (strcmp(key, "api_key_file") == 0)
		set_str(t, keypath, v, &d->api_key_file);
	else if (strcmp(key, "api_key_env") == 0)
		set_str(t, keypath, v, &d->api_key_env);
	else if (strcmp(key, "azure_deployment") == 0)
		set_str(t, keypath, v, &d->azure_deployment);
	else if (strcmp(key, "api_version") == 0)
		set_str(t, keypath, v, &d->api_version);
	else if (strcmp(key, "structured_output") == 0) {
		if ((s = str_of(t, keypath, v)) == NULL)
			return;
		for (i = 0; i < NELEM(structured_names); i++)
			if (strcmp(s, structured_names[i]) == 0) {
				d->structured = (int)i;
				return;
			}
		ytree_error(t, v, "%s: unknown mode \"%s\" (known: "
		    "json_schema, json_object, prompt)", keypath, s);
	} else if (strcmp(key, "timeout") == 0)
		set_dur(t, keypath, v, &d->timeout_ms);
	else if (strcmp(key, "cache_ttl") == 0)
		set_dur(t, keypath, v, &d->cache_ttl_ms);
	else if (strcmp(key, "max_retries") == 0) {
		n = d->max_retries;
		set_int(t, keypath, v, 0, 10, &n);
		d->max_retries = (int)n;
	} else if (strcmp(key, "max_tokens") == 0) {
		n = d->max_tokens;
		set_int(t, keypath, v, 64, 32768, &n);
		d->max_tokens = (int)n;
	} else if (strcmp(key, "max_concurrent") == 0) {
		n = d->max_concurrent;
		set_int(t, keypath, v, 1, 64, &n);
		d->max_concurrent = (int)n;
	} else if (strcmp(key, "max_queued") == 0) {
		n = d->max_queued;
		set_int(t, keypath, v, 1, 100000, &n);
		d->max_queued = (int)n;
	} else if (strcmp(key, "max_calls_per_hour") == 0)
		set_int(t, keypath, v, 0, 1000000, &d->max_calls_per_hour);
	else if (strcmp(key, "max_tokens_per_day") == 0)
		set_int(t, keypath, v, 0, 1000000000000LL,
		    &d->max_tokens_per_day);
	else if (strcmp(key, "anonymize") == 0)
		set_bool(t, keypath, v, &d->anonymize);
	else if (strcmp(key, "redact_ips") == 0)
		set_bool(t, keypath, v, &d->redact_ips);
	else if (strcmp(key, "context_bytes") == 0)
		set_int(t, keypath, v, 1024, 1048576, &d->context_bytes);
	else if (strcmp(key, "log_lines") == 0) {
		n = d->log_lines;
		set_int(t, keypath, v, 0, 500, &n);
		d->log_lines = (int)n;
	} else if (strcmp(key, "memory_raise_factor") == 0) {
		if ((s = str_of(t, keypath, v)) == NULL)
			return;
		errno = 0;
		f = strtod(s, &end);
		if (errno != 0 || *end != '\0' || !(f >= 1.1 && f <= 4.0)) {
			ytree_error(t, v, "%s: \"%s\" is not a number from 1.1 "
			    "to 4", keypath, s);
			return;
		}
		d->memory_raise_factor = f;
	} else if (strcmp(key, "memory_ceiling") == 0) {
		if ((s = str_of(t, keypath, v)) == NULL)
			return;
		if ((n = kquantity(s)) <= 0) {
			ytree_error(t, v, "%s: \"%s\" is not a memory quantity "
			    "(like 512Mi, 4Gi)", keypath, s);
			return;
		}
		d->memory_ceiling = n;
	} else
		ytree_error(t, v, "unknown key \"%s\" in diagnosis", key);
}

void
diag_config_check(const struct diag_config *d, const char *backend,
    struct ytree *t)
{
	if (backend == NULL || strcmp(backend, "rules") == 0)
		return;
	if (d->model == NULL)
		ytree_error(t, NULL, "diagnosis.model: required with backend "
		    "%s", backend);
	if (d->api_key_file != NULL && d->api_key_env != NULL)
		ytree_error(t, NULL, "diagnosis: set api_key_file or "
		    "api_key_env, not both");
	if (d->azure_deployment != NULL && strcmp(backend, "openai") != 0)
		ytree_error(t, NULL, "diagnosis.azure_deployment: only with "
		    "backend openai");
	if (d->azure_deployment != NULL && d->endpoint == NULL)
		ytree_error(t, NULL, "diagnosis.endpoint: required with "
		    "azure_deployment (https://NAME.openai.azure.com)");
}

/* "10s", "5m", "1500ms": the largest unit that divides ms exactly. */
static void
fmt_ms(int64_t ms, char *buf, size_t len)
{
	static const struct {
		const char	*unit;
		int64_t		 ms;
	} units[] = {
		{ "d", 86400000 }, { "h", 3600000 }, { "m", 60000 },
		{ "s", 1000 },
	};
	size_t	i;

	for (i = 0; i < NELEM(units); i++)
		if (ms != 0 && ms % units[i].ms == 0) {
			snprintf(buf, len, "%lld%s",
			    (long long)(ms / units[i].ms), units[i].unit);
			return;
		}
	snprintf(buf, len, "%lldms", (long long)ms);
}

int
diag_config_dump(const struct diag_config *d,
    int (*pair)(void *, const char *, const char *), void *arg)
{
	char	b[14][48];

	fmt_ms(d->timeout_ms, b[0], sizeof(b[0]));
	snprintf(b[1], sizeof(b[1]), "%d", d->max_retries);
	snprintf(b[2], sizeof(b[2]), "%d", d->max_tokens);
	snprintf(b[3], sizeof(b[3]), "%d", d->max_concurrent);
	snprintf(b[4], sizeof(b[4]), "%lld", (long long)d->max_calls_per_hour);
	snprintf(b[5], sizeof(b[5]), "%lld", (long long)d->max_tokens_per_day);
	fmt_ms(d->cache_ttl_ms, b[6], sizeof(b[6]));
	snprintf(b[7], sizeof(b[7]), "%lld", (long long)d->context_bytes);
	snprintf(b[8], sizeof(b[8]), "%d", d->log_lines);
	snprintf(b[9], sizeof(b[9]), "%g", d->memory_raise_factor);
	if (d->memory_ceiling % (1LL << 30) == 0)
		snprintf(b[10], sizeof(b[10]), "%lldGi",
		    (long long)(d->memory_ceiling >> 30));
	else if (d->memory_ceiling % (1LL << 20) == 0)
		snprintf(b[10], sizeof(b[10]), "%lldMi",
		    (long long)(d->memory_ceiling >> 20));
	else
		snprintf(b[10], sizeof(b[10]), "%lld",
		    (long long)d->memory_ceiling);
	snprintf(b[11], sizeof(b[11]), "%d", d->max_queued);
	return pair(arg, "model", d->model) &&
	    pair(arg, "endpoint", d->endpoint) &&
	    pair(arg, "api_key_file", d->api_key_file) &&
	    pair(arg, "api_key_env", d->api_key_env) &&
	    pair(arg, "azure_deployment", d->azure_deployment) &&
	    pair(arg, "api_version", d->api_version) &&
	    pair(arg, "structured_output", structured_names[d->structured]) &&
	    pair(arg, "timeout", b[0]) &&
	    pair(arg, "max_retries", b[1]) &&
	    pair(arg, "max_tokens", b[2]) &&
	    pair(arg, "max_concurrent", b[3]) &&
	    pair(arg, "max_queued", b[11]) &&
	    pair(arg, "max_calls_per_hour", b[4]) &&
	    pair(arg, "max_tokens_per_day", b[5]) &&
	    pair(arg, "cache_ttl", b[6]) &&
	    pair(arg, "anonymize", d->anonymize ? "true" : "false") &&
	    pair(arg, "redact_ips", d->redact_ips ? "true" : "false") &&
	    pair(arg, "context_bytes", b[7]) &&
	    pair(arg, "log_lines", b[8]) &&
	    pair(arg, "memory_raise_factor", b[9]) &&
	    pair(arg, "memory_ceiling", b[10]);
}

int
diag_api_key(const struct diag_config *d, char **key, char *err,
    size_t errlen)
{
	const char	*v;
	char		*buf = NULL;
	size_t		 len = 0, n;

	*key = NULL;
	if (d->api_key_env != NULL) {
		if ((v = getenv(d->api_key_env)) == NULL || *v == '\0') {
			snprintf(err, errlen, "diagnosis.api_key_env: the "
			    "environment variable %s is not set",
			    d->api_key_env);
			return -1;
		}
		if ((*key = strdup(v)) == NULL) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		return 0;
	}
	if (d->api_key_file == NULL)
		return 0;
	if (read_file(d->api_key_file, 64 * 1024, &buf, &len, err,
	    errlen) == -1)
		return -1;
	n = strcspn(buf, "\r\n");
	buf[n] = '\0';
	while (n > 0 && (buf[n - 1] == ' ' || buf[n - 1] == '\t'))
		buf[--n] = '\0';
	if (n == 0) {
		explicit_bzero(buf, len);
		free(buf);
		snprintf(err, errlen, "diagnosis.api_key_file: %s: the first "
		    "line is empty", d->api_key_file);
		return -1;
	}
	if ((*key = strdup(buf)) == NULL)
		snprintf(err, errlen, "out of memory");
	explicit_bzero(buf, len);
	free(buf);
	return *key == NULL ? -1 : 0;
}
