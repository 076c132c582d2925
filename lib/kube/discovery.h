/*
 * discovery.h - which group versions and resources the API server serves
 * (GET /api, /apis and /apis/GROUP/VERSION, kubectl's discovery), so that
 * informers ask only for what is there.
 *
 * A struct discovery_set holds what one round found: the group versions
 * ("v1", "batch/v1beta1") and, for the group versions the caller asked
 * about, the resources that may be both listed and watched.  The parser
 * takes the documents the server sends (APIVersions, APIGroupList,
 * APIResourceList) and rejects anything else with a message naming the
 * field; it never trusts a document's shape.
 *
 * struct discovery runs one round at a time on a kube client, in the
 * KUBE_LANE_DISCOVERY lane: /api and /apis, then the resource list of
 * every asked-for group version the server lists.  A group version that
 * answers 404 between the two steps counts as not served; any other
 * failure fails the round (the caller keeps what it knew).
 */
#ifndef REMEDY_KUBE_DISCOVERY_H
#define REMEDY_KUBE_DISCOVERY_H

#include <stddef.h>

#include <jansson.h>

#include "base/hmap.h"
#include "kube/client.h"
#include "kube/informer.h"

#define DISCOVERY_MAX_GV	64	/* group versions asked about */

struct discovery_set {
	struct hmap	gvs;		/* "batch/v1beta1" -> set */
	struct hmap	res;		/* "batch/v1beta1/cronjobs" -> set */
};

void	discovery_set_init(struct discovery_set *);
void	discovery_set_clear(struct discovery_set *);
/*
 * Add what doc says is served.  doc is an APIVersions (/api), an
 * APIGroupList (/apis) or an APIResourceList (/api/v1, /apis/G/V) whose
 * groupVersion must be gv (gv NULL: any).  0, or -1 with a message in err
 * naming the field at fault (or out of memory).
 */
int	discovery_parse(struct discovery_set *, json_t *doc, const char *gv,
	    char *err, size_t errlen);
/* The group version is served (listed by /api or /apis). */
int	discovery_has_gv(const struct discovery_set *, const char *gv);
/* The resource may be listed and watched at gv. */
int	discovery_has(const struct discovery_set *, const char *gv,
	    const char *resource);
/* The group version of an informer type's group_path ("/api/v1" -> "v1",
 * "/apis/batch/v1beta1" -> "batch/v1beta1"); -1 if it does not fit or
 * has another shape. */
int	discovery_gv_of_path(const char *group_path, char *buf, size_t len);

/* The first of the NULL-ended versions (informer types, preferred first)
 * whose resource the set says is served; NULL when none is. */
const struct informer_type *discovery_choose(const struct discovery_set *,
	    const struct informer_type *const *versions);

struct discovery;
/* ok 1: set holds the round's findings (valid during the callback); ok 0:
 * err says what failed. */
typedef void	(*discovery_cb)(struct discovery *, int ok,
		    const struct discovery_set *set, const char *err,
		    void *arg);

/* gvs: the group versions whose resources matter (copied), at most
 * DISCOVERY_MAX_GV.  NULL when out of memory or too many. */
struct discovery *discovery_new(struct kube_client *, char *const *gvs,
		    size_t ngvs, discovery_cb cb, void *arg);
/* Start a round; one already running goes on (no second one). */
void		 discovery_run(struct discovery *);
int		 discovery_running(const struct discovery *);
/* Cancel what is in flight (no callback) and free. */
void		 discovery_free(struct discovery *);

#endif
