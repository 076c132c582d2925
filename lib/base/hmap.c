/*
 * hmap.c - string-keyed hash map: open addressing, linear probing, FNV-1a.
 *
 * Deleted slots become tombstones so probe chains stay intact; an insert
 * reuses the first tombstone of its chain.  The table grows (and drops its
 * tombstones) when live + tombstones would pass 3/4 of the capacity, so a
 * probe always ends on an empty slot.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/hmap.h"

/* A unique address that no key can have. */
static char hmap_tomb_mark;
#define HMAP_TOMB	(&hmap_tomb_mark)

#define HMAP_MINCAP	16
/* Beyond this the slot array would no longer fit a size_t byte count. */
#define HMAP_MAXCAP	((size_t)1 << (sizeof(size_t) * 8 - 6))

static uint64_t
hmap_hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

void
hmap_init(struct hmap *m)
{
	memset(m, 0, sizeof(*m));
}

void
hmap_clear(struct hmap *m)
{
	size_t i;

	for (i = 0; i < m->cap; i++) {
		if (m->slots[i].key != NULL && m->slots[i].key != HMAP_TOMB)
			free(m->slots[i].key);
	}
	free(m->slots);
	hmap_init(m);
}

/*
 * Index of the slot holding key, or of the first free slot (tombstone
 * first) where it would go; *found tells which.  The table must have at
 * least one empty slot, which the load factor guarantees.
 */
static size_t
hmap_find(const struct hmap *m, const char *key, int *found)
{
	size_t mask = m->cap - 1, i, tomb = SIZE_MAX;
	char *k;

	*found = 0;
	for (i = hmap_hash(key) & mask;; i = (i + 1) & mask) {
		k = m->slots[i].key;
		if (k == NULL)
			return tomb != SIZE_MAX ? tomb : i;
		if (k == HMAP_TOMB) {
			if (tomb == SIZE_MAX)
				tomb = i;
			continue;
		}
		if (strcmp(k, key) == 0) {
			*found = 1;
			return i;
		}
	}
}

/*
 * Rehash the live entries into a table of newcap slots (a power of two);
 * tombstones are dropped.  -1 when memory runs out, the map unchanged.
 */
static int
hmap_resize(struct hmap *m, size_t newcap)
{
	struct hmap_slot *old = m->slots, *slots;
	size_t oldcap = m->cap, i, j, mask = newcap - 1;

	if (newcap > HMAP_MAXCAP)
		return -1;
	if ((slots = calloc(newcap, sizeof(*slots))) == NULL)
		return -1;
	for (i = 0; i < oldcap; i++) {
		if (old[i].key == NULL || old[i].key == HMAP_TOMB)
			continue;
		for (j = hmap_hash(old[i].key) & mask; slots[j].key != NULL;
		    j = (j + 1) & mask)
			;
		slots[j] = old[i];
	}
	free(old);
	m->slots = slots;
	m->cap = newcap;
	m->used = m->len;
	return 0;
}

void *
hmap_get(const struct hmap *m, const char *key)
{
	size_t i;
	int found;

	if (m->len == 0)
		return NULL;
	i = hmap_find(m, key, &found);
	return found ? m->slots[i].val : NULL;
}

/*
 * Insert or replace.  The key is copied only for a new entry.  The table
 * grows before an insert that could push live + tombstones past 3/4;
 * when most of the used slots are tombstones it is rebuilt at the same
 * size instead of doubling.
 */
int
hmap_put(struct hmap *m, const char *key, void *val, void **old)
{
	size_t i, newcap;
	char *k;
	int found;

	if (old != NULL)
		*old = NULL;
	if (m->cap == 0 || (m->used + 1) * 4 > m->cap * 3) {
		newcap = m->cap == 0 ? HMAP_MINCAP : m->cap;
		while ((m->len + 1) * 2 > newcap)
			newcap *= 2;
		if (hmap_resize(m, newcap) == -1)
			return -1;
	}
	i = hmap_find(m, key, &found);
	if (found) {
		if (old != NULL)
			*old = m->slots[i].val;
		m->slots[i].val = val;
		return 0;
	}
	if ((k = strdup(key)) == NULL)
		return -1;
	if (m->slots[i].key == NULL)
		m->used++;
	m->slots[i].key = k;
	m->slots[i].val = val;
	m->len++;
	return 0;
}

void *
hmap_del(struct hmap *m, const char *key)
{
	void *val;
	size_t i;
	int found;

	if (m->len == 0)
		return NULL;
	i = hmap_find(m, key, &found);
	if (!found)
		return NULL;
	val = m->slots[i].val;
	free(m->slots[i].key);
	m->slots[i].key = HMAP_TOMB;
	m->slots[i].val = NULL;
	m->len--;
	return val;
}

int
hmap_next(const struct hmap *m, size_t *pos, const char **key, void **val)
{
	size_t i;

	for (i = *pos; i < m->cap; i++) {
		if (m->slots[i].key == NULL || m->slots[i].key == HMAP_TOMB)
			continue;
		if (key != NULL)
			*key = m->slots[i].key;
		if (val != NULL)
			*val = m->slots[i].val;
		*pos = i + 1;
		return 1;
	}
	*pos = m->cap;
	return 0;
}
