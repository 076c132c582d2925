/*
 * pagetoken.h - the continue token of a paged control answer (list,
 * incidents; proto/control.md, "Paging").
 *
 * A paged answer is newest first and ends at some id; the token says
 * where the next page starts and for which request, as the Kubernetes API
 * server's continue token does.  To clients it is opaque: base64url
 * without padding of the compact JSON {"cmd","before","filter"} -- the
 * command it continues, the id the next page starts below, and the
 * filters of the first request as one string, which every later request
 * must repeat.  Ids only grow, so paging by "below the last id" returns
 * every row that matched throughout exactly once, however many are added
 * meanwhile (those come on a later first page).
 */
#ifndef REMEDY_PAGETOKEN_H
#define REMEDY_PAGETOKEN_H

#include <stddef.h>
#include <stdint.h>

#define PAGETOKEN_MAX	512	/* bytes of a token, NUL included */

/* The token for cmd's next page: rows below before, filters filter (may
 * be ""); -1 when it does not fit in outlen. */
int	pagetoken_encode(const char *cmd, int64_t before, const char *filter,
	    char *out, size_t outlen);
/*
 * Read a token given to cmd with filters filter: 0 with *before set, or
 * -1 with a message saying what is wrong with it (not a token, a token
 * of another command, of other filters).
 */
int	pagetoken_decode(const char *token, const char *cmd,
	    const char *filter, int64_t *before, char *err, size_t errlen);

#endif
