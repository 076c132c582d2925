/*
 * test_loop.c - bulk work yields to the loop: a struct slice (base/slice.h)
 * lets a timer run between its slices, stops and closes cleanly; a LIST
 * scanned in pieces (kube_list_scan_some) gives what one scan gives.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <uv.h>

#include "base/slice.h"
#include "kube/list.h"
#include "t.h"

#define STEPS		2000
#define STEP_NS		50000		/* 50 us of work a step */

struct job {
	struct slice	 s;
	uv_timer_t	 timer;
	int		 done;		/* steps done */
	int		 fires;		/* timer callbacks */
	int		 fires_midway;	/* ... while the job was under way */
	int		 stop_at;	/* slice_stop() from this step */
};

static int
step(void *arg)
{
	struct job	*j = arg;
	uint64_t	 t = uv_hrtime();

	while (uv_hrtime() - t < STEP_NS)
		;	/* work that takes time */
	j->done++;
	if (j->done == j->stop_at)
		slice_stop(&j->s);
	return j->done < STEPS;
}

static void
on_timer(uv_timer_t *t)
{
	struct job *j = t->data;

	j->fires++;
	if (j->done > 0 && j->done < STEPS)
		j->fires_midway++;
	if (!slice_pending(&j->s))
		uv_timer_stop(t);
}

/*
 * A job of STEPS steps, started from a callback with slice_run(): the
 * first slice runs at once, the rest on later turns, and a 1 ms timer
 * runs between them.  Nothing here depends on how fast the machine is: a
 * slow one cuts the job into more slices.
 */
static void
test_yields(void)
{
	uv_loop_t	loop;
	struct job	j;

	memset(&j, 0, sizeof(j));
	uv_loop_init(&loop);
	slice_init(&j.s, &loop, step, &j);
	uv_timer_init(&loop, &j.timer);
	j.timer.data = &j;
	uv_timer_start(&j.timer, on_timer, 1, 1);
	CHECK_INT(slice_run(&j.s), 1);		/* one slice, not the job */
	CHECK(j.done > 0 && j.done < STEPS);
	CHECK(slice_pending(&j.s));
	uv_run(&loop, UV_RUN_DEFAULT);
	CHECK_INT(j.done, STEPS);
	CHECK(!slice_pending(&j.s));
	CHECK(j.s.slices >= 2);
	/* the timer ran while the job was under way: the loop turned */
	CHECK(j.fires_midway > 0);
	slice_close(&j.s, NULL);
	uv_close((uv_handle_t *)&j.timer, NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
	CHECK_INT(uv_loop_close(&loop), 0);
}

/* slice_stop() from a step ends the job there; slice_start() runs it
 * from the next turn on, not at once. */
static void
test_stop_start(void)
{
	uv_loop_t	loop;
	struct job	j;

	memset(&j, 0, sizeof(j));
	uv_loop_init(&loop);
	slice_init(&j.s, &loop, step, &j);
	uv_timer_init(&loop, &j.timer);
	j.stop_at = 3;
	slice_start(&j.s);
	CHECK_INT(j.done, 0);
	uv_run(&loop, UV_RUN_DEFAULT);
	CHECK_INT(j.done, 3);
	CHECK(!slice_pending(&j.s));
	slice_close(&j.s, NULL);
	uv_close((uv_handle_t *)&j.timer, NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
	CHECK_INT(uv_loop_close(&loop), 0);
}

struct names {
	char	 got[64][16];
	size_t	 n;
	int	 pause;
};

static int
item(json_t *it, size_t i, void *arg)
{
	struct names	*nm = arg;
	const char	*name = json_string_value(json_object_get(it, "name"));

	if (i != nm->n || nm->n >= 64)
		return 1;
	snprintf(nm->got[nm->n++], sizeof(nm->got[0]), "%s",
	    name != NULL ? name : "");
	return nm->pause ? KUBE_LIST_PAUSE : 0;
}

static void
test_list_cursor(void)
{
	static const char doc[] = "{\"kind\":\"PodList\",\"metadata\":"
	    "{\"resourceVersion\":\"7\",\"continue\":\"c\"},\"items\":["
	    "{\"name\":\"a\"}, {\"name\":\"b\"},{\"name\":\"c\"} ],"
	    "\"tail\":[1,2]}";
	struct kube_list_cursor	 c;
	struct names		 one, some;
	json_t			*meta = NULL;
	char			 err[128];
	int			 rc, calls = 0;

	memset(&one, 0, sizeof(one));
	memset(&some, 0, sizeof(some));
	CHECK_INT(kube_list_scan(doc, strlen(doc), item, &one, &meta, err,
	    sizeof(err)), 0);
	CHECK_INT(one.n, 3);
	json_decref(meta);
	meta = NULL;

	some.pause = 1;
	kube_list_cursor_init(&c);
	while ((rc = kube_list_scan_some(doc, strlen(doc), &c, item, &some,
	    &meta, err, sizeof(err))) == 2)
		calls++;
	CHECK_INT(rc, 0);
	CHECK_INT(calls, 3);			/* one item a call */
	CHECK_INT(some.n, 3);
	CHECK_STR(some.got[2], "c");
	CHECK_STR(json_string_value(json_object_get(meta, "continue")), "c");
	json_decref(meta);
	kube_list_cursor_clear(&c);

	/* an error after a pause: -1, and the cursor holds nothing */
	memset(&some, 0, sizeof(some));
	some.pause = 1;
	kube_list_cursor_init(&c);
	CHECK_INT(kube_list_scan_some("{\"metadata\":{},\"items\":[{},}",
	    27, &c, item, &some, &meta, err, sizeof(err)), 2);
	CHECK_INT(kube_list_scan_some("{\"metadata\":{},\"items\":[{},}",
	    27, &c, item, &some, &meta, err, sizeof(err)), -1);
	CHECK(strstr(err, "byte") != NULL);
	CHECK(c.meta == NULL);
	kube_list_cursor_clear(&c);
}

int
main(void)
{
	test_yields();
	test_stop_start();
	test_list_cursor();
	return T_DONE();
}
