/*
 * pull.c - image pull failures classified, and the closest tag (pull.h).
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/util.h"
#include "registry/pull.h"

const char *
pull_class_name(enum pull_class c)
{
	static const char *const names[] = { "unknown", "tag-not-found",
	    "repository-not-found", "unauthorized", "registry-unreachable",
	    "no-platform", "invalid-reference" };

	if ((size_t)c < sizeof(names) / sizeof(names[0]))
		return names[c];
	return "unknown";
}

void
pull_facts_clear(struct pull_facts *f)
{
	json_decref(f->tags);
	memset(f, 0, sizeof(*f));
}

int
pull_reason(const char *r)
{
	return r != NULL && (strcmp(r, "ErrImagePull") == 0 ||
	    strcmp(r, "ImagePullBackOff") == 0 ||
	    strcmp(r, "InvalidImageName") == 0 ||
	    strcmp(r, "RegistryUnavailable") == 0);
}

int
pull_target(json_t *pod, struct pull_facts *f, char *kubelet, size_t klen)
{
	static const char *const lists[2][2] = {
		{ "status.initContainerStatuses", "spec.initContainers" },
		{ "status.containerStatuses", "spec.containers" },
	};
	const char	*name, *image, *msg, *cname;
	json_t		*st, *c;
	size_t		 l, i, k;

	for (l = 0; l < 2; l++) {
		json_array_foreach(json_at(pod, lists[l][0]), i, st) {
			name = json_str_at(st, "name");
			if (name == NULL || !pull_reason(json_str_at(st,
			    "state.waiting.reason")))
				continue;
			json_array_foreach(json_at(pod, lists[l][1]), k, c) {
				image = json_str_at(c, "image");
				cname = json_str_at(c, "name");
				if (image == NULL || cname == NULL ||
				    strcmp(cname, name) != 0)
					continue;
				snprintf(f->image, sizeof(f->image), "%s",
				    image);
				snprintf(f->container, sizeof(f->container),
				    "%s", name);
				f->init = l == 0;
				f->index = (int)k;
				msg = json_str_at(st, "state.waiting.message");
				snprintf(kubelet, klen, "%s", msg ? msg : "");
				return 1;
			}
		}
	}
	return 0;
}

const char *
pull_patch_image(json_t *patch, size_t *i)
{
	const char	*o, *path, *v;
	json_t		*op;
	size_t		 n;

	for (; *i < json_array_size(patch); (*i)++) {
		op = json_array_get(patch, *i);
		o = json_str_at(op, "op");
		path = json_str_at(op, "path");
		v = json_string_value(json_object_get(op, "value"));
		if (o == NULL || path == NULL || v == NULL ||
		    (strcmp(o, "replace") != 0 && strcmp(o, "add") != 0))
			continue;
		n = strlen(path);
		if (n >= 6 && strcmp(path + n - 6, "/image") == 0)
			return v;
	}
	return NULL;
}

#define PULL_MAX_DEPTH	64	/* nesting walked inside one patch value */

/* A JSON Pointer segment that names an array element ("-" appends). */
static int
index_segment(const char *s)
{
	if (strcmp(s, "-") == 0)
		return 1;
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if (!isdigit((unsigned char)*s))
			return 0;
	return 1;
}

/* Is a string at .../list/item/key a container's image? */
static int
image_at(const char *list, const char *item, const char *key)
{
	return strcmp(key, "image") == 0 && index_segment(item) &&
	    (strcmp(list, "containers") == 0 ||
	    strcmp(list, "initContainers") == 0 ||
	    strcmp(list, "ephemeralContainers") == 0);
}

/* v sits at .../list/item/key: add the images in it to out (once each). */
static int
images_walk(json_t *v, const char *list, const char *item, const char *key,
    json_t *out, int depth)
{
	const char	*k;
	json_t		*m;
	size_t		 i;
	char		 idx[24];

	if (depth > PULL_MAX_DEPTH)
		return 0;
	if (json_is_string(v) && image_at(list, item, key)) {
		json_array_foreach(out, i, m)
			if (json_equal(m, v))
				return 0;
		return json_array_append(out, v);
	}
	if (json_is_object(v)) {
		json_object_foreach(v, k, m)
			if (images_walk(m, item, key, k, out, depth + 1) == -1)
				return -1;
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, m) {
			snprintf(idx, sizeof(idx), "%zu", i);
			if (images_walk(m, item, key, idx, out, depth + 1) ==
			    -1)
				return -1;
		}
	}
	return 0;
}

