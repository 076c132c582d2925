/*
 * proposal.c - freeing a proposal (proposal.h).
 */
#include <stdlib.h>
#include <string.h>

#include "action/proposal.h"

void
proposal_clear(struct proposal *p)
{
	free(p->root_cause);
	json_decref(p->evidence);
	json_decref(p->patch);
	json_decref(p->changes);
	json_decref(p->inverse);
	json_decref(p->proposed);
	json_decref(p->steps);
	memset(p, 0, sizeof(*p));
}
