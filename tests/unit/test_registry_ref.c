/*
 * test_registry_ref.c - image reference parsing and normalisation
 * (lib/registry/ref.h) against the cases of distribution/reference's
 * normalize and reference tests.
 */
#include <stdio.h>
#include <string.h>

#include "registry/ref.h"
#include "t.h"

static const struct {
	const char	*in;
	const char	*domain, *path, *tag, *digest;
	const char	*familiar;
} good[] = {
	{ "docker/docker", "docker.io", "docker/docker", "", "",
	    "docker/docker" },
	{ "library/debian", "docker.io", "library/debian", "", "", "debian" },
	{ "debian", "docker.io", "library/debian", "", "", "debian" },
	{ "docker.io/docker/docker", "docker.io", "docker/docker", "", "",
	    "docker/docker" },
	{ "docker.io/library/debian", "docker.io", "library/debian", "", "",
	    "debian" },
	{ "docker.io/debian", "docker.io", "library/debian", "", "",
	    "debian" },
	{ "index.docker.io/docker/docker", "docker.io", "docker/docker", "",
	    "", "docker/docker" },
	{ "index.docker.io/library/debian", "docker.io", "library/debian",
	    "", "", "debian" },
	{ "index.docker.io/debian", "docker.io", "library/debian", "", "",
	    "debian" },
	{ "localhost/library/debian", "localhost", "library/debian", "", "",
	    "localhost/library/debian" },
	{ "localhost/debian", "localhost", "debian", "", "",
	    "localhost/debian" },
	{ "LOCALDOMAIN/library/debian", "LOCALDOMAIN", "library/debian", "",
	    "", "LOCALDOMAIN/library/debian" },
	{ "127.0.0.1:5000/docker/docker", "127.0.0.1:5000", "docker/docker",
	    "", "", "127.0.0.1:5000/docker/docker" },
	{ "127.0.0.1:5000/library/debian", "127.0.0.1:5000",
	    "library/debian", "", "", "127.0.0.1:5000/library/debian" },
	{ "127.0.0.1:5000/debian", "127.0.0.1:5000", "debian", "", "",
	    "127.0.0.1:5000/debian" },
	{ "192.168.0.1", "docker.io", "library/192.168.0.1", "", "",
	    "192.168.0.1" },
	{ "192.168.0.1:80", "docker.io", "library/192.168.0.1", "80", "",
	    "192.168.0.1:80" },
	{ "192.168.0.1:8/debian", "192.168.0.1:8", "debian", "", "",
	    "192.168.0.1:8/debian" },
	{ "192.168.0.2:25000/debian", "192.168.0.2:25000", "debian", "", "",
	    "192.168.0.2:25000/debian" },
	{ "thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev",
	    "docker.io",
	    "library/thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev",
	    "", "", "thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev" },
	{ "[fc00::1]:5000/docker", "[fc00::1]:5000", "docker", "", "",
	    "[fc00::1]:5000/docker" },
	{ "docker.io/1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a",
	    "docker.io",
	    "library/1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a",
	    "", "", "1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a" },
	{ "nginx:1.25", "docker.io", "library/nginx", "1.25", "",
	    "nginx:1.25" },
	{ "foo_bar.com:8080", "docker.io", "library/foo_bar.com", "8080", "",
	    "foo_bar.com:8080" },
	{ "foo/foo_bar.com:8080", "docker.io", "foo/foo_bar.com", "8080", "",
	    "foo/foo_bar.com:8080" },
	{ "a__b/c-d---e/f.g:Tag_1.x-Y", "docker.io", "a__b/c-d---e/f.g",
	    "Tag_1.x-Y", "", "a__b/c-d---e/f.g:Tag_1.x-Y" },
	{ "quay.io/org/app:v1@sha256:"
	    "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
	    "quay.io", "org/app", "v1", "sha256:"
	    "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
	    "quay.io/org/app:v1@sha256:"
	    "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff" },
	{ "busybox@sha256:"
	    "d366a4665ab44f0648d7a00ae3fae139d55e32f9712c67accd604bb55df9d05a",
	    "docker.io", "library/busybox", "", "sha256:"
	    "d366a4665ab44f0648d7a00ae3fae139d55e32f9712c67accd604bb55df9d05a",
	    "busybox@sha256:"
	    "d366a4665ab44f0648d7a00ae3fae139d55e32f9712c67accd604bb55df9d05a" },
	{ "localhost:5000/app:latest", "localhost:5000", "app", "latest", "",
	    "localhost:5000/app:latest" },
	{ "example.foo.this.may.be.garbage.but.maybe.not:1234/fedora:latest",
	    "example.foo.this.may.be.garbage.but.maybe.not:1234", "fedora",
	    "latest", "",
	    "example.foo.this.may.be.garbage.but.maybe.not:1234/fedora:latest" },
};

