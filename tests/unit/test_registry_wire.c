/*
 * test_registry_wire.c - registry answers parsed (lib/registry/wire.h):
 * WWW-Authenticate challenges, Link pagination, tags lists, manifests and
 * indexes, token replies, docker config.json auth files.
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "registry/wire.h"
#include "t.h"

#define D64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static void
test_challenge(void)
{
	struct reg_challenge	 c;
	char			 err[256];

	CHECK_INT(reg_parse_challenge("Bearer realm=\"https://auth.docker.io/"
	    "token\",service=\"registry.docker.io\",scope=\"repository:"
	    "library/nginx:pull\"", &c, err, sizeof(err)), 0);
	CHECK_STR(c.scheme, "bearer");
	CHECK_STR(c.realm, "https://auth.docker.io/token");
	CHECK_STR(c.service, "registry.docker.io");
	CHECK_STR(c.scope, "repository:library/nginx:pull");
	/* spaces, unknown params, escapes, token values, case */
	CHECK_INT(reg_parse_challenge("bearer  realm = \"http://127.0.0.1:1/"
	    "t\" , error=\"insufficient_scope\", service=svc.x, scope=\"a\\\""
	    "b\"", &c, err, sizeof(err)), 0);
	CHECK_STR(c.realm, "http://127.0.0.1:1/t");
	CHECK_STR(c.service, "svc.x");
	CHECK_STR(c.scope, "a\"b");
	CHECK_INT(reg_parse_challenge("Basic realm=\"Registry Realm\"", &c,
	    err, sizeof(err)), 0);	/* htpasswd mode: any text */
	CHECK_INT(reg_parse_challenge("Basic", &c, err, sizeof(err)), 0);
	CHECK_STR(c.scheme, "basic");
	CHECK_INT(reg_parse_challenge("Negotiate abc", &c, err, sizeof(err)),
	    -1);
	CHECK(strstr(err, "unsupported") != NULL);
	CHECK_INT(reg_parse_challenge("Bearer service=\"x\"", &c, err,
	    sizeof(err)), -1);
	CHECK(strstr(err, "without realm") != NULL);
	CHECK_INT(reg_parse_challenge("Bearer realm=\"https://x/", &c, err,
	    sizeof(err)), -1);
	CHECK_INT(reg_parse_challenge("Bearer realm=\"ftp://x/\"", &c, err,
	    sizeof(err)), -1);
	CHECK_INT(reg_parse_challenge("Bearer realm=\"https://x/\" junk", &c,
	    err, sizeof(err)), -1);
	CHECK_INT(reg_parse_challenge("", &c, err, sizeof(err)), -1);
	CHECK_INT(reg_parse_challenge("Bearer realm=\"https://x/\x01\"", &c,
	    err, sizeof(err)), -1);
}

static void
test_link(void)
{
	char	url[REG_URL_MAX], err[256];

	CHECK_INT(reg_parse_link_next("</v2/library/nginx/tags/list?last=1.25"
	    "&n=100>; rel=\"next\"", url, sizeof(url), err, sizeof(err)), 1);
	CHECK_STR(url, "/v2/library/nginx/tags/list?last=1.25&n=100");
	CHECK_INT(reg_parse_link_next("<https://r.example/a>; rel=prev, "
	    "<https://r.example/b>;title=\"x;y,z\"; rel=\"first next\"", url,
	    sizeof(url), err, sizeof(err)), 1);
	CHECK_STR(url, "https://r.example/b");
	CHECK_INT(reg_parse_link_next("</a>; rel=\"prev\"", url, sizeof(url),
	    err, sizeof(err)), 0);
	CHECK_INT(reg_parse_link_next("", url, sizeof(url), err, sizeof(err)),
	    0);
	CHECK_INT(reg_parse_link_next("</a; rel=next", url, sizeof(url), err,
	    sizeof(err)), -1);
	CHECK_INT(reg_parse_link_next("<ftp://x/>; rel=next", url,
	    sizeof(url), err, sizeof(err)), -1);
	CHECK_INT(reg_parse_link_next("<>; rel=next", url, sizeof(url), err,
	    sizeof(err)), -1);
	CHECK_INT(reg_parse_link_next("/a; rel=next", url, sizeof(url), err,
	    sizeof(err)), -1);
	CHECK_INT(reg_parse_link_next("</a b>; rel=next", url, sizeof(url),
	    err, sizeof(err)), -1);
	CHECK_INT(reg_parse_link_next("</abcdef>; rel=next", url, 4, err,
	    sizeof(err)), -1);
	CHECK_INT(reg_parse_link_next("</a>; rel=nextgen", url, sizeof(url),
	    err, sizeof(err)), 0);
}