json_t *
pull_patch_images(json_t *patch)
{
	const char	*o, *path, *seg[3];
	char		 buf[3][128];
	json_t		*out, *op;
	size_t		 i, n, len;
	int		 k;

	if ((out = json_array()) == NULL)
		return NULL;
	json_array_foreach(patch, i, op) {
		o = json_str_at(op, "op");
		path = json_str_at(op, "path");
		if (o == NULL || path == NULL || json_object_get(op,
		    "value") == NULL || (strcmp(o, "replace") != 0 &&
		    strcmp(o, "add") != 0))
			continue;
		/* the last three segments of the path, "" where it has fewer */
		n = strlen(path);
		for (k = 2; k >= 0; k--) {
			seg[k] = "";
			for (len = n; len > 0 && path[len - 1] != '/'; len--)
				;
			if (len == 0)
				continue;
			snprintf(buf[k], sizeof(buf[k]), "%.*s", (int)(n - len),
			    path + len);
			seg[k] = buf[k];
			n = len - 1;
		}
		if (images_walk(json_object_get(op, "value"), seg[0], seg[1],
		    seg[2], out, 0) == -1) {
			json_decref(out);
			return NULL;
		}
	}
	return out;
}

int
tag_distance(const char *a, const char *b)
{
	int	row[IMGREF_TAG_MAX + 2], prev, tmp, best;
	size_t	la = strlen(a), lb = strlen(b), i, j;

	if (la > IMGREF_TAG_MAX || lb > IMGREF_TAG_MAX)
		return -1;
	for (j = 0; j <= lb; j++)
		row[j] = (int)j;
	for (i = 1; i <= la; i++) {
		prev = row[0];
		row[0] = (int)i;
		for (j = 1; j <= lb; j++) {
			tmp = row[j];
			best = prev + (a[i - 1] != b[j - 1]);
			if (row[j] + 1 < best)
				best = row[j] + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			prev = tmp;
		}
	}
	return row[lb];
}

int
tag_version_cmp(const char *a, const char *b)
{
	size_t	na, nb;

	while (*a != '\0' && *b != '\0') {
		if (isdigit((unsigned char)*a) && isdigit((unsigned char)*b)) {
			while (*a == '0' && isdigit((unsigned char)a[1]))
				a++;
			while (*b == '0' && isdigit((unsigned char)b[1]))
				b++;
			for (na = 0; isdigit((unsigned char)a[na]); na++)
				;
			for (nb = 0; isdigit((unsigned char)b[nb]); nb++)
				;
			if (na != nb)
				return na < nb ? -1 : 1;
			if (strncmp(a, b, na) != 0)
				return strncmp(a, b, na);
			a += na;
			b += nb;
			continue;
		}
		if (*a != *b)
			return (unsigned char)*a - (unsigned char)*b;
		a++;
		b++;
	}
	return (unsigned char)*a - (unsigned char)*b;
}

/* Does a rank before b?  prefix, then distance, then higher version. */
static int
better(const struct tag_candidate *a, const struct tag_candidate *b)
{
	if (a->prefix != b->prefix)
		return a->prefix > b->prefix;
	if (a->prefix && strlen(a->tag) != strlen(b->tag))
		return strlen(a->tag) > strlen(b->tag);
	if (a->distance != b->distance)
		return a->distance < b->distance;
	return tag_version_cmp(a->tag, b->tag) > 0;
}

