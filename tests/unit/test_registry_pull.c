/*
 * test_registry_pull.c - image pull failures classified from the kubelet's
 * words and the registry's answers; the closest-tag choice; the image fix
 * family (lib/action/remedies/image.c) on a bare Pod, an initContainer and a
 * Deployment without a usable revision; the tag with the node's platform.
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "action/remedies/remedies.h"
#include "diagnose/diagnose.h"
#include "registry/pull.h"
#include "t.h"

static json_t *
tags(const char *list)
{
	json_error_t	e;

	return json_loads(list, 0, &e);
}

static void
test_distance_and_order(void)
{
	CHECK_INT(tag_distance("1.25-typo", "1.25"), 5);
	CHECK_INT(tag_distance("kitten", "sitting"), 3);
	CHECK_INT(tag_distance("", "abc"), 3);
	CHECK(tag_version_cmp("1.10", "1.9") > 0);
	CHECK(tag_version_cmp("1.25.3", "1.25") > 0);
	CHECK(tag_version_cmp("v2", "v10") < 0);
	CHECK_INT(tag_version_cmp("1.025", "1.25"), 0);
}

static void
test_choose(void)
{
	struct tag_choice	 c;
	json_t			*t;

	t = tags("[\"1.24\", \"1.25\", \"1.25.3\", \"latest\", \"1.25-typo2\"]");
	tag_choose("1.25-typo", t, &c);
	CHECK(c.found);
	CHECK_STR(c.best.tag, "1.25");
	CHECK_INT(c.best.prefix, 1);
	CHECK_INT(c.best.distance, 5);
	CHECK_INT(c.examined, 5);
	CHECK_INT(c.nrunners, 3);
	CHECK_STR(c.runners[0].tag, "1.25-typo2");	/* distance 1 */
	/* latest is never offered for a pinned version */
	CHECK(strcmp(c.runners[1].tag, "latest") != 0);
	CHECK(strcmp(c.runners[2].tag, "latest") != 0);
	json_decref(t);

	/* a near miss by edit distance; ties go to the higher version */
	t = tags("[\"3.18\", \"3.19\", \"3.20\", \"edge\"]");
	tag_choose("3.1", t, &c);
	CHECK(c.found);
	CHECK_STR(c.best.tag, "3.19");	/* 3.18 and 3.19: distance 1 */
	CHECK_STR(c.runners[0].tag, "3.18");
	json_decref(t);

	/* nothing close: candidates, but not found */
	t = tags("[\"stable\", \"2024.01\"]");
	tag_choose("v9.9.9-rc1", t, &c);
	CHECK(!c.found);
	CHECK(c.best.tag[0] != '\0');
	json_decref(t);

	t = tags("[]");
	tag_choose("x", t, &c);
	CHECK(!c.found);
	CHECK_INT(c.examined, 0);
	json_decref(t);

	/* the threshold: max(1, len/4) */
	t = tags("[\"release-1\"]");
	tag_choose("relaese-1", t, &c);	/* distance 2, limit 2 */
	CHECK(c.found);
	tag_choose("rlaese-2", t, &c);	/* distance 3, limit 2 */
	CHECK(!c.found);
	json_decref(t);
}

static void
facts(struct pull_facts *f, const char *image, enum reg_status tagst,
    enum reg_status manst, const char *taglist)
{
	char	err[256];

	memset(f, 0, sizeof(*f));
	snprintf(f->image, sizeof(f->image), "%s", image);
	snprintf(f->container, sizeof(f->container), "web");
	f->ref_ok = imgref_parse(image, &f->ref, err, sizeof(err)) == 0;
	snprintf(f->ref_err, sizeof(f->ref_err), "%s", f->ref_ok ? "" : err);
	f->asked = f->ref_ok;
	f->tags_status = tagst;
	f->man_status = manst;
	f->tags = taglist ? tags(taglist) : NULL;
	snprintf(f->registry_url, sizeof(f->registry_url),
	    "http://127.0.0.1:5000");
}

