/*
 * test_hmap.c - the string-keyed hash map: basic operations, growth to
 * 100k keys, tombstone reuse and deletion while iterating.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/hmap.h"
#include "t.h"

#define NBIG	100000

static void
test_basic(void)
{
	struct hmap m;
	void *old = (void *)1;
	int a = 1, b = 2, c = 3;

	hmap_init(&m);
	CHECK(hmap_get(&m, "x") == NULL);
	CHECK(hmap_del(&m, "x") == NULL);
	CHECK_INT(hmap_put(&m, "demo/web", &a, &old), 0);
	CHECK(old == NULL);
	CHECK_INT(hmap_put(&m, "demo/db", &b, NULL), 0);
	CHECK_INT(m.len, 2);
	CHECK(hmap_get(&m, "demo/web") == &a);
	CHECK(hmap_get(&m, "demo/db") == &b);
	CHECK(hmap_get(&m, "demo/we") == NULL);
	CHECK(hmap_get(&m, "") == NULL);

	/* replace returns the previous value and keeps the count */
	CHECK_INT(hmap_put(&m, "demo/web", &c, &old), 0);
	CHECK(old == &a);
	CHECK(hmap_get(&m, "demo/web") == &c);
	CHECK_INT(m.len, 2);

	CHECK(hmap_del(&m, "demo/web") == &c);
	CHECK(hmap_get(&m, "demo/web") == NULL);
	CHECK(hmap_del(&m, "demo/web") == NULL);
	CHECK_INT(m.len, 1);

	/* the empty key is a key like any other */
	CHECK_INT(hmap_put(&m, "", &a, NULL), 0);
	CHECK(hmap_get(&m, "") == &a);
	hmap_clear(&m);
	CHECK_INT(m.len, 0);
	CHECK(hmap_get(&m, "demo/db") == NULL);
}

static void
test_iterate(void)
{
	struct hmap m;
	const char *key;
	void *val;
	size_t pos = 0;
	char k[32];
	int i, seen[50], n = 0, bad = 0;
	intptr_t v;

	hmap_init(&m);
	for (i = 0; i < 50; i++) {
		snprintf(k, sizeof(k), "k%d", i);
		hmap_put(&m, k, (void *)(intptr_t)(i + 1), NULL);
		seen[i] = 0;
	}
	while (hmap_next(&m, &pos, &key, &val)) {
		v = (intptr_t)val - 1;
		snprintf(k, sizeof(k), "k%d", (int)v);
		if (v < 0 || v >= 50 || strcmp(k, key) != 0)
			bad++;
		else
			seen[v]++;
		n++;
	}
	CHECK_INT(n, 50);
	CHECK_INT(bad, 0);
	for (i = 0; i < 50; i++)
		bad += seen[i] != 1;
	CHECK_INT(bad, 0);

	/* deleting the current key while iterating visits every key once */
	pos = 0;
	n = 0;
	while (hmap_next(&m, &pos, &key, &val)) {
		v = (intptr_t)val - 1;
		if (v % 2 == 0) {
			snprintf(k, sizeof(k), "%s", key);
			if (hmap_del(&m, k) != val)
				bad++;
		}
		n++;
	}
	CHECK_INT(n, 50);
	CHECK_INT(bad, 0);
	CHECK_INT(m.len, 25);
	CHECK(hmap_get(&m, "k0") == NULL);
	CHECK(hmap_get(&m, "k1") == (void *)(intptr_t)2);
	CHECK(hmap_get(&m, "k49") == (void *)(intptr_t)50);
	hmap_clear(&m);

	/* an empty map iterates nothing */
	pos = 0;
	CHECK_INT(hmap_next(&m, &pos, &key, &val), 0);
}

