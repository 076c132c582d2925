/*
 * test_pagetoken.c - the continue token of paged control answers
 * (base/pagetoken.h): a round trip, and each refusal with its message:
 * not a token (garbage, altered, too long, no id), a token of the other
 * command, a token of other filters; a buffer too small to hold one.
 */
#include <stdint.h>
#include <string.h>

#include "base/pagetoken.h"
#include "t.h"

int
main(void)
{
	char	tok[PAGETOKEN_MAX], err[256], big[PAGETOKEN_MAX + 8];
	int64_t	before = 0;

	CHECK_INT(pagetoken_encode("incidents", 1234, "state=open", tok,
	    sizeof(tok)), 0);
	CHECK(strspn(tok, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789-_") == strlen(tok));
	CHECK_INT(pagetoken_decode(tok, "incidents", "state=open", &before,
	    err, sizeof(err)), 0);
	CHECK_INT(before, 1234);

	CHECK_INT(pagetoken_decode(tok, "list", "state=open", &before, err,
	    sizeof(err)), -1);
	CHECK_STR(err, "the continue token is one of incidents, not of list");
	CHECK_INT(pagetoken_decode(tok, "incidents", "", &before, err,
	    sizeof(err)), -1);
	CHECK_STR(err, "the continue token was given for other filters "
	    "(state=open); repeat the first request's filters");
	CHECK_INT(pagetoken_encode("list", 7, "", tok, sizeof(tok)), 0);
	CHECK_INT(pagetoken_decode(tok, "list", "namespace=demo", &before,
	    err, sizeof(err)), -1);
	CHECK(strstr(err, "other filters (none)") != NULL);

	/* not tokens */
	CHECK_INT(pagetoken_decode("garbage!", "list", "", &before, err,
	    sizeof(err)), -1);
	CHECK(strncmp(err, "not a continue token", 20) == 0);
	CHECK_INT(pagetoken_decode("", "list", "", &before, err, sizeof(err)),
	    -1);
	CHECK_INT(pagetoken_decode("eyJ4IjoxfQ", "list", "", &before, err,
	    sizeof(err)), -1);	/* {"x":1} */
	CHECK(strncmp(err, "not a continue token", 20) == 0);
	memset(big, 'A', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	CHECK_INT(pagetoken_decode(big, "list", "", &before, err,
	    sizeof(err)), -1);
	CHECK_INT(pagetoken_encode("list", 0, "", tok, sizeof(tok)), 0);
	CHECK_INT(pagetoken_decode(tok, "list", "", &before, err,
	    sizeof(err)), -1);	/* no row has id 0 */
	/* a buffer too small */
	CHECK_INT(pagetoken_encode("list", 7, "", tok, 8), -1);
	return T_DONE();
}