static void
test_tags(void)
{
	json_t	*tags = json_array();
	char	 err[256];
	int	 trunc = 0;
	const char *b;

	b = "{\"name\":\"library/nginx\",\"tags\":[\"1.25\",\"1.24\",\"latest\"]}";
	CHECK_INT(reg_parse_tags(b, strlen(b), "library/nginx", tags, 100,
	    &trunc, err, sizeof(err)), 0);
	CHECK_INT(json_array_size(tags), 3);
	CHECK_STR(json_string_value(json_array_get(tags, 0)), "1.25");
	CHECK_INT(trunc, 0);
	/* pages append; the limit truncates */
	b = "{\"name\":\"library/nginx\",\"tags\":[\"a\",\"b\"]}";
	CHECK_INT(reg_parse_tags(b, strlen(b), "library/nginx", tags, 4,
	    &trunc, err, sizeof(err)), 0);
	CHECK_INT(json_array_size(tags), 4);
	CHECK_INT(trunc, 1);
	json_array_clear(tags);
	trunc = 0;
	b = "{\"name\":\"x\",\"tags\":null}";
	CHECK_INT(reg_parse_tags(b, strlen(b), "x", tags, 4, &trunc, err,
	    sizeof(err)), 0);
	CHECK_INT(json_array_size(tags), 0);
	b = "{\"name\":\"y\",\"tags\":[]}";
	CHECK_INT(reg_parse_tags(b, strlen(b), "x", tags, 4, &trunc, err,
	    sizeof(err)), -1);
	CHECK(strstr(err, "another repository") != NULL);
	b = "{\"name\":\"x\",\"tags\":[\"ok\",\"bad tag\"]}";
	CHECK_INT(reg_parse_tags(b, strlen(b), "x", tags, 4, &trunc, err,
	    sizeof(err)), -1);
	CHECK(strstr(err, "tags[1]") != NULL);
	b = "{\"name\":\"x\",\"tags\":[1]}";
	CHECK_INT(reg_parse_tags(b, strlen(b), "x", tags, 4, &trunc, err,
	    sizeof(err)), -1);
	b = "<html>502 Bad Gateway</html>";
	CHECK_INT(reg_parse_tags(b, strlen(b), "x", tags, 4, &trunc, err,
	    sizeof(err)), -1);
	CHECK(strstr(err, "not JSON") != NULL);
	b = "{\"name\":\"x\",\"name\":\"x\"}";
	CHECK_INT(reg_parse_tags(b, strlen(b), "x", tags, 4, &trunc, err,
	    sizeof(err)), -1);
	b = "{\"tags\":[]}";
	CHECK_INT(reg_parse_tags(b, strlen(b), "x", tags, 4, &trunc, err,
	    sizeof(err)), -1);
	json_decref(tags);
}

static void
test_manifest(void)
{
	struct reg_manifest	 m;
	char			 err[256];
	const char		*b;

	b = "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image."
	    "index.v1+json\",\"manifests\":[{\"mediaType\":\"application/vnd."
	    "oci.image.manifest.v1+json\",\"digest\":\"sha256:" D64 "\","
	    "\"size\":1,\"platform\":{\"os\":\"linux\",\"architecture\":"
	    "\"amd64\"}},{\"digest\":\"sha256:" D64 "\",\"platform\":{\"os\":"
	    "\"linux\",\"architecture\":\"arm\",\"variant\":\"v7\"}},"
	    "{\"digest\":\"sha256:" D64 "\",\"platform\":{\"os\":\"unknown\","
	    "\"architecture\":\"unknown\"}}]}";
	CHECK_INT(reg_parse_manifest(b, strlen(b), NULL, &m, err,
	    sizeof(err)), 0);
	CHECK_INT(m.is_index, 1);
	CHECK_INT(m.nplatforms, 2);
	CHECK_STR(m.plat[0].arch, "amd64");
	CHECK_STR(m.plat[1].variant, "v7");
	/* a Docker manifest list without mediaType in the body */
	b = "{\"schemaVersion\":2,\"manifests\":[{\"digest\":\"sha256:" D64
	    "\",\"platform\":{\"os\":\"linux\",\"architecture\":\"s390x\"}}]}";
	CHECK_INT(reg_parse_manifest(b, strlen(b), "application/vnd.docker."
	    "distribution.manifest.list.v2+json", &m, err, sizeof(err)), 0);
	CHECK_INT(m.is_index, 1);
	CHECK_STR(m.plat[0].arch, "s390x");
	/* an image manifest */
	b = "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image."
	    "manifest.v1+json\",\"config\":{\"digest\":\"sha256:" D64 "\"},"
	    "\"layers\":[]}";
	CHECK_INT(reg_parse_manifest(b, strlen(b), NULL, &m, err,
	    sizeof(err)), 0);
	CHECK_INT(m.is_index, 0);
	CHECK_STR(m.config_digest, "sha256:" D64);
	b = "{\"schemaVersion\":2,\"config\":{\"digest\":\"md5:x\"}}";
	CHECK_INT(reg_parse_manifest(b, strlen(b), NULL, &m, err,
	    sizeof(err)), -1);
	b = "{\"manifests\":[{\"digest\":\"sha256:" D64 "\",\"platform\":{"
	    "\"os\":\"linux\"}}]}";
	CHECK_INT(reg_parse_manifest(b, strlen(b), NULL, &m, err,
	    sizeof(err)), -1);
	CHECK(strstr(err, "manifests[0]") != NULL);
	b = "{\"mediaType\":\"application/vnd.oci.image.index.v1+json\","
	    "\"manifests\":{}}";
	CHECK_INT(reg_parse_manifest(b, strlen(b), NULL, &m, err,
	    sizeof(err)), -1);
	b = "[]";
	CHECK_INT(reg_parse_manifest(b, strlen(b), NULL, &m, err,
	    sizeof(err)), -1);
}

