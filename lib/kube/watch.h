/*
 * watch.h - incremental decoder for the watch stream framing.
 *
 * The API server sends one JSON document per line ({"type":...,"object":...}
 * then '\n', as Go's json.Encoder writes it); HTTP chunks do not align with
 * documents.  Bytes are appended once and each complete line is parsed once
 * (no re-scan of what was already parsed); a line longer than max is an
 * error, so a broken server cannot grow the buffer without bound.
 */
#ifndef REMEDY_KUBE_WATCH_H
#define REMEDY_KUBE_WATCH_H

#include <stddef.h>

#include <jansson.h>

/* type and object are borrowed for the call. Return non-zero to stop. */
typedef int	(*watch_event_fn)(const char *type, json_t *object, void *arg);

struct watch_decoder {
	char	*buf;
	size_t	 len, cap, max;
	size_t	 scanned;	/* bytes of buf already searched for '\n' */
	size_t	 offset;	/* stream offset of buf[0], for messages */
	char	 err[256];
};

void	watch_decoder_init(struct watch_decoder *, size_t max);
/* Returns 0; -1 on a malformed document or an over-long line (message in
 * d->err); 1 when fn asked to stop. */
int	watch_decoder_feed(struct watch_decoder *, const char *data, size_t len,
	    watch_event_fn fn, void *arg);
/* Bytes held that do not yet form a whole line. */
size_t	watch_decoder_pending(const struct watch_decoder *);
void	watch_decoder_clear(struct watch_decoder *);

#endif
