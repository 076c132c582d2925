/*
 * diagconf.h - the diagnosis.* keys of remedyd.yaml beyond backend and
 * hold_down (docs/remedyd.yaml.5, docs/diagnosis.md).
 *
 * lib/conf/config.c hands each of these keys to diag_config_key(), which checks
 * type and range and records errors with file:line:col and the key path;
 * diag_config_check() then checks what depends on the backend (an LLM
 * backend needs a model).  Strings are heap copies owned by the struct.
 */
#ifndef REMEDY_DIAGNOSE_DIAGCONF_H
#define REMEDY_DIAGNOSE_DIAGCONF_H

#include <stddef.h>
#include <stdint.h>

struct ytree;
struct yaml_node_s;

struct diag_config {
	char	*model;
	char	*endpoint;		/* NULL: the backend's default */
	char	*api_key_file;
	char	*api_key_env;
	char	*azure_deployment;	/* openai: use Azure OpenAI paths */
	char	*api_version;		/* Azure api-version */
	int	 structured;		/* enum llm_structured */
	int64_t	 timeout_ms;		/* per attempt, default 60 s */
	int	 max_retries;		/* default 3 */
	int	 max_tokens;		/* reply limit, default 1024 */
	int	 max_concurrent;	/* diagnoses running, default 2 */
	int	 max_queued;		/* ... queued for a slot, 256 */
	int64_t	 max_calls_per_hour;	/* default 60, 0: no limit */
	int64_t	 max_tokens_per_day;	/* default 200000, 0: no limit */
	int64_t	 cache_ttl_ms;		/* default 24 h */
	int	 anonymize;		/* default false */
	int	 redact_ips;		/* default false */
	int64_t	 context_bytes;		/* default 6000 */
	int	 log_lines;		/* default 30 */
	double	 memory_raise_factor;	/* default 1.5, 1.1 .. 4 */
	int64_t	 memory_ceiling;	/* bytes, default 4Gi */
};

void	diag_config_init(struct diag_config *);
void	diag_config_clear(struct diag_config *);
void	diag_config_key(struct diag_config *, struct ytree *, const char *key,
	    const char *keypath, struct yaml_node_s *value);
/* Errors that need the backend's name; recorded on the tree. */
void	diag_config_check(const struct diag_config *, const char *backend,
	    struct ytree *);
/* Keys diag_config_key() knows, NULL-terminated. */
extern const char *const diag_config_keys[];
/* Every key and its value as text, in table order, for remedyd -nv. */
int	diag_config_dump(const struct diag_config *,
	    int (*pair)(void *arg, const char *key, const char *value),
	    void *arg);

/*
 * The API key of an LLM backend: the first line of api_key_file, or the
 * value of the environment variable api_key_env.  *key is NULL when neither
 * is set (local servers need none), else a heap string the caller wipes
 * (explicit_bzero) and frees.  -1 with a message naming the file or the
 * variable, never the key.
 */
int	diag_api_key(const struct diag_config *, char **key, char *err,
	    size_t errlen);

#endif
