/*
 * fuzz_registry.c - what a registry answers (lib/registry/wire.h) and the
 * image references it names (lib/registry/ref.h).
 *
 * Input: one selector byte, then the answer.  '0' WWW-Authenticate, '1'
 * Link, '2' tags list JSON, '3' manifest, '4' token reply, '5' auth file,
 * '6' image reference.  Each parser either accepts with bounded,
 * well-formed output or fails with a message; an accepted reference
 * formats and parses back to itself.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "fuzz.h"
#include "registry/ref.h"
#include "registry/wire.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

static void
one(int sel, const char *s, size_t n)
{
	struct reg_challenge	 c;
	struct reg_manifest	 m;
	struct reg_cred		 cred;
	struct imgref		 r, r2;
	char			 err[512], url[REG_URL_MAX], tok[REG_TOKEN_MAX];
	char			 buf[2048];
	json_t			*tags, *t;
	size_t			 i;
	int			 trunc = 0, exp, rc;

	err[0] = '\0';
	switch (sel) {
	case '0':
		if (reg_parse_challenge(s, &c, err, sizeof(err)) == 0) {
			fuzz_check(!strcmp(c.scheme, "bearer") ||
			    !strcmp(c.scheme, "basic"));
			if (!strcmp(c.scheme, "bearer"))
				fuzz_check(!strncmp(c.realm, "http", 4));
		} else
			fuzz_check(err[0] != '\0');
		break;
	case '1':
		rc = reg_parse_link_next(s, url, sizeof(url), err, sizeof(err));
		fuzz_check(rc >= -1 && rc <= 1);
		if (rc == 1)
			fuzz_check(url[0] == '/' || !strncmp(url, "http", 4));
		if (rc == -1)
			fuzz_check(err[0] != '\0');
		break;
	case '2':
		tags = json_array();
		if (reg_parse_tags(s, n, NULL, tags, 1000, &trunc, err,
		    sizeof(err)) == 0) {
			fuzz_check(json_array_size(tags) <= 1000);
			json_array_foreach(tags, i, t)
				fuzz_check(imgref_valid_tag(
				    json_string_value(t)));
		} else
			fuzz_check(err[0] != '\0');
		json_decref(tags);
		break;
	case '3':
		if (reg_parse_manifest(s, n, "application/vnd.oci.image."
		    "index.v1+json", &m, err, sizeof(err)) == 0) {
			fuzz_check(m.nplatforms <= REG_MAX_PLATFORMS);
			for (i = 0; i < m.nplatforms; i++)
				fuzz_check(imgref_valid_digest(m.plat[i].digest));
		} else
			fuzz_check(err[0] != '\0');
		break;
	case '4':
		if (reg_parse_token(s, n, tok, sizeof(tok), &exp, err,
		    sizeof(err)) == 0)
			fuzz_check(exp > 0 && exp <= 3600 && tok[0] != '\0');
		else
			fuzz_check(err[0] != '\0');
		break;
	case '5':
		rc = reg_auth_lookup(s, n, "docker.io", &cred, err,
		    sizeof(err));
		if (rc == 1)
			fuzz_check(cred.identity[0] != '\0' ||
			    (cred.user[0] != '\0' && cred.pass[0] != '\0'));
		reg_cred_clear(&cred);
		break;
	case '6':
		if (imgref_parse(s, &r, err, sizeof(err)) == 0) {
			fuzz_check(imgref_format(&r, buf, sizeof(buf)) == 0);
			fuzz_check(imgref_parse(buf, &r2, err,
			    sizeof(err)) == 0);
			fuzz_check(memcmp(&r, &r2, sizeof(r)) == 0);
		} else
			fuzz_check(err[0] != '\0');
		break;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	*s;

	if (size < 1 || size > 256 * 1024)
		return 0;
	/* the header parsers take C strings: stop at the first NUL */
	if ((s = malloc(size)) == NULL)
		return 0;
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	one(data[0], s, size - 1);
	free(s);
	return 0;
}
