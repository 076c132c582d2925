/*
 * image.c - the image-from-the-registry fix family: a container whose tag
 * does not exist gets the closest tag that does, as the registry listed it
 * (registry/pull.h tag_choose), or no patch and the candidates; a
 * container whose image has no variant for its node's platform gets the
 * closest tag whose index lists that platform, or no patch and the
 * platforms examined.
 *
 *   Pod                          spec.(init)containers[i].image, in place
 *                                (the kubelet pulls the new image)
 *   Deployment, StatefulSet,     the revision rollback first; only when it
 *   DaemonSet                    finds no usable revision, the pod
 *                                template's image
 *   CronJob                      spec.jobTemplate's pod template
 *
 * The builder trusts only the registry's answers (in->pull) and the object
 * as just read (in->owner): the value replaced is tested to be the image
 * the registry was asked about.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "action/remedies/remedies.h"
#include "base/util.h"
#include "registry/pull.h"

/* Where a kind keeps its pod spec, as a JSON Pointer prefix and a
 * dotted path for json_at(). */
static const struct {
	const char	*kind;
	const char	*pointer;
	const char	*dotted;
} pod_specs[] = {
	{ "Pod",	 "/spec",			"spec" },
	{ "Deployment",	 "/spec/template/spec",		"spec.template.spec" },
	{ "StatefulSet", "/spec/template/spec",		"spec.template.spec" },
	{ "DaemonSet",	 "/spec/template/spec",		"spec.template.spec" },
	{ "CronJob",	 "/spec/jobTemplate/spec/template/spec",
	    "spec.jobTemplate.spec.template.spec" },
};

