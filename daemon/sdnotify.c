/*
 * sdnotify.c - see sdnotify.h.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "sdnotify.h"

/* Parse a decimal unsigned integer; -1 on anything else. */
static int
parse_u64(const char *s, uint64_t *out)
{
	char		*end;
	unsigned long long v;

	if (s == NULL || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	*out = v;
	return 0;
}

/* NOTIFY_SOCKET: "/path" or "@abstract".  -1 on anything else. */
static int
set_addr(struct sdnotify *n, const char *s)
{
	size_t len = strlen(s);

	if (len < 2 || len >= sizeof(n->addr) || (*s != '/' && *s != '@'))
		return -1;
	memcpy(n->addr, s, len);
	if (*s == '@')
		n->addr[0] = '\0';
	n->addrlen = len;
	return 0;
}

/* The watchdog: WATCHDOG_USEC, valid when WATCHDOG_PID is unset or ours. */
static void
read_watchdog(struct sdnotify *n)
{
	const char	*usec = getenv("WATCHDOG_USEC");
	const char	*pid = getenv("WATCHDOG_PID");
	uint64_t	 v, p;

	if (usec == NULL)
		return;
	if (parse_u64(usec, &v) == -1 || v == 0) {
		log_warnx("sd_notify: ignoring WATCHDOG_USEC=\"%s\": not a "
		    "positive number of microseconds", usec);
		return;
	}
	if (pid != NULL && (parse_u64(pid, &p) == -1 ||
	    p != (uint64_t)getpid())) {
		log_debug("sd_notify: WATCHDOG_PID=%s is not us; no watchdog",
		    pid);
		return;
	}
	n->watchdog_usec = v;
}

int
sdnotify_send(struct sdnotify *n, const char *fmt, ...)
{
	struct sockaddr_un	 sa;
	char			 msg[SDNOTIFY_MAX_MSG];
	va_list			 ap;
	int			 len;

	if (n->fd == -1)
		return 0;
	va_start(ap, fmt);
	len = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (len < 0 || (size_t)len >= sizeof(msg)) {
		log_warnx("sd_notify: message too long, not sent");
		return -1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, n->addr, n->addrlen);
	if (sendto(n->fd, msg, (size_t)len, MSG_NOSIGNAL | MSG_DONTWAIT,
	    (struct sockaddr *)&sa, (socklen_t)(offsetof(struct sockaddr_un,
	    sun_path) + n->addrlen)) == -1) {
		log_warn("sd_notify: send to %s%s", n->addr[0] ? "" : "@",
		    n->addr[0] ? n->addr : n->addr + 1);
		return -1;
	}
	return 1;
}

static void
send_ready(struct sdnotify *n)
{
	char		 buf[256];
	const char	*st = NULL;

	if (n->status != NULL)
		st = n->status(n->arg, buf, sizeof(buf));
	sdnotify_send(n, "READY=1\nSTATUS=%s\nMAINPID=%ld\n",
	    st ? st : "ready", (long)getpid());
	n->ready = 1;
}

static void
on_ready_poll(uv_timer_t *t)
{
	struct sdnotify *n = t->data;

	if (n->ready || !n->is_ready(n->arg))
		return;
	uv_timer_stop(t);
	send_ready(n);
}

/* Only from a loop that turns: a stuck one lets systemd act. */
static void
on_watchdog(uv_timer_t *t)
{
	struct sdnotify *n = t->data;

	if (n->is_live != NULL && !n->is_live(n->arg)) {
		log_warnx("sd_notify: the event loop is stuck; no WATCHDOG=1");
		return;
	}
	sdnotify_send(n, "WATCHDOG=1\n");
}

int
sdnotify_start(struct sdnotify *n, uv_loop_t *loop, int (*is_ready)(void *),
    const char *(*status)(void *, char *, size_t), void *arg)
{
	const char	*sock = getenv("NOTIFY_SOCKET");
	uint64_t	 every_ms;
	int		 rc = 0;

	memset(n, 0, sizeof(*n));
	n->fd = -1;
	n->loop = loop;
	n->is_ready = is_ready;
	n->status = status;
	n->arg = arg;
	if (sock != NULL) {
		if (set_addr(n, sock) == -1) {
			log_warnx("sd_notify: NOTIFY_SOCKET=\"%s\" is not an "
			    "absolute path or @abstract name; notifications "
			    "off", sock);
			rc = -1;
		} else if ((n->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC,
		    0)) == -1) {
			log_warn("sd_notify: socket");
			rc = -1;
		} else
			read_watchdog(n);
	}
	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");

	uv_timer_init(loop, &n->ready_timer);
	uv_timer_init(loop, &n->watchdog_timer);
	n->ready_timer.data = n->watchdog_timer.data = n;
	n->started = 1;
	if (n->fd == -1)
		return rc;
	sdnotify_send(n, "STATUS=waiting for the informer caches to sync\n");
	uv_timer_start(&n->ready_timer, on_ready_poll, 0, SDNOTIFY_POLL_MS);
	if (n->watchdog_usec > 0) {
		/* Half the interval, as sd_watchdog_enabled(3) advises. */
		every_ms = n->watchdog_usec / 2000;
		if (every_ms == 0)
			every_ms = 1;
		log_info("sd_notify: watchdog every %" PRIu64 " ms", every_ms);
		sdnotify_send(n, "WATCHDOG=1\n");
		uv_timer_start(&n->watchdog_timer, on_watchdog, every_ms,
		    every_ms);
	}
	return rc;
}

void
sdnotify_stopping(struct sdnotify *n, const char *status)
{
	if (!n->started)
		return;
	uv_timer_stop(&n->ready_timer);
	sdnotify_send(n, "STOPPING=1\nSTATUS=%s\n", status ? status :
	    "stopping");
}

void
sdnotify_close(struct sdnotify *n)
{
	if (!n->started)
		return;
	n->started = 0;
	uv_close((uv_handle_t *)&n->ready_timer, NULL);
	uv_close((uv_handle_t *)&n->watchdog_timer, NULL);
	if (n->fd != -1)
		close(n->fd);
	n->fd = -1;
}
