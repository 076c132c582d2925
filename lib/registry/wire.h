/*
 * wire.h - what an OCI Distribution registry answers, parsed.
 *
 * Pure functions of bytes (no I/O), so the unit tests and the fuzz target
 * reach every one: the WWW-Authenticate challenge, the Link header of a
 * paginated tags list, the tags list JSON, a manifest (image manifest, OCI
 * index or Docker manifest list), the token server's reply, and a docker
 * config.json auth file.  Every function bounds what it keeps and says in
 * err what was wrong and where.
 */
#ifndef REMEDY_REGISTRY_WIRE_H
#define REMEDY_REGISTRY_WIRE_H

#include <stddef.h>

#include <jansson.h>

#include "registry/ref.h"

#define REG_URL_MAX		2048
#define REG_TOKEN_MAX		8192
#define REG_CRED_MAX		512
#define REG_MAX_PLATFORMS	64

/* "Bearer realm="https://auth.example/token",service="x",scope="y"" */
struct reg_challenge {
	char	scheme[16];		/* "bearer" or "basic" (lower case) */
	char	realm[REG_URL_MAX];
	char	service[256];
	char	scope[512];
};

/* Returns 0, or -1 with err (never quoting the header). */
int	reg_parse_challenge(const char *hdr, struct reg_challenge *,
	    char *err, size_t errlen);
/*
 * The target of the rel="next" link in a Link header, copied to url.
 * Returns 1 when found, 0 when the header has no next link, -1 when it is
 * malformed or the target is not "/..." or "http(s)://..." (err says why).
 */
int	reg_parse_link_next(const char *hdr, char *url, size_t len, char *err,
	    size_t errlen);
/*
 * A tags list {"name": N, "tags": [...]}: appends each tag (a JSON string)
 * to tags until it holds max entries, then sets *truncated.  name must be
 * want_path when given.  A tag that is not valid by ref.h's grammar is an
 * error: a registry that answers garbage is not believed in part.
 */
int	reg_parse_tags(const char *body, size_t len, const char *want_path,
	    json_t *tags, size_t max, int *truncated, char *err, size_t errlen);

struct reg_platform {
	char	os[32];
	char	arch[32];
	char	variant[16];
	char	digest[IMGREF_DIGEST_MAX + 1];
};

struct reg_manifest {
	int			is_index;	/* index or manifest list */
	char			media_type[128];
	char			config_digest[IMGREF_DIGEST_MAX + 1];
	size_t			nplatforms;	/* of an index, at most 64 */
	struct reg_platform	plat[REG_MAX_PLATFORMS];
};

/* content_type: the response's Content-Type (may be NULL; mediaType in
 * the body decides then). */
int	reg_parse_manifest(const char *body, size_t len,
	    const char *content_type, struct reg_manifest *, char *err,
	    size_t errlen);
/* The token server's {"token": T} or {"access_token": T}, with
 * expires_in seconds (60 when absent, at most 1 h). */
int	reg_parse_token(const char *body, size_t len, char *token,
	    size_t toklen, int *expires_in, char *err, size_t errlen);

/* Credentials for one registry from a docker config.json. */
struct reg_cred {
	char	user[REG_CRED_MAX];
	char	pass[REG_CRED_MAX];
	char	identity[REG_TOKEN_MAX];	/* identitytoken: OAuth refresh */
};

/*
 * Look up domain (ref.h's normalised domain: "docker.io", "host:5000") in
 * the auths of a config.json: keys may be "host", "https://host/v1/",
 * "index.docker.io" ...  Returns 1 and fills c, 0 when there is no entry,
 * -1 when the file or the entry is malformed (err names the key, never a
 * secret).
 */
int	reg_auth_lookup(const char *json, size_t len, const char *domain,
	    struct reg_cred *c, char *err, size_t errlen);
void	reg_cred_clear(struct reg_cred *);

#endif