static void
test_classify(void)
{
	struct pull_facts	 f;
	char			 cause[1024];
	json_t			*ev = json_array();

	facts(&f, "nginx:1.25-typo", REG_OK, REG_TAG_UNKNOWN, "[\"1.25\"]");
	CHECK_INT(pull_classify("failed to resolve reference \"docker.io/"
	    "library/nginx:1.25-typo\": not found", "ErrImagePull", &f, "amd64",
	    cause, sizeof(cause), ev), PULL_TAG_NOT_FOUND);
	CHECK(strstr(cause, "no tag 1.25-typo in library/nginx") != NULL);
	CHECK_INT(json_array_size(ev), 2);
	pull_facts_clear(&f);

	facts(&f, "nginx-typo:1.25", REG_REPO_UNKNOWN, REG_TAG_UNKNOWN, NULL);
	CHECK_INT(pull_classify("pull access denied, repository does not "
	    "exist or may require authorization", NULL, &f, NULL, cause,
	    sizeof(cause), NULL), PULL_REPO_NOT_FOUND);
	CHECK(strstr(cause, "no repository library/nginx-typo") != NULL);
	pull_facts_clear(&f);

	facts(&f, "private/app:1.0", REG_UNAUTHORIZED, REG_UNAUTHORIZED, NULL);
	CHECK_INT(pull_classify("401 Unauthorized", NULL, &f, NULL, cause,
	    sizeof(cause), NULL), PULL_UNAUTHORIZED);
	CHECK(strstr(cause, "imagePullSecret") != NULL);
	CHECK(strstr(cause, "never reads") != NULL);
	pull_facts_clear(&f);

	facts(&f, "armonly:1.0", REG_OK, REG_OK, "[\"1.0\"]");
	f.manifest.is_index = 1;
	f.manifest.nplatforms = 1;
	snprintf(f.manifest.plat[0].os, 32, "linux");
	snprintf(f.manifest.plat[0].arch, 32, "arm64");
	CHECK_INT(pull_classify("no match for platform in manifest: not "
	    "found", NULL, &f, "amd64", cause, sizeof(cause), NULL),
	    PULL_NO_PLATFORM);
	CHECK(strstr(cause, "linux/amd64") != NULL);
	CHECK(strstr(cause, "linux/arm64") != NULL);
	/* the node's platform is there: not a platform problem */
	CHECK(pull_classify(NULL, NULL, &f, "arm64", cause, sizeof(cause),
	    NULL) != PULL_NO_PLATFORM);
	pull_facts_clear(&f);

	facts(&f, "Nginx:1.25", REG_OK, REG_OK, NULL);
	CHECK_INT(pull_classify("Failed to apply default image tag", 
	    "InvalidImageName", &f, NULL, cause, sizeof(cause), NULL),
	    PULL_INVALID_REFERENCE);
	CHECK(strstr(cause, "lower case") != NULL);
	pull_facts_clear(&f);

	/* the kubelet's words alone (registry not asked) */
	CHECK_INT(pull_classify("dial tcp: lookup registry.example on "
	    "10.96.0.10:53: no such host", NULL, NULL, NULL, cause,
	    sizeof(cause), NULL), PULL_UNREACHABLE);
	CHECK_INT(pull_classify("rpc error: code = NotFound desc = failed to "
	    "pull and unpack image: not found", NULL, NULL, NULL, cause,
	    sizeof(cause), NULL), PULL_TAG_NOT_FOUND);
	CHECK_INT(pull_classify("something else", NULL, NULL, NULL, cause,
	    sizeof(cause), NULL), PULL_UNKNOWN);
	facts(&f, "nginx:1.25", REG_UNREACHABLE, REG_UNREACHABLE, NULL);
	CHECK_INT(pull_classify("Back-off pulling image", NULL, &f, NULL,
	    cause, sizeof(cause), NULL), PULL_UNREACHABLE);
	CHECK(strstr(cause, "nor from remedyd") != NULL);
	pull_facts_clear(&f);
	CHECK_STR(pull_class_name(PULL_NO_PLATFORM), "no-platform");
	json_decref(ev);
}

