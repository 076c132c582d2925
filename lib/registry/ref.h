/*
 * ref.h - container image references, parsed and normalised the way
 * docker and containerd do (distribution/reference ParseNormalizedNamed).
 *
 *   nginx                      docker.io/library/nginx
 *   nginx:1.25                 docker.io/library/nginx:1.25
 *   index.docker.io/bitnami/x  docker.io/bitnami/x
 *   localhost:5000/app@sha256:...
 *   quay.io/org/app:v1@sha256:...   (name:tag@digest: the digest wins a pull)
 *
 * The first path component is a registry host when it contains '.' or
 * ':', is "localhost", or has an upper-case letter; otherwise the image is
 * on docker.io.  A one-word docker.io name gets "library/".  The repository
 * path must be lower case; tags are [A-Za-z0-9_][A-Za-z0-9_.-]{0,127};
 * digests are ALGO:HEX (sha256: 64 lower-case hex digits).  Everything is
 * stored in fixed buffers: no allocation, nothing to free.
 */
#ifndef REMEDY_REGISTRY_REF_H
#define REMEDY_REGISTRY_REF_H

#include <stddef.h>

#define IMGREF_NAME_MAX		255	/* domain + "/" + path */
#define IMGREF_TAG_MAX		128
#define IMGREF_DIGEST_MAX	(16 + 1 + 128)	/* "sha512:" + 128 hex */

struct imgref {
	char	domain[IMGREF_NAME_MAX + 1];	/* "docker.io", "host:5000" */
	char	path[IMGREF_NAME_MAX + 1];	/* "library/nginx" */
	char	tag[IMGREF_TAG_MAX + 1];	/* "" when none */
	char	digest[IMGREF_DIGEST_MAX + 1];	/* "" when none */
};

/*
 * Parse and normalise s.  Returns 0, or -1 with the reason in err (the
 * reason quotes the offending part, never more than 64 bytes of it).
 */
int	imgref_parse(const char *s, struct imgref *r, char *err, size_t errlen);
/* "docker.io/library/nginx:1.25@sha256:..." (the parts that are set);
 * -1 when buf is too small. */
int	imgref_format(const struct imgref *r, char *buf, size_t len);
/* The repository alone: "docker.io/library/nginx". */
int	imgref_name(const struct imgref *r, char *buf, size_t len);
/*
 * The shortest form docker prints: "nginx:1.25" for
 * docker.io/library/nginx:1.25, "bitnami/x" for docker.io/bitnami/x, the
 * full name elsewhere.
 */
int	imgref_familiar(const struct imgref *r, char *buf, size_t len);
/* The host the Distribution API is served on: registry-1.docker.io for
 * docker.io, the domain itself otherwise. */
const char *imgref_api_host(const char *domain);
/* 1 when s is HOST[:PORT] as the domain of a reference. */
int	imgref_valid_domain(const char *s);
/* 1 when s is a valid tag / digest. */
int	imgref_valid_tag(const char *s);
int	imgref_valid_digest(const char *s);

#endif
