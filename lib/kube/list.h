/*
 * list.h - a LIST answer, one item at a time.
 *
 * A LIST page ({"kind":"PodList","metadata":{...},"items":[...]}) parsed
 * whole with jansson costs about ten times its size in memory: 30 MB for a
 * page of 500 pods.  kube_list_scan() finds the spans of the top-level
 * "metadata" object and of each element of "items" in the raw bytes and
 * parses one element at a time, so the peak is the raw page plus one item.
 */
#ifndef REMEDY_KUBE_LIST_H
#define REMEDY_KUBE_LIST_H

#include <stddef.h>

#include <jansson.h>

/* One element of "items" (borrowed for the call), its index. Return
 * non-zero to stop the scan (kube_list_scan() then returns 1). */
typedef int	(*kube_list_item_fn)(json_t *item, size_t index, void *arg);

/*
 * Scan buf[0..len) as a list document.  Every element of the top-level
 * "items" array is parsed and passed to fn in order; *meta (may be NULL)
 * gets the parsed top-level "metadata" object, or NULL when there is none
 * (the caller decrefs it).  A missing or null "items" is an empty list.
 * Returns 0; 1 when fn stopped it; -1 on a malformed document, with a
 * message naming the byte offset in err (nothing in *meta).
 */
int	kube_list_scan(const char *buf, size_t len, kube_list_item_fn fn,
	    void *arg, json_t **meta, char *err, size_t errlen);

/*
 * The same scan in pieces: fn may return KUBE_LIST_PAUSE, and
 * kube_list_scan_some() then returns 2 with the cursor just after that
 * item; the next call with the same bytes and cursor goes on from there
 * (the bytes must stay put in between).  Returns as kube_list_scan()
 * otherwise; *meta is set only by the call that returns 0.  A cursor
 * starts with kube_list_cursor_init() and is released with
 * kube_list_cursor_clear() (it may hold the metadata seen so far).
 */
#define KUBE_LIST_PAUSE	2

struct kube_list_cursor {
	size_t	 pos;		/* resume here */
	size_t	 index;		/* of the next item */
	int	 state;		/* 0: start, 1: in "items", 2: over */
	int	 items;		/* "items" arrays seen */
	json_t	*meta;		/* top-level "metadata" so far (owned) */
};

void	kube_list_cursor_init(struct kube_list_cursor *);
void	kube_list_cursor_clear(struct kube_list_cursor *);
int	kube_list_scan_some(const char *buf, size_t len,
	    struct kube_list_cursor *, kube_list_item_fn fn, void *arg,
	    json_t **meta, char *err, size_t errlen);

#endif