/* snprintf that may cut: summaries and causes are bounded text. */
static void
say(char *buf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
say(char *buf, size_t len, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}

static void
list_candidates(const struct tag_choice *c, char *buf, size_t len)
{
	size_t	i, n = 0;

	buf[0] = '\0';
	if (c->best.tag[0] != '\0')
		n += (size_t)snprintf(buf, len, "%s (distance %d%s)",
		    c->best.tag, c->best.distance, c->best.prefix ?
		    ", prefix" : "");
	for (i = 0; i < c->nrunners && n < len; i++)
		n += (size_t)snprintf(buf + n, len - n, ", %s (distance %d%s)",
		    c->runners[i].tag, c->runners[i].distance,
		    c->runners[i].prefix ? ", prefix" : "");
}

/*
 * Patch in->owner's container (the one the registry was asked about) to
 * the image as the user spelt it with the tag replaced by tag (and
 * "@digest" appended when digest is not NULL); the new image goes to
 * newimg.  Returns 1 with p->patch set, 0 with the reason in p->summary
 * (no patch), -1 out of memory.
 */
static int
set_tag(const struct diag_input *in, struct proposal *p,
    const char *pointer, const char *dotted, const char *tag,
    const char *digest, char *newimg, size_t nlen)
{
	const struct incident	*inc = in->inc;
	const struct pull_facts	*f = in->pull;
	const char		*cur;
	char			 path[256], dot[128];
	size_t			 il, tl;

	/* the user's spelling with the tag replaced: IMAGE = NAME ":" TAG */
	il = strlen(f->image);
	tl = strlen(f->ref.tag);
	if (il <= tl + 1 || f->image[il - tl - 1] != ':' ||
	    strcmp(f->image + il - tl, f->ref.tag) != 0 ||
	    (size_t)snprintf(newimg, nlen, "%.*s%s%s%s", (int)(il - tl),
	    f->image, tag, digest ? "@" : "", digest ? digest : "") >= nlen) {
		say(p->summary, sizeof(p->summary), "No automatic fix: "
		    "image %s does not end in its tag", f->image);
		return 0;
	}
	snprintf(path, sizeof(path), "%s/%s/%d/image", pointer, f->init ?
	    "initContainers" : "containers", f->index);
	snprintf(dot, sizeof(dot), "%s.%s", dotted, f->init ?
	    "initContainers" : "containers");
	cur = json_string_value(json_object_get(json_array_get(json_at(
	    in->owner, dot), (size_t)f->index), "image"));
	if (cur == NULL || strcmp(cur, f->image) != 0) {
		say(p->summary, sizeof(p->summary), "No automatic fix: "
		    "%s %s/%s no longer runs %s in container %s", inc->kind,
		    inc->ns, inc->name, f->image, f->container);
		return 0;
	}
	if ((p->patch = json_array()) == NULL ||
	    (p->changes = json_array()) == NULL ||
	    remedy_replace(p->patch, p->changes, path, f->image, newimg) ==
	    -1) {
		p->summary[0] = '\0';
		return -1;
	}
	return 1;
}

/*
 * The image exists but has no variant for the node's platform: the
 * closest tag whose index lists linux/ARCH (registry/ask.c read their
 * manifests), or no patch and why.
 */
static int
image_platform(const struct diag_input *in, struct proposal *p,
    const char *pointer, const char *dotted, char *cause, size_t clen)
{
	const struct incident	*inc = in->inc;
	const struct pull_facts	*f = in->pull;
	const struct plat_try	*t, *ok;
	char			 line[1024], newimg[600];
	size_t			 i, n = 0;
	int			 rc;

	line[0] = '\0';
	for (i = 0; i < f->nplat_tried && n < sizeof(line); i++) {
		t = &f->plat_tried[i];
		n += (size_t)snprintf(line + n, sizeof(line) - n, "%s%s "
		    "(distance %d): %s", i ? "; " : "", t->tag, t->distance,
		    t->status != REG_OK ? reg_status_name(t->status) :
		    !t->is_index ? "a single manifest, platform not listed" :
		    t->platforms[0] ? t->platforms : "no platforms");
	}
	json_array_append_new(p->evidence, json_sprintf("registry: %s has no "
	    "variant for linux/%s (%s); platforms of the closest tags: %s",
	    f->image, f->node_arch, f->manifest.is_index ?
	    (f->manifest.nplatforms ? "its index lists only others" :
	    "its index lists none") : "the kubelet says so of its single "
	    "manifest", line[0] ? line : "no tag close enough"));
	if (f->plat_found < 0 || (size_t)f->plat_found >= f->nplat_tried) {
		say(p->summary, sizeof(p->summary), "No automatic fix: no tag "
		    "of %s close to %s has a variant for linux/%s (%s)",
		    f->ref.path, f->ref.tag, f->node_arch, line[0] ? line :
		    "no tag close enough");
		return 0;
	}
	ok = &f->plat_tried[f->plat_found];
	if (f->pin_digest && ok->digest[0] == '\0') {
		say(p->summary, sizeof(p->summary), "No automatic fix: "
		    "registries.pin_digest is set and the digest of %s is "
		    "unknown", ok->tag);
		return 0;
	}
	if ((rc = set_tag(in, p, pointer, dotted, ok->tag, f->pin_digest ?
	    ok->digest : NULL, newimg, sizeof(newimg))) != 1)
		return rc;
	json_array_append_new(p->evidence, json_sprintf("registry: tag %s "
	    "lists linux/%s, digest %s", ok->tag, f->node_arch,
	    ok->digest[0] ? ok->digest : "not sent"));
	p->risk = "medium";
	say(p->summary, sizeof(p->summary), "Set the image of %s %s/%s "
	    "%scontainer %s: %s -> %s (%s has no variant for linux/%s; the "
	    "closest tag that has is %s)", inc->kind, inc->ns, inc->name,
	    f->init ? "init " : "", f->container, f->image, newimg,
	    f->image, f->node_arch, ok->tag);
	say(cause + strlen(cause), clen - strlen(cause), " The closest tag "
	    "of %s with a variant for linux/%s is %s.", f->ref.path,
	    f->node_arch, ok->tag);
	return 0;
}

int
remedy_image_tag(const struct diag_input *in, struct proposal *p,
    char *cause, size_t clen)
{
	const struct incident	*inc = in->inc;
	const struct pull_facts	*f = in->pull;
	struct tag_choice	 c;
	const char		*pointer = NULL, *dotted = NULL;
	char			 newimg[600], cands[512];
	size_t			 i;
	int			 pin, rc;

	for (i = 0; i < sizeof(pod_specs) / sizeof(pod_specs[0]); i++)
		if (strcmp(pod_specs[i].kind, inc->kind) == 0) {
			pointer = pod_specs[i].pointer;
			dotted = pod_specs[i].dotted;
		}
	if (pointer == NULL || remedy_api_path(inc->kind, inc->ns, inc->name,
	    p->api_path, sizeof(p->api_path)) == -1) {
		say(p->summary, sizeof(p->summary), "No automatic fix: "
		    "%s is not a kind whose image remedyd sets", inc->kind);
		return 0;
	}
	if (f == NULL || !f->asked) {
		if (strcmp(inc->kind, "Pod") == 0)
			say(p->summary, sizeof(p->summary), "No automatic "
			    "fix: Pod %s/%s has no controller, so no earlier "
			    "revision to roll back to, and the image registry "
			    "was not asked which tags exist (registries."
			    "enabled); fix it by hand (or with an LLM backend)",
			    inc->ns, inc->name);
		else
			say(p->summary, sizeof(p->summary), "No automatic "
			    "fix: the image registry was not asked which tags "
			    "exist (registries.enabled)");
		return 0;
	}
	if (f->plat_searched)
		return image_platform(in, p, pointer, dotted, cause, clen);
	if (f->man_status != REG_TAG_UNKNOWN || f->ref.digest[0] != '\0' ||
	    f->ref.tag[0] == '\0') {
		say(p->summary, sizeof(p->summary), "No automatic fix: "
		    "the registry does not report a missing tag for %s (%s)",
		    f->image, reg_status_name(f->man_status));
		return 0;
	}
	if (f->tags_status != REG_OK || f->tags == NULL) {
		say(p->summary, sizeof(p->summary), "No automatic fix: "
		    "the registry has no tag %s, and its tag list could not be "
		    "read (%s)", f->ref.tag, reg_status_name(f->tags_status));
		return 0;
	}
	tag_choose(f->ref.tag, f->tags, &c);
	list_candidates(&c, cands, sizeof(cands));
	{
		char line[1024];

		say(line, sizeof(line), "registry: %zu tag(s) of %s "
		    "examined%s; candidates for %s: %s", c.examined,
		    f->ref.path, f->tags_truncated ? " (list cut at "
		    "registries.max_tags)" : "", f->ref.tag, cands[0] ? cands :
		    "none");
		json_array_append_new(p->evidence, json_string(line));
	}
	if (!c.found) {
		say(p->summary, sizeof(p->summary), "No automatic fix: "
		    "the registry has no tag %s in %s and no existing tag is "
		    "close enough (candidates: %s)", f->ref.tag, f->ref.path,
		    cands[0] ? cands : "none");
		return 0;
	}
	/* the registry asked about the candidate by itself: it must be there */
	pin = f->pin_digest && strcmp(f->cand_tag, c.best.tag) == 0 &&
	    f->cand_status == REG_OK && f->cand_digest[0] != '\0';
	if (strcmp(f->cand_tag, c.best.tag) == 0 && f->cand_status !=
	    REG_OK) {
		say(p->summary, sizeof(p->summary), "No automatic fix: the "
		    "closest tag %s of %s could not be confirmed (%s)",
		    c.best.tag, f->ref.path, reg_status_name(f->cand_status));
		return 0;
	}
	if (strcmp(f->cand_tag, c.best.tag) == 0)
		json_array_append_new(p->evidence, json_sprintf("registry: the "
		    "closest tag %s exists, digest %s", c.best.tag,
		    f->cand_digest[0] ? f->cand_digest : "not sent"));
	if (f->pin_digest && !pin) {
		say(p->summary, sizeof(p->summary), "No automatic fix: "
		    "registries.pin_digest is set and the digest of %s is "
		    "unknown", c.best.tag);
		return 0;
	}
	if ((rc = set_tag(in, p, pointer, dotted, c.best.tag, pin ?
	    f->cand_digest : NULL, newimg, sizeof(newimg))) != 1)
		return rc;
	p->risk = "medium";
	say(p->summary, sizeof(p->summary), "Set the image of %s %s/%s "
	    "%scontainer %s: %s -> %s (the registry has no tag %s; closest "
	    "existing tag %s)", inc->kind, inc->ns, inc->name, f->init ?
	    "init " : "", f->container, f->image, newimg, f->ref.tag,
	    c.best.tag);
	say(cause + strlen(cause), clen - strlen(cause), " The registry "
	    "has no tag %s in %s; the closest existing tag is %s (%s).",
	    f->ref.tag, f->ref.path, c.best.tag, cands);
	return 0;
}

/* The revision rollback, and the registry's closest tag when there is no
 * usable revision. */
static int
then_tag(int rc, const struct diag_input *in, struct proposal *p,
    char *cause, size_t clen)
{
	if (rc == -1 || p->patch != NULL || in->pull == NULL ||
	    (in->pull->man_status != REG_TAG_UNKNOWN &&
	    !in->pull->plat_searched))
		return rc;
	return remedy_image_tag(in, p, cause, clen);
}

int
remedy_rollback_or_tag(const struct diag_input *in, struct proposal *p,
    char *cause, size_t clen)
{
	return then_tag(remedy_rollback_deployment(in, p, cause, clen), in, p,
	    cause, clen);
}

int
remedy_revision_or_tag(const struct diag_input *in, struct proposal *p,
    char *cause, size_t clen)
{
	return then_tag(remedy_rollback_revision(in, p, cause, clen), in, p,
	    cause, clen);
}