static void
test_builder(void)
{
	struct incident		 inc;
	struct diag_input	 in;
	struct proposal		 p;
	struct pull_facts	 f;
	char			 cause[2048];
	json_t			*pod;
	char			 kind[] = "Pod", ns[] = "demo",
				 name[] = "broken-pod", reason[] =
				 "ImagePullBackOff", image[] = "nginx:1.25-typo";

	memset(&inc, 0, sizeof(inc));
	inc.kind = kind;
	inc.ns = ns;
	inc.name = name;
	inc.reason = reason;
	inc.image = image;
	pod = json_pack("{s:s,s:{s:[{s:s,s:s}],s:[{s:s,s:s},{s:s,s:s}]}}",
	    "kind", "Pod", "spec", "initContainers", "name", "init",
	    "image", "busybox:1.36", "containers", "name", "side", "image",
	    "busybox:1.36", "name", "web", "image", "nginx:1.25-typo");
	facts(&f, "nginx:1.25-typo", REG_OK, REG_TAG_UNKNOWN,
	    "[\"1.24\", \"1.25\", \"1.25.3\", \"latest\"]");
	f.index = 1;
	memset(&in, 0, sizeof(in));
	in.inc = &inc;
	in.owner = pod;
	in.pod = pod;
	in.pull = &f;
	memset(&p, 0, sizeof(p));
	p.evidence = json_array();
	cause[0] = '\0';
	CHECK(remedy_find("ImagePullBackOff", "Pod") != NULL);
	CHECK_INT(remedies_build(&in, &p, cause, sizeof(cause)), 0);
	CHECK(p.patch != NULL);
	CHECK_STR(p.summary, "Set the image of Pod demo/broken-pod container "
	    "web: nginx:1.25-typo -> nginx:1.25 (the registry has no tag "
	    "1.25-typo; closest existing tag 1.25)");
	CHECK_STR(p.api_path, "/api/v1/namespaces/demo/pods/broken-pod");
	CHECK_STR(json_string_value(json_object_get(json_array_get(p.patch,
	    1), "path")), "/spec/containers/1/image");
	CHECK_STR(json_string_value(json_object_get(json_array_get(p.patch,
	    1), "value")), "nginx:1.25");
	CHECK(strstr(cause, "closest existing tag is 1.25 (1.25 (distance 5, "
	    "prefix), 1.25.3 (distance 5), 1.24 (distance 6))") != NULL);
	CHECK(strstr(json_string_value(json_array_get(p.evidence, 0)),
	    "4 tag(s) of library/nginx examined") != NULL);
	proposal_clear(&p);

	/* registries.pin_digest: the candidate's digest is named */
	snprintf(f.cand_tag, sizeof(f.cand_tag), "1.25");
	f.cand_status = REG_OK;
	snprintf(f.cand_digest, sizeof(f.cand_digest), "sha256:%s",
	    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
	f.pin_digest = 1;
	memset(&p, 0, sizeof(p));
	p.evidence = json_array();
	cause[0] = '\0';
	CHECK_INT(remedies_build(&in, &p, cause, sizeof(cause)), 0);
	CHECK_STR(json_string_value(json_object_get(json_array_get(p.patch,
	    1), "value")), "nginx:1.25@sha256:"
	    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
	CHECK(strstr(json_string_value(json_array_get(p.evidence, 1)),
	    "the closest tag 1.25 exists, digest sha256:0123") != NULL);
	proposal_clear(&p);
	/* the candidate could not be confirmed: no patch */
	f.cand_status = REG_TIMEOUT;
	memset(&p, 0, sizeof(p));
	p.evidence = json_array();
	CHECK_INT(remedies_build(&in, &p, cause, sizeof(cause)), 0);
	CHECK(p.patch == NULL);
	CHECK(strstr(p.summary, "could not be confirmed (timeout)") != NULL);
	proposal_clear(&p);
	f.cand_tag[0] = '\0';
	f.pin_digest = 0;

	/* an initContainer */
	json_object_set_new(json_array_get(json_at(pod, "spec.initContainers"),
	    0), "image", json_string("nginx:1.25-typo"));
	f.init = 1;
	f.index = 0;
	snprintf(f.container, sizeof(f.container), "init");
	memset(&p, 0, sizeof(p));
	p.evidence = json_array();
	cause[0] = '\0';
	CHECK_INT(remedies_build(&in, &p, cause, sizeof(cause)), 0);
	CHECK(p.patch != NULL);
	CHECK(strstr(p.summary, "init container init") != NULL);
	CHECK_STR(json_string_value(json_object_get(json_array_get(p.patch,
	    1), "path")), "/spec/initContainers/0/image");
	proposal_clear(&p);

	/* the object changed since: no patch */
	f.index = 5;
	memset(&p, 0, sizeof(p));
	p.evidence = json_array();
	CHECK_INT(remedies_build(&in, &p, cause, sizeof(cause)), 0);
	CHECK(p.patch == NULL);
	CHECK(strstr(p.summary, "no longer runs") != NULL);
	proposal_clear(&p);

	/* nothing close: no patch, the candidates listed */
	json_decref(f.tags);
	f.tags = tags("[\"stable\", \"edge\"]");
	f.index = 0;
	memset(&p, 0, sizeof(p));
	p.evidence = json_array();
	CHECK_INT(remedies_build(&in, &p, cause, sizeof(cause)), 0);
	CHECK(p.patch == NULL);
	CHECK(strstr(p.summary, "no existing tag is close enough "
	    "(candidates: ") != NULL);
	proposal_clear(&p);

	/* the registry not asked */
	in.pull = NULL;
	memset(&p, 0, sizeof(p));
	p.evidence = json_array();
	CHECK_INT(remedies_build(&in, &p, cause, sizeof(cause)), 0);
	CHECK(p.patch == NULL);
	CHECK(strstr(p.summary, "not asked") != NULL);
	CHECK(strstr(p.summary, "Pod demo/broken-pod has no controller") !=
	    NULL);
	proposal_clear(&p);

	/* a Deployment not in the cache: the rollback has no revision, the
	 * registry's tag is used */
	pull_facts_clear(&f);
	facts(&f, "nginx:1.25-typo", REG_OK, REG_TAG_UNKNOWN, "[\"1.25\"]");
	in.pull = &f;
	json_decref(pod);
	pod = json_pack("{s:{s:{s:{s:[{s:s,s:s}]}}}}", "spec", "template",
	    "spec", "containers", "name", "web", "image", "nginx:1.25-typo");
	in.owner = pod;
	inc.kind = (char *)"Deployment";
	memset(&p, 0, sizeof(p));
	p.evidence = json_array();
	cause[0] = '\0';
	CHECK_INT(remedies_build(&in, &p, cause, sizeof(cause)), 0);
	CHECK(p.patch != NULL);
	CHECK_STR(json_string_value(json_object_get(json_array_get(p.patch,
	    1), "path")), "/spec/template/spec/containers/0/image");
	CHECK_STR(p.api_path, "/apis/apps/v1/namespaces/demo/deployments/"
	    "broken-pod");
	proposal_clear(&p);

	/* a CronJob: its jobTemplate's pod template */
	json_decref(pod);
	pod = json_pack("{s:{s:{s:{s:{s:{s:[{s:s,s:s}]}}}}}}", "spec",
	    "jobTemplate", "spec", "template", "spec", "containers", "name",
	    "web", "image", "nginx:1.25-typo");
	in.owner = pod;
	inc.kind = (char *)"CronJob";
	memset(&p, 0, sizeof(p));
	p.evidence = json_array();
	cause[0] = '\0';
	CHECK(remedy_find("ImagePullBackOff", "CronJob") != NULL);
	CHECK_INT(remedies_build(&in, &p, cause, sizeof(cause)), 0);
	CHECK(p.patch != NULL);
	CHECK_STR(json_string_value(json_object_get(json_array_get(p.patch,
	    1), "path")), "/spec/jobTemplate/spec/template/spec/containers/0/"
	    "image");
	CHECK_STR(p.api_path, "/apis/batch/v1/namespaces/demo/cronjobs/"
	    "broken-pod");
	proposal_clear(&p);

	/* the tag exists (another failure): the builder proposes nothing */
	f.man_status = REG_OK;
	memset(&p, 0, sizeof(p));
	p.evidence = json_array();
	CHECK_INT(remedies_build(&in, &p, cause, sizeof(cause)), 0);
	CHECK(p.patch == NULL);
	CHECK(strstr(p.summary, "does not report a missing tag") != NULL);
	proposal_clear(&p);
	pull_facts_clear(&f);
	json_decref(pod);
}

static void
test_target(void)
{
	struct pull_facts	 f;
	char			 kubelet[256];
	json_t			*pod, *patch;
	size_t			 i = 0;

	pod = json_loads("{\"spec\": {\"initContainers\": [{\"name\": \"i\","
	    "\"image\": \"busybox:1\"}], \"containers\": [{\"name\": \"a\","
	    "\"image\": \"x:1\"}, {\"name\": \"web\", \"image\": "
	    "\"nginx:1.25-typo\"}]}, \"status\": {\"initContainerStatuses\": "
	    "[{\"name\": \"i\", \"state\": {\"terminated\": {}}}], "
	    "\"containerStatuses\": [{\"name\": \"a\", \"state\": {"
	    "\"running\": {}}}, {\"name\": \"web\", \"state\": {\"waiting\": "
	    "{\"reason\": \"ImagePullBackOff\", \"message\": \"Back-off "
	    "pulling image\"}}}]}}", 0, NULL);
	memset(&f, 0, sizeof(f));
	CHECK_INT(pull_target(pod, &f, kubelet, sizeof(kubelet)), 1);
	CHECK_STR(f.image, "nginx:1.25-typo");
	CHECK_STR(f.container, "web");
	CHECK_INT(f.index, 1);
	CHECK_INT(f.init, 0);
	CHECK_STR(kubelet, "Back-off pulling image");
	json_object_set_new(json_object_get(json_array_get(json_at(pod,
	    "status.containerStatuses"), 1), "state"), "waiting",
	    json_pack("{s:s}", "reason", "CrashLoopBackOff"));
	CHECK_INT(pull_target(pod, &f, kubelet, sizeof(kubelet)), 0);
	json_decref(pod);
	CHECK(pull_reason("ErrImagePull") && !pull_reason("OOMKilled") &&
	    !pull_reason(NULL));

	patch = json_loads("[{\"op\": \"test\", \"path\": \"/spec/containers/0"
	    "/image\", \"value\": \"a:1\"}, {\"op\": \"replace\", \"path\": "
	    "\"/spec/containers/0/image\", \"value\": \"a:2\"}, {\"op\": "
	    "\"replace\", \"path\": \"/spec/replicas\", \"value\": 2}, "
	    "{\"op\": \"add\", \"path\": \"/spec/initContainers/0/image\", "
	    "\"value\": \"b:1\"}]", 0, NULL);
	CHECK_STR(pull_patch_image(patch, &i), "a:2");
	CHECK_INT(i, 1);
	i++;
	CHECK_STR(pull_patch_image(patch, &i), "b:1");
	i++;
	CHECK(pull_patch_image(patch, &i) == NULL);
	json_decref(patch);
}

/*
 * Every container image a patch writes, wherever in the value: the image
 * itself, a whole container, a containers list, a pod template; each
 * once; never a string named image outside a container, nor what a test
 * or remove op names.
 */
static void
test_patch_images(void)
{
	json_t	*patch, *got;
	char	*s;

	patch = json_loads("["
	    "{\"op\":\"test\",\"path\":\"/spec/template/spec/containers/0/"
	    "image\",\"value\":\"old:1\"},"
	    "{\"op\":\"replace\",\"path\":\"/spec/template/spec/containers/0/"
	    "image\",\"value\":\"a:1\"},"
	    "{\"op\":\"add\",\"path\":\"/spec/template/spec/containers/-\","
	    "\"value\":{\"name\":\"side\",\"image\":\"b:1\"}},"
	    "{\"op\":\"replace\",\"path\":\"/spec/template/spec/"
	    "initContainers\",\"value\":[{\"name\":\"i\",\"image\":\"c:1\"},"
	    "{\"name\":\"j\",\"image\":\"a:1\"}]},"
	    "{\"op\":\"replace\",\"path\":\"/spec/template\",\"value\":"
	    "{\"metadata\":{\"annotations\":{\"image\":\"not-one\"}},"
	    "\"spec\":{\"ephemeralContainers\":[{\"image\":\"d:1\"}],"
	    "\"containers\":[{\"name\":\"w\",\"image\":\"e:1\","
	    "\"env\":[{\"name\":\"image\",\"value\":\"f:1\"}]}]}}},"
	    "{\"op\":\"remove\",\"path\":\"/spec/containers/1/image\"},"
	    "{\"op\":\"add\",\"path\":\"/spec/containers/0/image\","
	    "\"value\":\"g:1\"},"
	    "{\"op\":\"add\",\"path\":\"image\",\"value\":\"h:1\"}]", 0,
	    NULL);
	CHECK(patch != NULL);
	got = pull_patch_images(patch);
	s = json_dumps(got, JSON_COMPACT);
	CHECK_STR(s, "[\"a:1\",\"b:1\",\"c:1\",\"d:1\",\"e:1\",\"g:1\"]");
	free(s);
	json_decref(got);
	json_decref(patch);
	got = pull_patch_images(NULL);
	CHECK(json_is_array(got) && json_array_size(got) == 0);
	json_decref(got);
}

/* The platform fix: the image exists without linux/amd64; the closest tags
 * whose manifests were read (registry/ask.c) decide. */
static void
test_platform(void)
{
	struct incident		 inc;
	struct diag_input	 in;
	struct proposal		 p;
	struct pull_facts	 f;
	struct reg_manifest	 m;
	struct tag_candidate	 tc;
	char			 cause[2048], buf[64];
	json_t			*pod;
	char			 kind[] = "Pod", ns[] = "demo",
				 name[] = "arm-only", reason[] =
				 "ImagePullBackOff", image[] = "app:2.1";

	/* helpers */
	memset(&m, 0, sizeof(m));
	m.is_index = 1;
	m.nplatforms = 2;
	snprintf(m.plat[0].os, sizeof(m.plat[0].os), "linux");
	snprintf(m.plat[0].arch, sizeof(m.plat[0].arch), "arm64");
	snprintf(m.plat[0].variant, sizeof(m.plat[0].variant), "v8");
	snprintf(m.plat[1].os, sizeof(m.plat[1].os), "windows");
	snprintf(m.plat[1].arch, sizeof(m.plat[1].arch), "amd64");
	CHECK(pull_has_platform(&m, "linux", "arm64"));
	CHECK(!pull_has_platform(&m, "linux", "amd64"));
	CHECK(pull_has_platform(&m, "windows", "amd64"));
	pull_platforms(&m, buf, sizeof(buf));
	CHECK_STR(buf, "linux/arm64/v8, windows/amd64");
	pull_platforms(&m, buf, 10);		/* cut, still terminated */
	CHECK_INT(strlen(buf), 9);
	m.is_index = 0;				/* a single manifest lists none */
	CHECK(!pull_has_platform(&m, "linux", "arm64"));
	CHECK(pull_kubelet_no_platform("failed to pull and unpack image "
	    "\"docker.io/library/app:2.1\": no match for platform in manifest: "
	    "not found"));
	CHECK(!pull_kubelet_no_platform("not found"));
	CHECK(!pull_kubelet_no_platform(NULL));
	memset(&tc, 0, sizeof(tc));
	snprintf(tc.tag, sizeof(tc.tag), "2.0");
	tc.distance = 1;
	CHECK(tag_acceptable("2.1", &tc));
	tc.distance = 2;
	CHECK(!tag_acceptable("2.1", &tc));
	tc.prefix = 1;
	CHECK(tag_acceptable("2.1", &tc));
	tc.tag[0] = '\0';
	CHECK(!tag_acceptable("2.1", &tc));

	memset(&inc, 0, sizeof(inc));
	inc.kind = kind;
	inc.ns = ns;
	inc.name = name;
	inc.reason = reason;
	inc.image = image;
	pod = json_pack("{s:s,s:{s:[{s:s,s:s}]}}", "kind", "Pod", "spec",
	    "containers", "name", "web", "image", "app:2.1");
	facts(&f, "app:2.1", REG_OK, REG_OK, "[\"1.0\", \"2.0\", \"2.1\"]");
	snprintf(f.node_arch, sizeof(f.node_arch), "amd64");
	f.manifest.is_index = 1;
	f.manifest.nplatforms = 1;
	snprintf(f.manifest.plat[0].os, sizeof(f.manifest.plat[0].os),
	    "linux");
	snprintf(f.manifest.plat[0].arch, sizeof(f.manifest.plat[0].arch),
	    "arm64");
	f.plat_searched = 1;
	f.plat_found = 0;
	f.nplat_tried = 1;
	snprintf(f.plat_tried[0].tag, sizeof(f.plat_tried[0].tag), "2.0");
	f.plat_tried[0].distance = 1;
	f.plat_tried[0].status = REG_OK;
	f.plat_tried[0].is_index = 1;
	f.plat_tried[0].has = 1;
	snprintf(f.plat_tried[0].platforms, sizeof(f.plat_tried[0].platforms),
	    "linux/amd64, linux/arm64");
	snprintf(f.plat_tried[0].digest, sizeof(f.plat_tried[0].digest),
	    "sha256:%s", "0123456789abcdef0123456789abcdef0123456789abcdef"
	    "0123456789abcdef");
	memset(&in, 0, sizeof(in));
	in.inc = &inc;
	in.owner = pod;
	in.pod = pod;
	in.pull = &f;
	memset(&p, 0, sizeof(p));
	p.evidence = json_array();
	cause[0] = '\0';
	CHECK_INT(remedies_build(&in, &p, cause, sizeof(cause)), 0);
	CHECK(p.patch != NULL);
	CHECK_STR(p.summary, "Set the image of Pod demo/arm-only container "
	    "web: app:2.1 -> app:2.0 (app:2.1 has no variant for linux/amd64; "
	    "the closest tag that has is 2.0)");
	CHECK_STR(json_string_value(json_object_get(json_array_get(p.patch,
	    1), "value")), "app:2.0");
	CHECK_STR(json_string_value(json_array_get(p.evidence, 0)),
	    "registry: app:2.1 has no variant for linux/amd64 (its index lists "
	    "only others); platforms of the closest tags: 2.0 (distance 1): "
	    "linux/amd64, linux/arm64");
	CHECK(strstr(json_string_value(json_array_get(p.evidence, 1)),
	    "tag 2.0 lists linux/amd64, digest sha256:0123") != NULL);
	CHECK(strstr(cause, "with a variant for linux/amd64 is 2.0") != NULL);
	proposal_clear(&p);

	/* pinned: the candidate's digest */
	f.pin_digest = 1;
	memset(&p, 0, sizeof(p));
	p.evidence = json_array();
	cause[0] = '\0';
	CHECK_INT(remedies_build(&in, &p, cause, sizeof(cause)), 0);
	CHECK(strstr(json_string_value(json_object_get(json_array_get(p.patch,
	    1), "value")), "app:2.0@sha256:0123") != NULL);
	proposal_clear(&p);
	f.pin_digest = 0;

	/* no tag has it: no patch, the platforms examined named */
	f.plat_found = -1;
	f.plat_tried[0].has = 0;
	snprintf(f.plat_tried[0].platforms, sizeof(f.plat_tried[0].platforms),
	    "linux/arm64");
	f.nplat_tried = 2;
	snprintf(f.plat_tried[1].tag, sizeof(f.plat_tried[1].tag), "1.0");
	f.plat_tried[1].distance = 2;
	f.plat_tried[1].status = REG_REFUSED;	/* the budget was spent */
	memset(&p, 0, sizeof(p));
	p.evidence = json_array();
	cause[0] = '\0';
	CHECK_INT(remedies_build(&in, &p, cause, sizeof(cause)), 0);
	CHECK(p.patch == NULL);
	CHECK_STR(p.summary, "No automatic fix: no tag of library/app close to "
	    "2.1 has a variant for linux/amd64 (2.0 (distance 1): linux/arm64; "
	    "1.0 (distance 2): refused)");
	proposal_clear(&p);

	/* nothing close enough was there to read */
	f.nplat_tried = 0;
	memset(&p, 0, sizeof(p));
	p.evidence = json_array();
	CHECK_INT(remedies_build(&in, &p, cause, sizeof(cause)), 0);
	CHECK(p.patch == NULL);
	CHECK(strstr(p.summary, "(no tag close enough)") != NULL);
	proposal_clear(&p);

	/* a Deployment without a usable revision: its template */
	f.nplat_tried = 1;
	f.plat_found = 0;
	f.plat_tried[0].has = 1;
	json_decref(pod);
	pod = json_pack("{s:{s:{s:{s:[{s:s,s:s}]}}}}", "spec", "template",
	    "spec", "containers", "name", "web", "image", "app:2.1");
	in.owner = pod;
	inc.kind = (char *)"Deployment";
	memset(&p, 0, sizeof(p));
	p.evidence = json_array();
	cause[0] = '\0';
	CHECK_INT(remedies_build(&in, &p, cause, sizeof(cause)), 0);
	CHECK(p.patch != NULL);
	CHECK_STR(json_string_value(json_object_get(json_array_get(p.patch,
	    1), "path")), "/spec/template/spec/containers/0/image");
	proposal_clear(&p);
	pull_facts_clear(&f);
	json_decref(pod);
}

int
main(void)
{
	test_target();
	test_distance_and_order();
	test_choose();
	test_classify();
	test_builder();
	test_platform();
	test_patch_images();
	return T_DONE();
}
