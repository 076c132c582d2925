/*
 * fuzz_watch.c - the watch-stream decoder (lib/kube/watch.h), the LIST
 * scanner (lib/kube/list.h) and the projections (lib/kube/objects.h) every
 * decoded object goes through.
 *
 * Input: byte 0 picks the chunk sizes, the rest is the stream.  The stream
 * is decoded twice, once in one piece and once in chunks as HTTP might
 * deliver it; both must yield the same events and the same verdict (the
 * decoder must not depend on where chunks end).
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "fuzz.h"
#include "kube/list.h"
#include "kube/objects.h"
#include "kube/watch.h"

#define FUZZ_WATCH_MAX		4096	/* small, so the limit gets hit */
#define FUZZ_WATCH_EVENTS	256

struct seen {
	size_t		 n;
	unsigned long	 hash[FUZZ_WATCH_EVENTS];
};

static unsigned long
hash_str(unsigned long h, const char *s)
{
	while (*s != '\0')
		h = h * 33 + (unsigned char)*s++;
	return h * 33 + 1;
}

static int
on_event(const char *type, json_t *object, void *arg)
{
	struct seen	*s = arg;
	unsigned long	 h = hash_str(5381, type);
	void		*p;
	char		*dump;

	/* Every projection must cope with any object. */
	if ((p = kobj_pod_project(object)) != NULL)
		kobj_pod_free(p);
	if ((p = kobj_replicaset_project(object)) != NULL)
		kobj_replicaset_free(p);
	if ((p = kobj_deployment_project(object)) != NULL) {
		kdeployment_healthy(p);
		kobj_deployment_free(p);
	}
	if ((dump = json_dumps(object, JSON_COMPACT | JSON_SORT_KEYS)) !=
	    NULL) {
		h = hash_str(h, dump);
		free(dump);
	}
	if (s->n < FUZZ_WATCH_EVENTS)
		s->hash[s->n] = h;
	s->n++;
	/* A callback may stop the stream; exercise that path too. */
	return strcmp(type, "STOP") == 0;
}

static int
decode(const uint8_t *data, size_t size, unsigned step, struct seen *s)
{
	struct watch_decoder	 d;
	size_t			 off = 0, n;
	int			 rc = 0;

	watch_decoder_init(&d, FUZZ_WATCH_MAX);
	while (off < size && rc == 0) {
		n = step == 0 ? size - off : step + (off % 7);
		if (n > size - off)
			n = size - off;
		rc = watch_decoder_feed(&d, (const char *)data + off, n,
		    on_event, s);
		off += n;
	}
	if (rc == -1)
		fuzz_check(d.err[0] != '\0');
	(void)watch_decoder_pending(&d);
	watch_decoder_clear(&d);
	return rc;
}

static int
on_item(json_t *item, size_t i, void *arg)
{
	(void)i;
	return on_event("ADDED", item, arg);
}

/*
 * The same bytes as a LIST answer: whatever it says, the scanner hands on
 * only what jansson parsed and an error names the byte; when jansson also
 * accepts the whole document, the scanner saw as many items.
 */
static void
list(const uint8_t *data, size_t size)
{
	struct seen	*s;
	json_t		*meta = NULL, *doc, *items;
	json_error_t	 jerr;
	char		 err[256];
	int		 rc;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return;
	err[0] = '\0';
	rc = kube_list_scan((const char *)data, size, on_item, s, &meta, err,
	    sizeof(err));
	if (rc == -1)
		fuzz_check(meta == NULL && strstr(err, " at byte ") != NULL);
	if (rc == 0) {
		doc = json_loadb((const char *)data, size, 0, &jerr);
		items = json_object_get(doc, "items");
		if (json_is_array(items))
			fuzz_check(json_array_size(items) == s->n);
		json_decref(doc);
	}
	json_decref(meta);
	free(s);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct seen	*whole, *chunked;
	unsigned	 step;
	int		 r1, r2;

	if (size < 1)
		return 0;
	step = 1 + data[0] % 64;
	data++;
	size--;
	if ((whole = calloc(1, sizeof(*whole))) == NULL ||
	    (chunked = calloc(1, sizeof(*chunked))) == NULL) {
		free(whole);
		return 0;
	}
	r1 = decode(data, size, 0, whole);
	r2 = decode(data, size, step, chunked);
	/*
	 * An over-long line is reported as soon as max + 1 bytes without a
	 * newline are held, whichever way they arrived; a stop or a malformed
	 * document ends both runs at the same event.
	 */
	fuzz_check(r1 == r2);
	fuzz_check(whole->n == chunked->n);
	fuzz_check(memcmp(whole->hash, chunked->hash,
	    sizeof(whole->hash[0]) * (whole->n < FUZZ_WATCH_EVENTS ?
	    whole->n : FUZZ_WATCH_EVENTS)) == 0);
	free(whole);
	free(chunked);
	list(data, size);
	return 0;
}
