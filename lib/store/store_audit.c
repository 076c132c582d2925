/*
 * store_audit.c - the hash-chained audit log: appending a row inside a
 * transition's transaction, the audit view and the chain check.  See
 * store.h for the chain's definition.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <sqlite3.h>

#include "base/util.h"
#include "store/store.h"
#include "store/store_int.h"

#define HASH_HEXLEN		64

static const char zero_hash[HASH_HEXLEN + 1] =
    "0000000000000000000000000000000000000000000000000000000000000000";

/* --- audit chain --- */

/*
 * hex(sha256(prev || canon)) into out (HASH_HEXLEN + 1 bytes).  Returns -1
 * only when libcrypto fails.
 */
static int
chain_hash(const char *prev, const char *canon, char *out)
{
	static const char	 hex[] = "0123456789abcdef";
	EVP_MD_CTX		*ctx;
	unsigned char		 md[EVP_MAX_MD_SIZE];
	unsigned int		 mdlen = 0, i;
	int			 rc = -1;

	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return -1;
	if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(ctx, prev, strlen(prev)) != 1 ||
	    EVP_DigestUpdate(ctx, canon, strlen(canon)) != 1 ||
	    EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 || mdlen * 2 != HASH_HEXLEN)
		goto out;
	for (i = 0; i < mdlen; i++) {
		out[i * 2] = hex[md[i] >> 4];
		out[i * 2 + 1] = hex[md[i] & 0xf];
	}
	out[HASH_HEXLEN] = '\0';
	rc = 0;
out:
	EVP_MD_CTX_free(ctx);
	return rc;
}

/*
 * Canonical text of one audit row: the key-sorted compact JSON of
 * {action_id, actor, actor_uid, detail, event, seq, time}.  Caller frees.
 */
static char *
canon_row(int64_t seq, int64_t time_ms, int64_t action_id, const char *event,
    const char *actor, int64_t actor_uid, json_t *detail)
{
	json_t	*o;
	char	*c = NULL;

	o = json_pack("{s:I, s:s, s:I, s:O, s:s, s:I, s:I}",
	    "action_id", (json_int_t)action_id, "actor", actor,
	    "actor_uid", (json_int_t)actor_uid, "detail", detail,
	    "event", event, "seq", (json_int_t)seq, "time", (json_int_t)time_ms);
	if (o != NULL)
		c = json_canon(o);
	json_decref(o);
	return c;
}

/*
 * Append one audit row inside the caller's transaction: the next seq, the
 * previous row's hash, the canonical detail and the chained hash.
 */
