/*
 * notify.h - webhooks (Slack-compatible JSON) when an action becomes
 * pending or fails.
 *
 * Each configured URL gets one POST per event with
 *   {"text": "...", "remedy": {"event", "action_id", ..., "commands"}}
 * where text names the action and the exact remedyctl commands to review
 * it.  Only the action's id, state, target, risk, summary and (for a
 * failure) reason are sent: never the patch, the evidence or anything from
 * the configuration.  A webhook URL often holds a token, so logs name a
 * webhook by its position ("webhook 1") and host, never by its URL.
 *
 * Delivery runs on the shared curl multi (http.h), so it never blocks the
 * loop.  A failed POST (transport error or a status other than 2xx) is
 * retried after 1, 2, 4 and 8 s (NOTIFY_ATTEMPTS in all); at most
 * NOTIFY_MAX_JOBS deliveries wait at once, further events are dropped with
 * a warning.
 */
#ifndef REMEDY_NOTIFY_H
#define REMEDY_NOTIFY_H

#include <stdint.h>

#include <jansson.h>

#include "base/http.h"

#define NOTIFY_ATTEMPTS		5
#define NOTIFY_MAX_JOBS		256
#define NOTIFY_TIMEOUT_MS	10000	/* one POST, connect included */
#define NOTIFY_BACKOFF_MS	1000	/* first retry; doubles */

struct notify;

/* urls: NULL-terminated, copied.  Returns NULL when out of memory. */
struct notify	*notify_new(uv_loop_t *, struct http *, char *const *urls);
/*
 * Queue one event ("pending" or "failed") about action (the store's JSON
 * of the action, borrowed) to every webhook.
 */
void		 notify_action(struct notify *, const char *event,
		    json_t *action);
/* The body sent for an event (new reference), for tests and docs. */
json_t		*notify_payload(const char *event, json_t *action);
/* Deliveries finished / given up since start (for tests and metrics). */
uint64_t	 notify_delivered(const struct notify *);
uint64_t	 notify_failed(const struct notify *);
/* Abort what is in flight; memory goes from close callbacks. */
void		 notify_free(struct notify *);

#endif
