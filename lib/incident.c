/*
 * incident.c - see incident.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "incident.h"

void
incidents_init(struct incidents *is)
{
	hmap_init(&is->by_fp);
	hmap_init(&is->pod_fp);
}

static void
incident_free(struct incident *inc)
{
	const char	*k;
	void		*v;
	size_t		 pos = 0;

	while (hmap_next(&inc->pods, &pos, &k, &v))
		free(v);
	hmap_clear(&inc->pods);
	free(inc->fingerprint);
	free(inc->reason);
	free(inc->kind);
	free(inc->ns);
	free(inc->name);
	free(inc->uid);
	free(inc->image);
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
	pos = 0;
	while (hmap_next(&is->pod_fp, &pos, &k, &v))
		free(v);
	hmap_clear(&is->by_fp);
	hmap_clear(&is->pod_fp);
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

/* Take the pod out of the incident it is in, if any. */
static void
leave(struct incidents *is, const char *podkey, int64_t now)
{
	struct incident	*inc;
	char		*fp;

	if ((fp = hmap_del(&is->pod_fp, podkey)) == NULL)
		return;
	if ((inc = hmap_get(&is->by_fp, fp)) != NULL) {
		free(hmap_del(&inc->pods, podkey));
		inc->last_change = now;
	}
	free(fp);
}

static struct incident *
incident_new(const char *fp, const struct finding *f,
    const struct root_owner *root, int64_t now)
{
	struct incident *inc;

	if ((inc = calloc(1, sizeof(*inc))) == NULL)
		return NULL;
	hmap_init(&inc->pods);
	inc->analyzer = f->analyzer;
	inc->fingerprint = strdup(fp);
	inc->reason = strdup(f->reason);
	inc->kind = strdup(root->kind);
	inc->ns = strdup(root->ns);
	inc->name = strdup(root->name);
	inc->uid = strdup(root->uid ? root->uid : "");
	inc->image = strdup(f->image);
	inc->first_seen = inc->last_change = now;
	if (!inc->fingerprint || !inc->reason || !inc->kind || !inc->ns ||
	    !inc->name || !inc->uid || !inc->image) {
		incident_free(inc);
		return NULL;
	}
	return inc;
}

int
incidents_pod(struct incidents *is, const char *ns, const char *name,
    const struct finding *f, const struct root_owner *root, int64_t now)
{
	struct incident	*inc;
	char		 podkey[512], fp[1024], *cur, *detail = NULL;
	char		*fpcopy = NULL;
	void		*old;

	snprintf(podkey, sizeof(podkey), "%s/%s", ns, name);
	if (f == NULL) {
		leave(is, podkey, now);
		return 0;
	}
	incident_fingerprint(fp, sizeof(fp), f->analyzer, root, f->reason);
	cur = hmap_get(&is->pod_fp, podkey);
	if (cur == NULL || strcmp(cur, fp) != 0)
		leave(is, podkey, now);
	if ((inc = hmap_get(&is->by_fp, fp)) == NULL) {
		if ((inc = incident_new(fp, f, root, now)) == NULL)
			return -1;
		if (hmap_put(&is->by_fp, fp, inc, NULL) == -1) {
			incident_free(inc);
			return -1;
		}
	}
	if ((detail = strdup(f->detail)) == NULL)
		return -1;
	if (hmap_put(&inc->pods, podkey, detail, &old) == -1) {
		free(detail);
		return -1;
	}
	if (old == NULL)
		inc->last_change = now;
	free(old);
	if (hmap_get(&is->pod_fp, podkey) == NULL) {
		if ((fpcopy = strdup(fp)) == NULL ||
		    hmap_put(&is->pod_fp, podkey, fpcopy, NULL) == -1) {
			free(fpcopy);
			free(hmap_del(&inc->pods, podkey));
			return -1;
		}
	}
	return 0;
}

void
incidents_drop(struct incidents *is, struct incident *inc)
{
	const char	*k;
	void		*v;
	size_t		 pos = 0;

	while (hmap_next(&inc->pods, &pos, &k, &v))
		free(hmap_del(&is->pod_fp, k));
	hmap_del(&is->by_fp, inc->fingerprint);
	incident_free(inc);
}