void
tag_choose(const char *want, json_t *tags, struct tag_choice *c)
{
	struct tag_candidate	 top[TAG_MAX_RUNNERS + 1], cand;
	const char		*t;
	json_t			*v;
	size_t			 i, n = 0, k, wl = strlen(want), tl;
	int			 digits = 0, d;

	memset(c, 0, sizeof(*c));
	for (i = 0; i < wl; i++)
		if (isdigit((unsigned char)want[i]))
			digits = 1;
	json_array_foreach(tags, i, v) {
		if ((t = json_string_value(v)) == NULL || strcmp(t, want) == 0)
			continue;
		c->examined++;
		if (digits && strcmp(t, "latest") == 0)
			continue;
		if ((d = tag_distance(want, t)) < 0)
			continue;
		memset(&cand, 0, sizeof(cand));
		snprintf(cand.tag, sizeof(cand.tag), "%s", t);
		cand.distance = d;
		tl = strlen(t);
		cand.prefix = tl < wl && strncmp(want, t, tl) == 0 &&
		    strchr("-._", want[tl]) != NULL;
		/* insert into the sorted top list */
		for (k = n; k > 0 && better(&cand, &top[k - 1]); k--)
			if (k < TAG_MAX_RUNNERS + 1)
				top[k] = top[k - 1];
		if (k < TAG_MAX_RUNNERS + 1) {
			top[k] = cand;
			if (n < TAG_MAX_RUNNERS + 1)
				n++;
		}
	}
	if (n == 0)
		return;
	c->best = top[0];
	for (k = 1; k < n; k++)
		c->runners[c->nrunners++] = top[k];
	c->found = tag_acceptable(want, &c->best);
}

int
tag_acceptable(const char *want, const struct tag_candidate *c)
{
	size_t	wl = strlen(want);
	int	limit = (int)(wl / 4) > 1 ? (int)(wl / 4) : 1;

	return c->tag[0] != '\0' && (c->prefix || (c->distance >= 0 &&
	    c->distance <= limit));
}

static int
has(const char *s, const char *needle)
{
	return s != NULL && strstr(s, needle) != NULL;
}

static void
ev(json_t *evidence, const char *fmt, ...) __attribute__((format(printf,
    2, 3)));

