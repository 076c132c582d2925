/*
 * incident.c - see incident.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/incident.h"

void
incidents_init(struct incidents *is)
{
	hmap_init(&is->by_fp);
	hmap_init(&is->obj_fp);
}

static void
free_values(struct hmap *h)
{
	const char	*k;
	void		*v;
	size_t		 pos = 0;

	while (hmap_next(h, &pos, &k, &v))
		free(v);
	hmap_clear(h);
}

static void
incident_free(struct incident *inc)
{
	free_values(&inc->pods);
	free_values(&inc->others);
	free(inc->fingerprint);
	free(inc->analyzer);
	free(inc->reason);
	free(inc->kind);
	free(inc->ns);
	free(inc->name);
	free(inc->uid);
	free(inc->image);
	free(inc->detail);
	free(inc);
}

void
incidents_clear(struct incidents *is)
{
	const char	*k;
	void		*v;
	size_t		 pos = 0;

	while (hmap_next(&is->by_fp, &pos, &k, &v))
		incident_free(v);
	hmap_clear(&is->by_fp);
	free_values(&is->obj_fp);
}

void
incident_fingerprint(char *buf, size_t len, const char *analyzer,
    const struct root_owner *root, const char *reason)
{
	snprintf(buf, len, "%s/%s/%s/%s/%s", analyzer, root->ns, root->kind,
	    root->name, reason);
}

struct incident *
incidents_get(struct incidents *is, const char *fp)
{
	return hmap_get(&is->by_fp, fp);
}

int
incidents_next(struct incidents *is, size_t *pos, struct incident **inc)
{
	const char	*k;
	void		*v;

	if (!hmap_next(&is->by_fp, pos, &k, &v))
		return 0;
	*inc = v;
	return 1;
}

size_t
incident_pods(const struct incident *inc)
{
	return inc->pods.len;
}

size_t
incident_objects(const struct incident *inc)
{
	return inc->pods.len + inc->others.len;
}

int
incidents_has_cause(struct incidents *is, const struct incident *inc)
{
	struct incident	*o;
	size_t		 pos = 0;

	/*
	 * A stored cause stays the cause while it is empty and not yet
	 * resolved: a crash-looping pod is Running for an instant between
	 * its back-offs, and its Deployment's unavailable replicas are no
	 * new incident for that.
	 */
	while (incidents_next(is, &pos, &o))
		if (o != inc && !o->symptom &&
		    (incident_objects(o) > 0 || o->store_id != 0) &&
		    strcmp(o->ns, inc->ns) == 0 &&
		    strcmp(o->kind, inc->kind) == 0 &&
		    strcmp(o->name, inc->name) == 0)
			return 1;
	return 0;
}

/* The member table and key of an object within an incident. */
static struct hmap *
members(struct incident *inc, const char *kind, const char *objkey,
    const char **key)
{
	if (strcmp(kind, "Pod") == 0) {
		*key = strchr(objkey, '/') + 1;	/* "ns/name" */
		return &inc->pods;
	}
	*key = objkey;
	return &inc->others;
}

/* Take the object out of the incident it is in, if any. */
static void
leave(struct incidents *is, const char *kind, const char *objkey,
    int64_t now)
{
	struct incident	*inc;
	struct hmap	*mem;
	const char	*key;
	char		*fp;

	if ((fp = hmap_del(&is->obj_fp, objkey)) == NULL)
		return;
	if ((inc = hmap_get(&is->by_fp, fp)) != NULL) {
		mem = members(inc, kind, objkey, &key);
		free(hmap_del(mem, key));
		inc->last_change = now;
		inc->dirty = 1;
		if (incident_objects(inc) == 0)
			inc->healthy_since = now;
	}
	free(fp);
}

static struct incident *
incident_alloc(const char *fp, const char *analyzer, const char *reason,
    const struct root_owner *root, const char *image, int64_t now)
{
	struct incident *inc;

	if ((inc = calloc(1, sizeof(*inc))) == NULL)
		return NULL;
	hmap_init(&inc->pods);
	hmap_init(&inc->others);
	inc->fingerprint = strdup(fp);
	inc->analyzer = strdup(analyzer);
	inc->reason = strdup(reason);
	inc->kind = strdup(root->kind);
	inc->ns = strdup(root->ns ? root->ns : "");
	inc->name = strdup(root->name);
	inc->uid = strdup(root->uid ? root->uid : "");
	inc->image = strdup(image ? image : "");
	inc->detail = strdup("");
	inc->first_seen = inc->last_change = now;
	if (!inc->fingerprint || !inc->analyzer || !inc->reason || !inc->kind ||
	    !inc->ns || !inc->name || !inc->uid || !inc->image || !inc->detail) {
		incident_free(inc);
		return NULL;
	}
	return inc;
}

