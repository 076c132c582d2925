/*
 * storetest.h - fixtures the store tests share: a count read through a
 * connection of its own, an incident, and the rollback action of
 * Deployment demo/web.  Include once per test program; the functions are
 * static.
 */
#ifndef REMEDY_STORETEST_H
#define REMEDY_STORETEST_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sqlite3.h>

#include "store/store.h"

#define ST_UNUSED	__attribute__((unused))

/* One integer from a query on a second connection, -1 on error. */
static ST_UNUSED long long
raw_int(const char *path, const char *sql)
{
	sqlite3		*db = NULL;
	sqlite3_stmt	*st = NULL;
	long long	 v = -1;

	if (sqlite3_open(path, &db) != SQLITE_OK)
		goto out;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		goto out;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
out:
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

/* An ImagePullBackOff incident of kind demo/name; its id, 0 on error. */
static ST_UNUSED int64_t
incident_of(struct store *s, const char *kind, const char *name)
{
	struct store_incident	inc;
	char			fp[256];

	memset(&inc, 0, sizeof(inc));
	snprintf(fp, sizeof(fp), "image-pull/demo/%s/%s/X", kind, name);
	inc.fingerprint = fp;
	inc.analyzer = (char *)"image-pull";
	inc.namespace = (char *)"demo";
	inc.kind = (char *)kind;
	inc.name = (char *)name;
	inc.reason = (char *)"ImagePullBackOff";
	inc.summary = (char *)"pods cannot pull";
	if (store_incident_upsert(s, &inc) != STORE_OK)
		return 0;
	return inc.id;
}

/*
 * The rollback of Deployment demo/web for incident inc, normalised
 * (generation test, test old + replace new): pending, or refused with
 * refused and rule; inverse (may be NULL) is stored with it.  Its id, 0
 * when the store refused it.
 */
static ST_UNUSED int64_t
rollback_action(struct store *s, int64_t inc, json_t *inverse,
    const char *rule, const char *refused)
{
	struct store_action	a;
	int64_t			id = 0;

	memset(&a, 0, sizeof(a));
	a.incident_id = inc;
	a.namespace = (char *)"demo";
	a.kind = (char *)"Deployment";
	a.name = (char *)"web";
	a.api_path = (char *)"/apis/apps/v1/namespaces/demo/deployments/web";
	a.backend = (char *)"rules";
	a.risk = (char *)"low";
	a.summary = (char *)"Roll back web";
	a.evidence = json_array();
	a.patch = json_pack("[{s:s,s:s,s:i},{s:s,s:s,s:s},{s:s,s:s,s:s}]",
	    "op", "test", "path", "/metadata/generation", "value", 2,
	    "op", "test", "path", "/spec/template/spec/containers/0/image",
	    "value", "nginx:typo",
	    "op", "replace", "path", "/spec/template/spec/containers/0/image",
	    "value", "nginx:1.25");
	a.changes = json_pack("[{s:s,s:s,s:s}]", "path",
	    "/spec/template/spec/containers/0/image", "before", "nginx:typo",
	    "after", "nginx:1.25");
	a.inverse = inverse;
	a.rule = (char *)rule;
	a.approved_uid = -1;
	if (store_action_propose(s, &a, refused, NULL) == STORE_OK)
		id = a.id;
	json_decref(a.evidence);
	json_decref(a.patch);
	json_decref(a.changes);
	free(a.state);
	return id;
}

#endif
