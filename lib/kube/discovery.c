/*
 * discovery.c - see discovery.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/hmap.h"
#include "base/log.h"
#include "kube/client.h"
#include "kube/discovery.h"

#define DISC_MAX_NAME	253	/* a DNS subdomain: group and resource */
#define DISC_KEY	(2 * DISC_MAX_NAME + 64)
#define DISC_MARK	((void *)1)	/* value of a set's members */

void
discovery_set_init(struct discovery_set *s)
{
	hmap_init(&s->gvs);
	hmap_init(&s->res);
}

void
discovery_set_clear(struct discovery_set *s)
{
	hmap_clear(&s->gvs);
	hmap_clear(&s->res);
}

/* A name the server may use: printable, no '/' unless slash, bounded. */
static int
disc_name_ok(const char *s, int slash)
{
	size_t n = 0;

	if (s == NULL || *s == '\0')
		return 0;
	for (; *s != '\0'; s++, n++)
		if (n >= DISC_MAX_NAME || (unsigned char)*s <= ' ' ||
		    (unsigned char)*s >= 0x7f || (*s == '/' && !slash))
			return 0;
	return 1;
}

static int
disc_add(struct hmap *m, const char *key, char *err, size_t errlen)
{
	if (hmap_put(m, key, DISC_MARK, NULL) == -1) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

static int
disc_versions(struct discovery_set *s, json_t *doc, char *err, size_t errlen)
{
	json_t	*v, *a = json_object_get(doc, "versions");
	size_t	 i;

	if (!json_is_array(a)) {
		snprintf(err, errlen, "APIVersions: versions is not an array");
		return -1;
	}
	json_array_foreach(a, i, v) {
		if (!disc_name_ok(json_string_value(v), 0)) {
			snprintf(err, errlen, "APIVersions: versions[%zu] is "
			    "not a version name", i);
			return -1;
		}
		if (disc_add(&s->gvs, json_string_value(v), err, errlen) == -1)
			return -1;
	}
	return 0;
}

static int
disc_groups(struct discovery_set *s, json_t *doc, char *err, size_t errlen)
{
	json_t		*a = json_object_get(doc, "groups"), *g, *vs, *v;
	const char	*gv;
	size_t		 i, j;

	if (!json_is_array(a)) {
		snprintf(err, errlen, "APIGroupList: groups is not an array");
		return -1;
	}
	json_array_foreach(a, i, g) {
		vs = json_object_get(g, "versions");
		if (!json_is_array(vs)) {
			snprintf(err, errlen, "APIGroupList: groups[%zu]."
			    "versions is not an array", i);
			return -1;
		}
		json_array_foreach(vs, j, v) {
			gv = json_string_value(json_object_get(v,
			    "groupVersion"));
			if (!disc_name_ok(gv, 1) || strchr(gv, '/') == NULL) {
				snprintf(err, errlen, "APIGroupList: groups"
				    "[%zu].versions[%zu].groupVersion is not "
				    "GROUP/VERSION", i, j);
				return -1;
			}
			if (disc_add(&s->gvs, gv, err, errlen) == -1)
				return -1;
		}
	}
	return 0;
}

static int
disc_has_verb(json_t *verbs, const char *verb)
{
	json_t	*v;
	size_t	 i;

	json_array_foreach(verbs, i, v)
		if (json_is_string(v) && strcmp(json_string_value(v), verb) ==
		    0)
			return 1;
	return 0;
}

static int
disc_resources(struct discovery_set *s, json_t *doc, const char *want,
    char *err, size_t errlen)
{
	json_t		*a = json_object_get(doc, "resources"), *r, *verbs;
	const char	*gv = json_string_value(json_object_get(doc,
			    "groupVersion")), *name;
	char		 key[DISC_KEY];
	size_t		 i;

	if (!disc_name_ok(gv, 1)) {
		snprintf(err, errlen, "APIResourceList: groupVersion is not a "
		    "group version");
		return -1;
	}
	if (want != NULL && strcmp(gv, want) != 0) {
		snprintf(err, errlen, "APIResourceList: groupVersion is "
		    "\"%s\", asked for \"%s\"", gv, want);
		return -1;
	}
	if (!json_is_array(a)) {
		snprintf(err, errlen, "APIResourceList %s: resources is not an "
		    "array", gv);
		return -1;
	}
	json_array_foreach(a, i, r) {
		name = json_string_value(json_object_get(r, "name"));
		verbs = json_object_get(r, "verbs");
		if (!disc_name_ok(name, 1) || !json_is_array(verbs)) {
			snprintf(err, errlen, "APIResourceList %s: resources"
			    "[%zu] has no name or no verbs array", gv, i);
			return -1;
		}
		if (strchr(name, '/') != NULL)
			continue;	/* a subresource (pods/log) */
		if (!disc_has_verb(verbs, "list") ||
		    !disc_has_verb(verbs, "watch"))
			continue;
		snprintf(key, sizeof(key), "%s/%s", gv, name);
		if (disc_add(&s->res, key, err, errlen) == -1)
			return -1;
	}
	return 0;
}

int
discovery_parse(struct discovery_set *s, json_t *doc, const char *gv,
    char *err, size_t errlen)
{
	const char *kind = json_string_value(json_object_get(doc, "kind"));

	if (!json_is_object(doc) || kind == NULL) {
		snprintf(err, errlen, "discovery document has no kind");
		return -1;
	}
	if (strcmp(kind, "APIVersions") == 0)
		return disc_versions(s, doc, err, errlen);
	if (strcmp(kind, "APIGroupList") == 0)
		return disc_groups(s, doc, err, errlen);
	if (strcmp(kind, "APIResourceList") == 0)
		return disc_resources(s, doc, gv, err, errlen);
	snprintf(err, errlen, "discovery document of kind \"%.64s\" (expected "
	    "APIVersions, APIGroupList or APIResourceList)", kind);
	return -1;
}

int
discovery_has_gv(const struct discovery_set *s, const char *gv)
{
	return hmap_get(&s->gvs, gv) != NULL;
}

int
discovery_has(const struct discovery_set *s, const char *gv,
    const char *resource)
{
	char key[DISC_KEY];
	int n;

	n = snprintf(key, sizeof(key), "%s/%s", gv, resource);
	if (n < 0 || (size_t)n >= sizeof(key))
		return 0;
	return hmap_get(&s->res, key) != NULL;
}

int
discovery_gv_of_path(const char *p, char *buf, size_t len)
{
	int n;

	if (strncmp(p, "/apis/", 6) == 0)
		p += 6;
	else if (strncmp(p, "/api/", 5) == 0)
		p += 5;
	else
		return -1;
	n = snprintf(buf, len, "%s", p);
	return n <= 0 || (size_t)n >= len ? -1 : 0;
}

const struct informer_type *
discovery_choose(const struct discovery_set *s,
    const struct informer_type *const *v)
{
	char gv[DISC_KEY];

	for (; *v != NULL; v++)
		if (discovery_gv_of_path((*v)->group_path, gv, sizeof(gv)) ==
		    0 && discovery_has(s, gv, (*v)->resource))
			return *v;
	return NULL;
}

/* --- the rounds --- */

struct disc_slot {
	struct discovery	*d;
	struct kube_call	*call;
	char			*gv;		/* NULL: /api or /apis */
};

struct discovery {
	struct kube_client	*kc;
	discovery_cb		 cb;
	void			*arg;
	char			*gvs[DISCOVERY_MAX_GV];
	size_t			 ngvs;
	struct disc_slot	 slot[DISCOVERY_MAX_GV + 2];
	unsigned		 pending;
	int			 running;
	int			 roots;		/* /api and /apis answered */
	struct discovery_set	 set;
	char			 err[512];
};

static void	disc_done(const struct kube_resp *, void *);

static void
disc_get(struct discovery *d, size_t i, const char *path)
{
	struct disc_slot *sl = &d->slot[i];

	sl->d = d;
	if ((sl->call = kube_get(d->kc, path, disc_done, sl)) == NULL) {
		if (d->err[0] == '\0')
			snprintf(d->err, sizeof(d->err), "GET %s: cannot "
			    "start the request", path);
		return;
	}
	kube_call_set_lane(sl->call, KUBE_LANE_DISCOVERY);
	d->pending++;
}

/* /api and /apis known: ask for the resources of the wanted group
 * versions the server serves. */
static void
disc_second(struct discovery *d)
{
	char	path[DISC_KEY];
	size_t	i;

	for (i = 0; i < d->ngvs; i++) {
		if (!discovery_has_gv(&d->set, d->gvs[i]))
			continue;
		snprintf(path, sizeof(path), "%s/%s", strchr(d->gvs[i], '/') ?
		    "/apis" : "/api", d->gvs[i]);
		d->slot[i + 2].gv = d->gvs[i];
		disc_get(d, i + 2, path);
	}
}

static void
disc_finish(struct discovery *d)
{
	d->running = 0;
	if (d->err[0] != '\0')
		d->cb(d, 0, NULL, d->err, d->arg);
	else
		d->cb(d, 1, &d->set, NULL, d->arg);
	discovery_set_clear(&d->set);
}

static void
disc_done(const struct kube_resp *r, void *arg)
{
	struct disc_slot	*sl = arg;
	struct discovery	*d = sl->d;
	char			 err[256];

	sl->call = NULL;
	d->pending--;
	if (sl->gv != NULL && r->status == 404)
		;	/* gone since /apis listed it: not served */
	else if (r->status != 200) {
		if (d->err[0] == '\0')
			snprintf(d->err, sizeof(d->err), "GET %s: %s%ld%s%s",
			    sl->gv ? sl->gv : sl == &d->slot[0] ? "/api" :
			    "/apis", r->status ? "HTTP " : "", r->status,
			    r->message[0] ? ": " : "", r->message);
	} else if (r->body == NULL || discovery_parse(&d->set, r->body,
	    sl->gv, err, sizeof(err)) == -1) {
		if (d->err[0] == '\0')
			snprintf(d->err, sizeof(d->err), "%s: %s", sl->gv ?
			    sl->gv : sl == &d->slot[0] ? "/api" : "/apis",
			    r->body == NULL ? "answer is not JSON" : err);
	} else if (sl->gv == NULL)
		d->roots++;
	sl->gv = NULL;
	if (d->pending > 0)
		return;
	if (d->roots == 2 && d->err[0] == '\0') {
		d->roots = 0;
		disc_second(d);
		if (d->pending > 0)
			return;
	}
	disc_finish(d);
}

struct discovery *
discovery_new(struct kube_client *kc, char *const *gvs, size_t ngvs,
    discovery_cb cb, void *arg)
{
	struct discovery	*d;
	size_t			 i;

	if (ngvs > DISCOVERY_MAX_GV || (d = calloc(1, sizeof(*d))) == NULL)
		return NULL;
	d->kc = kc;
	d->cb = cb;
	d->arg = arg;
	discovery_set_init(&d->set);
	for (i = 0; i < ngvs; i++) {
		if ((d->gvs[i] = strdup(gvs[i])) == NULL) {
			discovery_free(d);
			return NULL;
		}
		d->ngvs++;
	}
	return d;
}

void
discovery_run(struct discovery *d)
{
	if (d->running)
		return;
	d->running = 1;
	d->roots = 0;
	d->err[0] = '\0';
	discovery_set_clear(&d->set);
	d->slot[0].gv = d->slot[1].gv = NULL;
	disc_get(d, 0, "/api");
	disc_get(d, 1, "/apis");
	if (d->pending == 0)
		disc_finish(d);	/* neither could start: d->err says so */
}

int
discovery_running(const struct discovery *d)
{
	return d->running;
}

void
discovery_free(struct discovery *d)
{
	size_t i;

	if (d == NULL)
		return;
	for (i = 0; i < DISCOVERY_MAX_GV + 2; i++)
		if (d->slot[i].call != NULL)
			kube_cancel(d->slot[i].call);
	for (i = 0; i < d->ngvs; i++)
		free(d->gvs[i]);
	discovery_set_clear(&d->set);
	free(d);
}
