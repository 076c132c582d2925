/*
 * pull.h - why an image cannot be pulled, from the kubelet's words and the
 * registry's answers, and which existing tag is closest to a missing one.
 *
 * struct pull_facts is what the daemon learnt about one failing container
 * image: the reference as parsed, the registry's tags list and its answer
 * for the manifest.  pull_classify() turns facts plus the kubelet's
 * message into one of the classes below, a root-cause sentence and
 * evidence lines.  tag_choose() ranks a repository's tags against a tag
 * that does not exist.  Both are pure: no I/O.
 */
#ifndef REMEDY_REGISTRY_PULL_H
#define REMEDY_REGISTRY_PULL_H

#include <stddef.h>

#include <jansson.h>

#include "registry/ref.h"
#include "registry/registry.h"

enum pull_class {
	PULL_UNKNOWN = 0,
	PULL_TAG_NOT_FOUND,
	PULL_REPO_NOT_FOUND,
	PULL_UNAUTHORIZED,
	PULL_UNREACHABLE,
	PULL_NO_PLATFORM,
	PULL_INVALID_REFERENCE,
};

/* Manifests read when looking for a tag with the node's platform: the
 * closest tag and its runners (tag_choose), within the incident's
 * request budget. */
#define PULL_MAX_PLATFORM_TRIES	4

struct pull_facts {
	char			 image[512];	/* as in the pod spec */
	char			 container[128];
	int			 init;		/* an initContainer */
	int			 index;		/* in (init)containers[] */
	int			 ref_ok;
	struct imgref		 ref;
	char			 ref_err[256];
	int			 asked;		/* the registry was asked */
	/* GET tags/list */
	enum reg_status		 tags_status;
	char			 tags_msg[512];
	json_t			*tags;		/* owned, or NULL */
	int			 tags_truncated;
	/* HEAD/GET manifest of the image */
	enum reg_status		 man_status;
	char			 man_msg[512];
	char			 digest[IMGREF_DIGEST_MAX + 1];
	struct reg_manifest	 manifest;
	char			 registry_url[REG_URL_MAX]; /* where it asked */
	/* the closest existing tag (tag_choose), asked about by itself */
	char			 cand_tag[IMGREF_TAG_MAX + 1];
	enum reg_status		 cand_status;
	char			 cand_digest[IMGREF_DIGEST_MAX + 1];
	int			 pin_digest;	/* registries.pin_digest */
	char			 node_arch[32];	/* the node's architecture
						 * (Node status.nodeInfo), or
						 * "" when unknown */
	/* the image lacks linux/node_arch: the closest tags (tag_choose,
	 * acceptable ones only) whose manifests were read, in order */
	int			 kubelet_no_platform; /* the kubelet said so */
	int			 plat_searched;
	struct plat_try {
		char		 tag[IMGREF_TAG_MAX + 1];
		int		 distance;
		enum reg_status	 status;
		int		 is_index;
		int		 has;	/* lists linux/node_arch */
		char		 digest[IMGREF_DIGEST_MAX + 1];
		char		 platforms[160]; /* "linux/amd64, ..." */
	}			 plat_tried[PULL_MAX_PLATFORM_TRIES];
	size_t			 nplat_tried;
	int			 plat_found;	/* index in plat_tried, or -1 */
};

void		 pull_facts_clear(struct pull_facts *);
/* 1 for the kubelet reasons of a failed pull (ErrImagePull,
 * ImagePullBackOff, InvalidImageName, RegistryUnavailable). */
int		 pull_reason(const char *);
/*
 * The first container of pod (a Pod object) that waits on an image pull,
 * initContainers first: fills f's image (as the spec names it),
 * container, init and index, and copies the kubelet's waiting message to
 * kubelet.  Returns 1, or 0 when no container waits on a pull.
 */
int		 pull_target(json_t *pod, struct pull_facts *f, char *kubelet,
		    size_t klen);
/* The next image a JSON Patch writes from op *i on (an add or replace of
 * a path ending in /image with a string value), or NULL. */
const char	*pull_patch_image(json_t *patch, size_t *i);
/*
 * Every container image a JSON Patch writes: each string an "add" or
 * "replace" puts at .../containers/N/image (or initContainers,
 * ephemeralContainers), as the value itself or anywhere inside a larger
 * value (a whole container, a containers list, a pod template), so a
 * patch cannot slip an image past a check by writing its parent.  A new
 * array of the strings, each once, in patch order; NULL on ENOMEM.
 */
json_t		*pull_patch_images(json_t *patch);
const char	*pull_class_name(enum pull_class);

/*
 * Classify.  kubelet: the kubelet's message (event or waiting message),
 * may be NULL; f may be NULL (registry not asked); node_arch: the node's
 * status.nodeInfo.architecture, may be NULL.  Writes one or two sentences
 * to cause and appends evidence lines ("registry: ...") to evidence
 * (may be NULL).  Never reads or names a Secret.
 */
enum pull_class	 pull_classify(const char *kubelet, const char *waiting_reason,
		    const struct pull_facts *f, const char *node_arch,
		    char *cause, size_t clen, json_t *evidence);

#define TAG_MAX_RUNNERS	3
#if TAG_MAX_RUNNERS + 1 > PULL_MAX_PLATFORM_TRIES
#error "PULL_MAX_PLATFORM_TRIES must hold the best tag and its runners"
#endif

struct tag_candidate {
	char	tag[IMGREF_TAG_MAX + 1];
	int	distance;	/* Levenshtein distance to the missing tag */
	int	prefix;		/* the missing tag is this one + "-..." etc */
};

struct tag_choice {
	int			 found;		/* best passes the threshold */
	struct tag_candidate	 best;
	struct tag_candidate	 runners[TAG_MAX_RUNNERS];
	size_t			 nrunners;
	size_t			 examined;
};

/*
 * The existing tag closest to want among tags (a JSON array of strings).
 * Candidates rank by: being a prefix of want that ends where want has a
 * '-', '.' or '_' (1.25 for 1.25-typo), then edit distance, then the
 * higher version.  The best is accepted (found = 1) when it is such a
 * prefix or within edit distance max(1, strlen(want) / 4).  "latest" is
 * never proposed for a tag with a digit (a pinned version does not become
 * a moving one).
 */
void	tag_choose(const char *want, json_t *tags, struct tag_choice *);
/* Would tag_choose accept c as the replacement for want (a prefix as
 * above, or within the edit distance)?  1 or 0. */
int	tag_acceptable(const char *want, const struct tag_candidate *c);
/* 1 when the manifest is an index listing os/arch. */
int	pull_has_platform(const struct reg_manifest *, const char *os,
	    const char *arch);
/* "linux/amd64, linux/arm64/v8" for an index's platforms, "" for none. */
void	pull_platforms(const struct reg_manifest *, char *buf, size_t len);
/* 1 when the kubelet's message says the image has no variant for the
 * node's platform (containerd, CRI-O, docker wording). */
int	pull_kubelet_no_platform(const char *kubelet);
/* Levenshtein distance of two strings of at most 128 bytes (-1 beyond). */
int	tag_distance(const char *a, const char *b);
/* Version order: <0, 0, >0 like strcmp, digit runs compared as numbers. */
int	tag_version_cmp(const char *a, const char *b);

#endif
