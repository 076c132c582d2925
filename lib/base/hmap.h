/*
 * hmap.h - a string-keyed hash map (open addressing, linear probing,
 * FNV-1a).  Keys are copied and owned by the map; values are opaque
 * pointers owned by the caller.
 */
#ifndef REMEDY_HMAP_H
#define REMEDY_HMAP_H

#include <stddef.h>

struct hmap_slot {
	char	*key;		/* NULL: empty; HMAP_TOMB: deleted */
	void	*val;
};

struct hmap {
	struct hmap_slot *slots;
	size_t		  cap;	/* power of two */
	size_t		  len;	/* live entries */
	size_t		  used;	/* live + tombstones */
};

void	 hmap_init(struct hmap *);
/* Frees keys and slots; values are the caller's. */
void	 hmap_clear(struct hmap *);
void	*hmap_get(const struct hmap *, const char *key);
/* Insert or replace; returns the previous value (or NULL) via *old.
 * -1 on allocation failure. */
int	 hmap_put(struct hmap *, const char *key, void *val, void **old);
/* Remove; returns the value or NULL. */
void	*hmap_del(struct hmap *, const char *key);
/* Iterate: start with *pos = 0; returns 0 at the end.  Do not insert while
 * iterating (deleting the current key is fine). */
int	 hmap_next(const struct hmap *, size_t *pos, const char **key,
	    void **val);

#endif
