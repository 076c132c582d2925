/*
 * store_stats.c - row counts: by state, for the metrics endpoint and
 * status; of a filtered view, for list and incidents.
 */
#include <string.h>

#include "store/store_int.h"

int
store_state_counts(struct store *s, const char *what,
    void (*fn)(const char *state, int64_t n, void *arg), void *arg)
{
	sqlite3_stmt	*st = NULL;
	const char	*sql;
	int		 rc, n = 0;

	if (strcmp(what, "actions") == 0)
		sql = "SELECT state, COUNT(*) FROM actions GROUP BY state";
	else if (strcmp(what, "incidents") == 0)
		sql = "SELECT state, COUNT(*) FROM incidents GROUP BY state";
	else
		return st_seterr(s, STORE_EINVAL, "store: no table \"%s\"",
		    what);
	if ((rc = st_prep(s, sql, &st)) != STORE_OK)
		return rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && n++ < 64)
		fn(st_col_str(st, 0), sqlite3_column_int64(st, 1), arg);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		rc = st_dberr(s, "count by state");
		sqlite3_finalize(st);
		return rc;
	}
	sqlite3_finalize(st);
	return STORE_OK;
}

/* The count a constant statement with two text parameters (NULL allowed)
 * selects; -1 with the message set on error. */
int64_t
st_count(struct store *s, const char *sql, const char *a, const char *b)
{
	sqlite3_stmt	*st = NULL;
	int64_t		 n = -1;

	if (st_prep(s, sql, &st) != STORE_OK)
		return -1;
	st_bind_text(st, 1, a);
	st_bind_text(st, 2, b);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	else
		st_dberr(s, "count");
	sqlite3_finalize(st);
	return n;
}
