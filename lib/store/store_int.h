/*
 * store_int.h - internals shared by the store modules (store.c,
 * store_incident.c, store_action.c, store_audit.c).
 *
 * PRIVATE to the store modules: nothing else includes this file.  The
 * public contract is store.h.
 */
#ifndef REMEDY_STORE_INT_H
#define REMEDY_STORE_INT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <sqlite3.h>

#include "store/store.h"

/* Limits; store.c's header comment says which field gets which. */
#define STORE_MAX_TEXT		4096
#define STORE_MAX_LONG		65536
#define STORE_MAX_NAME		512
#define STORE_MAX_PATH		2048
#define STORE_MAX_JSON		(1024 * 1024)
#define STORE_MAX_ROWS		100000
#define STORE_ERRLEN		512
#define STORE_MAX_STEPS		64	/* steps of one action, the patch included */

struct store {
	sqlite3		*db;
	char		 err[STORE_ERRLEN];
	/* store_batch() and the transaction in progress (store.c) */
	int		 batching;	/* batched writes share one
					 * transaction */
	int		 batch_open;	/* that transaction is open */
	int		 nested;	/* a function's savepoint is open */
	int		 durable;	/* ... and its commit flushes */
	uint64_t	 batch_writes;	/* writes in the open batch */
	uint64_t	 commits, writes, lost;	/* store_counters() */
};

/* store.c: errors, statements and transactions */
int		 st_seterr(struct store *, int code, const char *fmt, ...)
		    __attribute__((format(printf, 3, 4)));
int		 st_dberr(struct store *, const char *what);
int		 st_prep(struct store *, const char *sql, sqlite3_stmt **st);
int		 st_begin(struct store *);
int		 st_begin_batched(struct store *);
int		 st_commit(struct store *);
void		 st_rollback(struct store *);

/* store.c: arguments and columns */
int		 st_bind_text(sqlite3_stmt *st, int i, const char *v);
char		*st_col_dup(sqlite3_stmt *st, int i);
const char	*st_col_str(sqlite3_stmt *st, int i);
int		 st_check_text(struct store *, const char *what, const char *v,
		    size_t max, int required);
int		 st_canon_json(struct store *, const char *what, const json_t *v,
		    int kind, char **out);
int		 st_col_json(struct store *, sqlite3_stmt *st, int i,
		    const char *what, int64_t id, json_t **out);

/* store.c: values for the JSON views */
json_t		*st_jstr(const char *v);
json_t		*st_jtime(int64_t ms);
json_t		*st_jref(json_t *v);

/* store_stats.c: the count a statement with two text parameters
 * selects, -1 on error */
int64_t		 st_count(struct store *, const char *sql, const char *a,
		    const char *b);

/* store_diagnosis.c: set "diagnosis" (object or null) on each incident
 * object of arr (by its "id"). */
void		 st_diagnosis_attach(struct store *, json_t *arr);

/* store_action.c: state is one of the '|'-separated states in from */
int		 st_state_in(const char *state, const char *from);

/* store_step.c: the steps of a multi-step action, inside the caller's
 * transaction (see the top of store_step.c) */
int		 st_steps_check(struct store *, json_t *steps);
int		 st_steps_insert(struct store *, int64_t id, const char *api_path,
		    json_t *steps, int64_t now);
int		 st_steps_load(struct store *, int64_t id, json_t **out);
int		 st_step_move(struct store *, int64_t id, int n,
		    const char *from, const char *to, json_t *result,
		    int *moved);
int		 st_steps_open(struct store *, int64_t id);

/* store_audit.c: one audit row, inside the caller's transaction */
int		 store_audit_append(struct store *, int64_t when, int64_t action_id,
		    const char *event, const struct store_actor *who,
		    json_t *detail);

#endif
