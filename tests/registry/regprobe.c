/*
 * regprobe - ask registries what lib/registry/registry.h asks them, for
 * the integration tests.
 *
 *   regprobe CONFIG [-b BUDGET] OP IMAGE [OP IMAGE ...]
 *
 * CONFIG is a remedyd.yaml (its registries: section is used); OP is
 * "tags", "head" or "get".  The operations run one after the other on one
 * client (so a repeated question shows the cache), sharing one request
 * budget.  Each answer is printed as one JSON line on stdout; the
 * client's log, at debug level, goes to stderr.  Exit 0
 * when every answer was printed, 2 on bad usage or a bad config.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>
#include <uv.h>

#include "base/http.h"
#include "base/log.h"
#include "conf/config.h"
#include "registry/registry.h"

struct probe {
	struct registry		*reg;
	struct reg_budget	 budget;
	char			**argv;
	int			 argc, i;
};

static void	next_op(struct probe *);

static void
on_answer(const struct reg_answer *a, void *arg)
{
	struct probe	*p = arg;
	json_t		*o, *plats;
	char		*s;
	size_t		 i;

	plats = json_array();
	for (i = 0; i < a->manifest.nplatforms; i++)
		json_array_append_new(plats, json_pack("{s:s,s:s,s:s}", "os",
		    a->manifest.plat[i].os, "architecture",
		    a->manifest.plat[i].arch, "variant",
		    a->manifest.plat[i].variant));
	o = json_pack("{s:s,s:s,s:s,s:s,s:i,s:i,s:b,s:b,s:i,s:O,s:s,s:b,s:o,"
	    "s:i}", "op", p->argv[p->i], "image", p->argv[p->i + 1],
	    "status", reg_status_name(a->status), "message", a->message,
	    "http_status", a->http_status, "requests", a->requests,
	    "cached", a->cached, "truncated", a->truncated, "pages", a->pages,
	    "tags", a->tags ? a->tags : json_null(), "digest", a->digest,
	    "index", a->manifest.is_index, "platforms", plats,
	    "budget_left", p->budget.left);
	s = json_dumps(o, JSON_COMPACT);
	printf("%s\n", s);
	fflush(stdout);
	free(s);
	json_decref(o);
	p->i += 2;
	next_op(p);
}

static void
next_op(struct probe *p)
{
	struct imgref	 ref;
	char		 err[256];
	const char	*op;
	int		 rc;

	for (; p->i + 1 < p->argc; p->i += 2) {
		op = p->argv[p->i];
		if (imgref_parse(p->argv[p->i + 1], &ref, err, sizeof(err)) ==
		    -1) {
			printf("{\"op\":\"%s\",\"status\":\"invalid\","
			    "\"message\":\"%s\"}\n", op, err);
			continue;
		}
		if (strcmp(op, "tags") == 0)
			rc = registry_tags(p->reg, &ref, &p->budget, on_answer,
			    p);
		else
			rc = registry_manifest(p->reg, &ref,
			    strcmp(op, "get") == 0, &p->budget, on_answer, p);
		if (rc == -1) {
			fprintf(stderr, "regprobe: cannot start %s\n", op);
			exit(1);
		}
		return;
	}
	registry_free(p->reg);
	p->reg = NULL;
}

int
main(int argc, char **argv)
{
	struct remedy_config	 cfg;
	struct probe		 p;
	struct http		*h;
	char			*errs = NULL;
	int			 first = 2;

	if (argc < 4) {
		fprintf(stderr, "usage: regprobe CONFIG [-b BUDGET] OP IMAGE "
		    "...\n");
		return 2;
	}
	memset(&p, 0, sizeof(p));
	log_init(LOG_DEBUG);	/* every line, for the tests' secret checks */
	config_init(&cfg);
	if (config_load(argv[1], &cfg, &errs) != 0) {
		fprintf(stderr, "%s", errs ? errs : "bad config\n");
		free(errs);
		return 2;
	}
	p.budget.left = cfg.registries.max_requests;
	if (strcmp(argv[2], "-b") == 0 && argc > 4) {
		p.budget.left = atoi(argv[3]);
		first = 4;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	h = http_new(uv_default_loop());
	p.reg = registry_new(h, &cfg.registries);
	p.argv = argv + first;
	p.argc = argc - first;
	next_op(&p);
	uv_run(uv_default_loop(), UV_RUN_DEFAULT);
	http_free(h);
	uv_run(uv_default_loop(), UV_RUN_DEFAULT);
	uv_loop_close(uv_default_loop());
	config_clear(&cfg);
	curl_global_cleanup();
	return 0;
}