struct incident *
incidents_add_known(struct incidents *is, const char *fp,
    const char *analyzer, const char *reason, const struct root_owner *root,
    int64_t store_id, int diagnosed, int64_t now)
{
	struct incident *inc;

	if ((inc = hmap_get(&is->by_fp, fp)) != NULL)
		return inc;
	if ((inc = incident_alloc(fp, analyzer, reason, root, "", now)) ==
	    NULL)
		return NULL;
	inc->store_id = store_id;
	inc->diagnosed = diagnosed;
	if (hmap_put(&is->by_fp, fp, inc, NULL) == -1) {
		incident_free(inc);
		return NULL;
	}
	return inc;
}

int
incidents_object(struct incidents *is, const char *kind, const char *ns,
    const char *name, const struct finding *f, const struct root_owner *root,
    int64_t now)
{
	struct incident	*inc;
	struct hmap	*mem;
	const char	*key;
	char		 objkey[768], fp[1024], *cur, *detail = NULL;
	char		*fpcopy = NULL;
	void		*old;

	snprintf(objkey, sizeof(objkey), "%s/%s/%s", kind, ns ? ns : "", name);
	if (f == NULL) {
		leave(is, kind, objkey, now);
		return 0;
	}
	incident_fingerprint(fp, sizeof(fp), f->analyzer, root, f->reason);
	cur = hmap_get(&is->obj_fp, objkey);
	if (cur == NULL || strcmp(cur, fp) != 0)
		leave(is, kind, objkey, now);
	if ((inc = hmap_get(&is->by_fp, fp)) == NULL) {
		if ((inc = incident_alloc(fp, f->analyzer, f->reason, root,
		    f->image, now)) == NULL)
			return -1;
		if (hmap_put(&is->by_fp, fp, inc, NULL) == -1) {
			incident_free(inc);
			return -1;
		}
	}
	inc->symptom = f->symptom;
	if (*inc->image == '\0' && *f->image != '\0') {
		char *img = strdup(f->image);

		if (img != NULL) {
			free(inc->image);
			inc->image = img;
		}
	}
	if (strcmp(inc->detail, f->detail) != 0 &&
	    (detail = strdup(f->detail)) != NULL) {
		free(inc->detail);
		inc->detail = detail;
	}
	if ((detail = strdup(f->detail)) == NULL)
		return -1;
	mem = members(inc, kind, objkey, &key);
	if (incident_objects(inc) == 0 && inc->healthy_since != 0) {
		inc->flaps++;	/* broke again before it was resolved */
		inc->dirty = 1;
	}
	if (hmap_put(mem, key, detail, &old) == -1) {
		free(detail);
		return -1;
	}
	inc->healthy_since = 0;
	if (old == NULL) {
		inc->last_change = now;
		inc->dirty = 1;
	} else if (strcmp(old, detail) != 0)
		inc->dirty = 1;
	free(old);
	if (hmap_get(&is->obj_fp, objkey) == NULL) {
		if ((fpcopy = strdup(fp)) == NULL ||
		    hmap_put(&is->obj_fp, objkey, fpcopy, NULL) == -1) {
			free(fpcopy);
			free(hmap_del(mem, key));
			return -1;
		}
	}
	return 0;
}

int
incidents_pod(struct incidents *is, const char *ns, const char *name,
    const struct finding *f, const struct root_owner *root, int64_t now)
{
	return incidents_object(is, "Pod", ns, name, f, root, now);
}

void
incidents_drop(struct incidents *is, struct incident *inc)
{
	const char	*k;
	void		*v;
	size_t		 pos = 0;
	char		 objkey[768];

	while (hmap_next(&inc->pods, &pos, &k, &v)) {
		snprintf(objkey, sizeof(objkey), "Pod/%s", k);
		free(hmap_del(&is->obj_fp, objkey));
	}
	pos = 0;
	while (hmap_next(&inc->others, &pos, &k, &v))
		free(hmap_del(&is->obj_fp, k));
	hmap_del(&is->by_fp, inc->fingerprint);
	incident_free(inc);
}