static void
ev(json_t *evidence, const char *fmt, ...)
{
	char	line[1024];
	va_list	ap;

	if (evidence == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	json_array_append_new(evidence, json_string(line));
}

int
pull_has_platform(const struct reg_manifest *m, const char *os,
    const char *arch)
{
	size_t	i;

	if (!m->is_index)
		return 0;
	for (i = 0; i < m->nplatforms; i++)
		if (strcmp(m->plat[i].arch, arch) == 0 &&
		    strcmp(m->plat[i].os, os) == 0)
			return 1;
	return 0;
}

void
pull_platforms(const struct reg_manifest *m, char *buf, size_t len)
{
	size_t	i, n = 0;
	int	w;

	if (len == 0)
		return;
	buf[0] = '\0';
	for (i = 0; i < m->nplatforms && n < len; i++) {
		w = snprintf(buf + n, len - n, "%s%s/%s%s%s", i ? ", " : "",
		    m->plat[i].os, m->plat[i].arch, m->plat[i].variant[0] ?
		    "/" : "", m->plat[i].variant);
		if (w < 0)
			break;
		n += (size_t)w;
	}
}

int
pull_kubelet_no_platform(const char *kubelet)
{
	return has(kubelet, "no match for platform in manifest") ||
	    has(kubelet, "no matching manifest");
}

/* Does the index have a manifest for linux/arch? */
static int
has_platform(const struct reg_manifest *m, const char *arch)
{
	return pull_has_platform(m, "linux", arch);
}

enum pull_class
pull_classify(const char *kubelet, const char *waiting_reason,
    const struct pull_facts *f, const char *node_arch, char *cause,
    size_t clen, json_t *evidence)
{
	char	plats[256];
	const char *img = f != NULL ? f->image : "?";

	cause[0] = '\0';
	if (f != NULL && f->asked) {
		ev(evidence, "registry: %s asked for the tags of %s: %s (%s)",
		    f->registry_url[0] ? f->registry_url : "the registry",
		    f->ref.path, reg_status_name(f->tags_status), f->tags_msg);
		ev(evidence, "registry: manifest %s: %s (%s)%s%s", img,
		    reg_status_name(f->man_status), f->man_msg,
		    f->digest[0] ? ", digest " : "", f->digest);
	}
	/* 1. the reference itself */
	if ((waiting_reason != NULL && strcmp(waiting_reason,
	    "InvalidImageName") == 0) || has(kubelet, "InvalidImageName") ||
	    has(kubelet, "couldn't parse image reference") ||
	    has(kubelet, "invalid reference format") ||
	    (f != NULL && !f->ref_ok && f->image[0] != '\0')) {
		snprintf(cause, clen, "The image reference \"%s\" is not "
		    "valid%s%s.", img, f != NULL && f->ref_err[0] ? ": " : "",
		    f != NULL ? f->ref_err : "");
		return PULL_INVALID_REFERENCE;
	}
	/* 2. what the registry said, when it was asked */
	if (f != NULL && f->asked) {
		if (f->tags_status == REG_REPO_UNKNOWN ||
		    f->man_status == REG_REPO_UNKNOWN) {
			snprintf(cause, clen, "The registry has no repository "
			    "%s (image \"%s\"): the image name is wrong, or "
			    "the repository was deleted.", f->ref.path, img);
			return PULL_REPO_NOT_FOUND;
		}
		if (f->man_status == REG_TAG_UNKNOWN) {
			snprintf(cause, clen, "The registry has no tag %s in "
			    "%s%s%s.", f->ref.digest[0] ? f->ref.digest :
			    f->ref.tag[0] ? f->ref.tag : "latest", f->ref.path,
			    f->tags_status == REG_OK ? ", which has " : "",
			    f->tags_status == REG_OK ? (f->tags != NULL &&
			    json_array_size(f->tags) > 0 ? "other tags" :
			    "no tags at all") : "");
			return PULL_TAG_NOT_FOUND;
		}
		if (f->man_status == REG_OK && f->manifest.is_index &&
		    node_arch != NULL && !has_platform(&f->manifest,
		    node_arch)) {
			pull_platforms(&f->manifest, plats, sizeof(plats));
			snprintf(cause, clen, "Image \"%s\" exists but has no "
			    "variant for the node's platform linux/%s (it has "
			    "%s).", img, node_arch, plats[0] ? plats : "none");
			return PULL_NO_PLATFORM;
		}
		if (f->tags_status == REG_UNAUTHORIZED ||
		    f->man_status == REG_UNAUTHORIZED) {
			snprintf(cause, clen, "The registry refuses access to "
			    "%s: the pod needs an imagePullSecret with "
			    "credentials for %s, or the one it has is wrong "
			    "(remedy never reads Secrets; check the pod's "
			    "imagePullSecrets and its service account).",
			    f->ref.path, f->ref.domain);
			return PULL_UNAUTHORIZED;
		}
	}
	/* 3. the kubelet's words alone */
	if (pull_kubelet_no_platform(kubelet)) {
		snprintf(cause, clen, "Image \"%s\" has no variant for the "
		    "node's platform%s%s.", img, node_arch ? " linux/" : "",
		    node_arch ? node_arch : "");
		return PULL_NO_PLATFORM;
	}
	if (has(kubelet, "401 Unauthorized") || has(kubelet, "unauthorized") ||
	    has(kubelet, "403 Forbidden") || has(kubelet, "denied") ||
	    has(kubelet, "authorization failed") ||
	    has(kubelet, "may require authorization")) {
		snprintf(cause, clen, "The registry refuses to serve \"%s\": "
		    "the repository does not exist or needs credentials the "
		    "pod lacks (an imagePullSecret; remedy never reads "
		    "Secrets).", img);
		return PULL_UNAUTHORIZED;
	}
	if (has(kubelet, "no such host") || has(kubelet, "server "
	    "misbehaving") || has(kubelet, "connection refused") ||
	    has(kubelet, "i/o timeout") || has(kubelet, "TLS handshake") ||
	    has(kubelet, "network is unreachable") || has(kubelet,
	    "dial tcp") || (f != NULL && f->asked &&
	    (f->tags_status == REG_UNREACHABLE || f->tags_status ==
	    REG_TIMEOUT))) {
		snprintf(cause, clen, "The registry of \"%s\" cannot be "
		    "reached (DNS, network or TLS) from the node%s.", img,
		    f != NULL && f->asked && (f->tags_status ==
		    REG_UNREACHABLE || f->tags_status == REG_TIMEOUT) ?
		    " nor from remedyd" : "");
		return PULL_UNREACHABLE;
	}
	if (has(kubelet, "not found") || has(kubelet, "manifest unknown") ||
	    has(kubelet, "NotFound")) {
		snprintf(cause, clen, "The registry has no image \"%s\" "
		    "(the kubelet's pull ended in \"not found\").", img);
		return PULL_TAG_NOT_FOUND;
	}
	return PULL_UNKNOWN;
}