static const struct {
	const char	*in;
	const char	*why;	/* a word of the reason */
} bad[] = {
	{ "", "empty" },
	{ "https://github.com/docker/docker", "registry host" },
	{ "docker/Docker", "lower case" },
	{ "-docker", "component" },
	{ "-docker/docker", "component" },
	{ "-docker.io/docker/docker", "registry host" },
	{ "docker:///docker", "registry host" },
	{ "docker.io/docker/Docker", "lower case" },
	{ "docker.io/docker///docker", "component" },
	{ "1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a",
	    "image ID" },
	{ "aa/asdf$$^/aa", "component" },
	{ "Uppercase:tag", "lower case" },
	{ "test image:1", "space" },
	{ ":", "tag" },
	{ "docker.io/:1", "no repository" },
	{ "nginx:", "tag" },
	{ "nginx:.x", "tag" },
	{ "private.registry:port/namespace/test:1", "registry host" },
	{ "private.registry:5000/namespace/test:image:1", "component" },
	{ "private@registry:5000/test", "registry host" },
	{ "nginx@sha256:abc", "digest" },
	{ "nginx@sha256:"
	    "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF",
	    "digest" },
	{ "nginx:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	    "128" },
	{ "a.b/c_/d", "component" },
	{ "a/b_-c", "component" },
	{ "a/b___c", "component" },
	{ "nginx\n", "control" },
};

int
main(void)
{
	struct imgref	 r;
	char		 err[256], buf[1024], longname[400];
	size_t		 i;
	int		 rc;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		err[0] = '\0';
		rc = imgref_parse(good[i].in, &r, err, sizeof(err));
		if (rc != 0)
			fprintf(stderr, "%s: %s\n", good[i].in, err);
		CHECK_INT(rc, 0);
		CHECK_STR(r.domain, good[i].domain);
		CHECK_STR(r.path, good[i].path);
		CHECK_STR(r.tag, good[i].tag);
		CHECK_STR(r.digest, good[i].digest);
		CHECK_INT(imgref_familiar(&r, buf, sizeof(buf)), 0);
		CHECK_STR(buf, good[i].familiar);
		/* the canonical form parses back to itself */
		CHECK_INT(imgref_format(&r, buf, sizeof(buf)), 0);
		{
			struct imgref	r2;

			CHECK_INT(imgref_parse(buf, &r2, err, sizeof(err)), 0);
			CHECK(memcmp(&r, &r2, sizeof(r)) == 0);
		}
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		rc = imgref_parse(bad[i].in, &r, err, sizeof(err));
		if (rc != -1 || strstr(err, bad[i].why) == NULL)
			fprintf(stderr, "\"%s\": rc %d, \"%s\" (want \"%s\")\n",
			    bad[i].in, rc, err, bad[i].why);
		CHECK_INT(rc, -1);
		CHECK(strstr(err, bad[i].why) != NULL);
		CHECK(strncmp(err, "invalid reference: ", 19) == 0);
	}

	/* the name limit counts the normalised name: 255 bytes */
	memcpy(longname, "quay.io/", 8);
	memset(longname + 8, 'a', 247);
	longname[8 + 247] = '\0';
	CHECK_INT(imgref_parse(longname, &r, err, sizeof(err)), 0);
	longname[8 + 247] = 'a';
	longname[8 + 248] = '\0';
	CHECK_INT(imgref_parse(longname, &r, err, sizeof(err)), -1);
	CHECK(strstr(err, "255") != NULL);
	/* one word on docker.io counts library/ too */
	memset(longname, 'b', 238);
	longname[238] = '\0';
	CHECK_INT(imgref_parse(longname, &r, err, sizeof(err)), -1);
	longname[237] = '\0';
	CHECK_INT(imgref_parse(longname, &r, err, sizeof(err)), 0);

	CHECK_STR(imgref_api_host("docker.io"), "registry-1.docker.io");
	CHECK_STR(imgref_api_host("localhost:5000"), "localhost:5000");
	CHECK_INT(imgref_parse("nginx:1.25", &r, err, sizeof(err)), 0);
	CHECK_INT(imgref_name(&r, buf, sizeof(buf)), 0);
	CHECK_STR(buf, "docker.io/library/nginx");
	CHECK_INT(imgref_format(&r, buf, 10), -1);
	CHECK(imgref_valid_tag("1.25"));
	CHECK(!imgref_valid_tag("-1"));
	CHECK(imgref_valid_digest("sha256:"
	    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"));
	CHECK(imgref_valid_digest("blake3:"
	    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"));
	CHECK(!imgref_valid_digest("blake3:0123456789abcdef"));
	CHECK(!imgref_valid_digest("sha256+:"
	    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"));
	return T_DONE();
}