int
store_audit_append(struct store *s, int64_t when, int64_t action_id,
    const char *event, const struct store_actor *who, json_t *detail)
{
	sqlite3_stmt	*st = NULL;
	char		 prev[HASH_HEXLEN + 1], hash[HASH_HEXLEN + 1];
	char		*dtext = NULL, *row = NULL;
	int64_t		 seq = 1;
	int		 rc, step;

	if ((rc = st_canon_json(s, "audit detail", detail, JSON_OBJECT, &dtext)) !=
	    STORE_OK)
		goto out;
	if ((rc = st_prep(s, "SELECT seq, hash FROM audit ORDER BY seq DESC "
	    "LIMIT 1", &st)) != STORE_OK)
		goto out;
	rc = STORE_EDB;
	snprintf(prev, sizeof(prev), "%s", zero_hash);
	if ((step = sqlite3_step(st)) == SQLITE_ROW) {
		seq = sqlite3_column_int64(st, 0) + 1;
		snprintf(prev, sizeof(prev), "%s", st_col_str(st, 1));
	} else if (step != SQLITE_DONE) {
		st_dberr(s, "read audit tail");
		goto out;
	}
	sqlite3_finalize(st);
	st = NULL;
	if ((row = canon_row(seq, when, action_id, event, who->name, who->uid,
	    detail)) == NULL) {
		st_seterr(s, STORE_EDB, "store: cannot serialise audit row");
		goto out;
	}
	if (chain_hash(prev, row, hash) == -1) {
		st_seterr(s, STORE_EDB, "store: sha256 failed");
		goto out;
	}
	if ((rc = st_prep(s, "INSERT INTO audit (seq, time_ms, action_id, event, "
	    "actor, actor_uid, detail, prev_hash, hash) "
	    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", &st)) != STORE_OK)
		goto out;
	rc = STORE_EDB;
	sqlite3_bind_int64(st, 1, seq);
	sqlite3_bind_int64(st, 2, when);
	sqlite3_bind_int64(st, 3, action_id);
	st_bind_text(st, 4, event);
	st_bind_text(st, 5, who->name);
	sqlite3_bind_int64(st, 6, who->uid);
	st_bind_text(st, 7, dtext);
	st_bind_text(st, 8, prev);
	st_bind_text(st, 9, hash);
	if (sqlite3_step(st) != SQLITE_DONE) {
		st_dberr(s, "insert audit row");
		goto out;
	}
	rc = STORE_OK;
out:
	sqlite3_finalize(st);
	free(dtext);
	free(row);
	return rc;
}

/* --- audit views --- */

/*
 * Audit rows, oldest first, for one action (0 = all) at or after since_ms
 * (0 = all); at most STORE_MAX_ROWS.  A detail that no longer parses (the
 * row was tampered with) is shown as its raw text.  NULL on error.
 */
json_t *
store_audit_json(struct store *s, int64_t action_id, int64_t since_ms)
{
	sqlite3_stmt	*st = NULL;
	json_t		*arr = NULL, *o, *d;
	char		 t[64];
	int		 step, ok = 0;

	if (st_prep(s, "SELECT seq, time_ms, action_id, event, actor, actor_uid, "
	    "detail, prev_hash, hash FROM audit WHERE (?1 = 0 OR action_id = "
	    "?1) AND time_ms >= ?2 ORDER BY seq LIMIT ?3", &st) != STORE_OK)
		return NULL;
	sqlite3_bind_int64(st, 1, action_id);
	sqlite3_bind_int64(st, 2, since_ms);
	sqlite3_bind_int(st, 3, STORE_MAX_ROWS);
	if ((arr = json_array()) == NULL)
		goto out;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		fmt_rfc3339(sqlite3_column_int64(st, 1), t, sizeof(t));
		if ((d = json_loads(st_col_str(st, 6), 0, NULL)) == NULL)
			d = st_jstr(st_col_str(st, 6));
		o = json_pack("{s:I, s:s, s:I, s:I, s:o, s:o, s:I, s:o, s:o, "
		    "s:o}",
		    "seq", (json_int_t)sqlite3_column_int64(st, 0),
		    "time", t,
		    "time_ms", (json_int_t)sqlite3_column_int64(st, 1),
		    "action_id", (json_int_t)sqlite3_column_int64(st, 2),
		    "event", st_jstr(st_col_str(st, 3)),
		    "actor", st_jstr(st_col_str(st, 4)),
		    "actor_uid", (json_int_t)sqlite3_column_int64(st, 5),
		    "detail", d,
		    "prev_hash", st_jstr(st_col_str(st, 7)),
		    "hash", st_jstr(st_col_str(st, 8)));
		if (o == NULL || json_array_append_new(arr, o) == -1) {
			st_seterr(s, STORE_EDB, "store: out of memory");
			goto out;
		}
	}
	if (step != SQLITE_DONE) {
		st_dberr(s, "list audit");
		goto out;
	}
	ok = 1;
out:
	sqlite3_finalize(st);
	if (!ok) {
		json_decref(arr);
		arr = NULL;
	}
	return arr;
}

/*
 * Walk the chain in seq order.  A row is bad when its prev_hash is not the
 * previous row's hash (a row was deleted or inserted) or when its hash does
 * not match its content (a row was edited).  The first bad row is reported;
 * deleting the newest rows cannot be seen from inside the chain.
 */
int
store_audit_verify(struct store *s, int64_t *rows, int64_t *bad_seq,
    char *why, size_t whylen)
{
	sqlite3_stmt	*st = NULL;
	json_t		*detail;
	char		 prev[HASH_HEXLEN + 1], hash[HASH_HEXLEN + 1];
	char		*row;
	int64_t		 seq = 0, prev_seq = 0, n = 0;
	int		 rc, step;

	*rows = 0;
	*bad_seq = 0;
	if (whylen > 0)
		*why = '\0';
	if ((rc = st_prep(s, "SELECT seq, time_ms, action_id, event, actor, "
	    "actor_uid, detail, prev_hash, hash FROM audit ORDER BY seq",
	    &st)) != STORE_OK)
		return rc;
	snprintf(prev, sizeof(prev), "%s", zero_hash);
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		seq = sqlite3_column_int64(st, 0);
		n++;
		if (strcmp(st_col_str(st, 7), prev) != 0) {
			if (prev_seq == 0)
				snprintf(why, whylen, "row %lld: prev_hash is "
				    "not the chain start (row deleted?)",
				    (long long)seq);
			else
				snprintf(why, whylen, "row %lld: prev_hash "
				    "does not match row %lld (row deleted?)",
				    (long long)seq, (long long)prev_seq);
			goto bad;
		}
		if ((detail = json_loads(st_col_str(st, 6), 0, NULL)) == NULL) {
			snprintf(why, whylen, "row %lld: detail is not valid "
			    "JSON (edited?)", (long long)seq);
			goto bad;
		}
		row = canon_row(seq, sqlite3_column_int64(st, 1),
		    sqlite3_column_int64(st, 2), st_col_str(st, 3),
		    st_col_str(st, 4), sqlite3_column_int64(st, 5), detail);
		json_decref(detail);
		if (row == NULL) {
			snprintf(why, whylen, "row %lld: not valid UTF-8 text "
			    "(edited?)", (long long)seq);
			goto bad;
		}
		if (chain_hash(prev, row, hash) == -1) {
			free(row);
			rc = st_seterr(s, STORE_EDB, "store: sha256 failed at "
			    "audit row %lld", (long long)seq);
			goto out;
		}
		free(row);
		if (strcmp(hash, st_col_str(st, 8)) != 0) {
			snprintf(why, whylen, "row %lld: hash mismatch "
			    "(edited?)", (long long)seq);
			goto bad;
		}
		snprintf(prev, sizeof(prev), "%s", hash);
		prev_seq = seq;
	}
	if (step != SQLITE_DONE) {
		rc = st_dberr(s, "read audit");
		goto out;
	}
	*rows = n;
	rc = 0;
	goto out;
bad:
	*rows = n;
	*bad_seq = seq;
	rc = 1;
out:
	sqlite3_finalize(st);
	return rc;
}