static void
test_big(void)
{
	struct hmap m;
	char k[32];
	int i, miss = 0;

	hmap_init(&m);
	for (i = 0; i < NBIG; i++) {
		snprintf(k, sizeof(k), "ns%d/pod-%d", i % 97, i);
		if (hmap_put(&m, k, (void *)(intptr_t)(i + 1), NULL) != 0)
			miss++;
	}
	CHECK_INT(miss, 0);
	CHECK_INT(m.len, NBIG);
	CHECK(m.cap >= NBIG * 4 / 3);
	CHECK((m.cap & (m.cap - 1)) == 0);
	for (i = 0; i < NBIG; i++) {
		snprintf(k, sizeof(k), "ns%d/pod-%d", i % 97, i);
		if (hmap_get(&m, k) != (void *)(intptr_t)(i + 1))
			miss++;
	}
	CHECK_INT(miss, 0);
	/* delete every other key, the rest stays reachable across tombs */
	for (i = 0; i < NBIG; i += 2) {
		snprintf(k, sizeof(k), "ns%d/pod-%d", i % 97, i);
		if (hmap_del(&m, k) != (void *)(intptr_t)(i + 1))
			miss++;
	}
	CHECK_INT(miss, 0);
	CHECK_INT(m.len, NBIG / 2);
	for (i = 0; i < NBIG; i++) {
		snprintf(k, sizeof(k), "ns%d/pod-%d", i % 97, i);
		if (hmap_get(&m, k) !=
		    (i % 2 ? (void *)(intptr_t)(i + 1) : NULL))
			miss++;
	}
	CHECK_INT(miss, 0);
	hmap_clear(&m);
}

/*
 * Churn: a key deleted and put back lands in its tombstone, so a long
 * run of delete/insert of the same keys neither grows the table nor
 * fills it with tombstones.
 */
static void
test_tombstones(void)
{
	struct hmap m;
	char k[32];
	size_t cap, used;
	int i, round, miss = 0;

	hmap_init(&m);
	for (i = 0; i < 100; i++) {
		snprintf(k, sizeof(k), "key-%d", i);
		hmap_put(&m, k, (void *)(intptr_t)(i + 1), NULL);
	}
	cap = m.cap;
	used = m.used;
	CHECK_INT(used, 100);
	snprintf(k, sizeof(k), "key-%d", 7);
	hmap_del(&m, k);
	CHECK_INT(m.used, used);	/* a tomb still counts as used */
	CHECK_INT(m.len, 99);
	hmap_put(&m, k, (void *)(intptr_t)8, NULL);
	CHECK_INT(m.used, used);	/* ... and is reused */
	CHECK_INT(m.len, 100);
	for (round = 0; round < 1000; round++) {
		for (i = 0; i < 100; i += 3) {
			snprintf(k, sizeof(k), "key-%d", i);
			if (hmap_del(&m, k) == NULL)
				miss++;
			if (hmap_put(&m, k, (void *)(intptr_t)(i + 1),
			    NULL) != 0)
				miss++;
		}
	}
	CHECK_INT(miss, 0);
	CHECK_INT(m.cap, cap);
	CHECK(m.used <= cap * 3 / 4);
	for (i = 0; i < 100; i++) {
		snprintf(k, sizeof(k), "key-%d", i);
		if (hmap_get(&m, k) != (void *)(intptr_t)(i + 1))
			miss++;
	}
	CHECK_INT(miss, 0);

	/* many distinct keys through a small live set: tombs get purged */
	for (i = 0; i < 20000; i++) {
		snprintf(k, sizeof(k), "tmp-%d", i);
		hmap_put(&m, k, &m, NULL);
		if (hmap_del(&m, k) != &m)
			miss++;
	}
	CHECK_INT(miss, 0);
	CHECK_INT(m.len, 100);
	CHECK(m.cap <= cap * 2);
	CHECK(m.used <= m.cap * 3 / 4);
	hmap_clear(&m);
}

int
main(void)
{
	test_basic();
	test_iterate();
	test_big();
	test_tombstones();
	return T_DONE();
}