static void
test_token(void)
{
	char	 tok[64], err[256];
	int	 exp;
	const char *b;

	b = "{\"token\":\"abc.def\",\"expires_in\":300}";
	CHECK_INT(reg_parse_token(b, strlen(b), tok, sizeof(tok), &exp, err,
	    sizeof(err)), 0);
	CHECK_STR(tok, "abc.def");
	CHECK_INT(exp, 300);
	b = "{\"access_token\":\"x\",\"expires_in\":999999}";
	CHECK_INT(reg_parse_token(b, strlen(b), tok, sizeof(tok), &exp, err,
	    sizeof(err)), 0);
	CHECK_INT(exp, 3600);
	b = "{\"token\":\"x\"}";
	CHECK_INT(reg_parse_token(b, strlen(b), tok, sizeof(tok), &exp, err,
	    sizeof(err)), 0);
	CHECK_INT(exp, 60);
	b = "{\"token\":\"a b\"}";
	CHECK_INT(reg_parse_token(b, strlen(b), tok, sizeof(tok), &exp, err,
	    sizeof(err)), -1);
	CHECK(strstr(err, "a b") == NULL);	/* never quoted */
	b = "{\"token\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaa\"}";
	CHECK_INT(reg_parse_token(b, strlen(b), tok, sizeof(tok), &exp, err,
	    sizeof(err)), -1);
	b = "{}";
	CHECK_INT(reg_parse_token(b, strlen(b), tok, sizeof(tok), &exp, err,
	    sizeof(err)), -1);
}

static void
test_auth(void)
{
	struct reg_cred	 c;
	char		 err[256];
	const char	*b;

	/* "alice:s3cr:et" */
	b = "{\"auths\":{\"https://index.docker.io/v1/\":{\"auth\":"
	    "\"YWxpY2U6czNjcjpldA==\"},\"localhost:5000\":{\"username\":"
	    "\"bob\",\"password\":\"pw\"},\"quay.io\":{\"identitytoken\":"
	    "\"tok\"},\"bad.example\":{\"auth\":\"%%%%\"},\"nopw.example\":{"
	    "\"username\":\"x\"}}}";
	CHECK_INT(reg_auth_lookup(b, strlen(b), "docker.io", &c, err,
	    sizeof(err)), 1);
	CHECK_STR(c.user, "alice");
	CHECK_STR(c.pass, "s3cr:et");
	CHECK_INT(reg_auth_lookup(b, strlen(b), "localhost:5000", &c, err,
	    sizeof(err)), 1);
	CHECK_STR(c.user, "bob");
	CHECK_STR(c.pass, "pw");
	CHECK_INT(reg_auth_lookup(b, strlen(b), "quay.io", &c, err,
	    sizeof(err)), 1);
	CHECK_STR(c.identity, "tok");
	CHECK_INT(reg_auth_lookup(b, strlen(b), "localhost", &c, err,
	    sizeof(err)), 0);
	CHECK_INT(reg_auth_lookup(b, strlen(b), "bad.example", &c, err,
	    sizeof(err)), -1);
	CHECK(strstr(err, "auths.bad.example.auth") != NULL);
	CHECK_INT(reg_auth_lookup(b, strlen(b), "nopw.example", &c, err,
	    sizeof(err)), -1);
	CHECK_STR(c.user, "");	/* cleared on error */
	b = "{\"auths\":{\"x\":{\"auth\":\"bm9jb2xvbg==\"}}}";	/* "nocolon" */
	CHECK_INT(reg_auth_lookup(b, strlen(b), "x", &c, err, sizeof(err)),
	    -1);
	CHECK(strstr(err, "USER:PASSWORD") != NULL);
	CHECK(strstr(err, "nocolon") == NULL);
	b = "{\"credsStore\":\"desktop\"}";
	CHECK_INT(reg_auth_lookup(b, strlen(b), "x", &c, err, sizeof(err)), 0);
	b = "{\"auths\":[]}";
	CHECK_INT(reg_auth_lookup(b, strlen(b), "x", &c, err, sizeof(err)),
	    -1);
	reg_cred_clear(&c);
}

int
main(void)
{
	test_challenge();
	test_link();
	test_tags();
	test_manifest();
	test_token();
	test_auth();
	return T_DONE();
}
