/*
 * sdnotify.h - the systemd notify protocol (sd_notify(3)) without
 * libsystemd: one datagram per message to the AF_UNIX socket named by
 * $NOTIFY_SOCKET (a path, or "@name" for the abstract namespace).
 *
 * remedyd sends
 *   READY=1 + STATUS=...	once the ready predicate holds (the informer
 *				caches have synced), polled every 100 ms;
 *   WATCHDOG=1		every WATCHDOG_USEC / 2 while WATCHDOG_USEC is set
 *				(and WATCHDOG_PID, if set, is our pid), from
 *				a loop timer and only while is_live() holds
 *				(the loop-lag probe is not stuck);
 *   RELOADING=1 / READY=1	around a SIGHUP reload;
 *   STOPPING=1 + STATUS=...	when SIGTERM starts the drain.
 *
 * Without $NOTIFY_SOCKET every call is a no-op.  NOTIFY_SOCKET, WATCHDOG_USEC
 * and WATCHDOG_PID are removed from the environment at start, so child
 * processes (exec credential plugins) do not inherit them.
 */
#ifndef REMEDY_DAEMON_SDNOTIFY_H
#define REMEDY_DAEMON_SDNOTIFY_H

#include <stdint.h>

#include <uv.h>

#define SDNOTIFY_POLL_MS	100
#define SDNOTIFY_MAX_MSG	1024

struct sdnotify {
	uv_loop_t	*loop;
	uv_timer_t	 ready_timer;	/* polls ready() until it holds */
	uv_timer_t	 watchdog_timer;
	int		 fd;		/* -1: no NOTIFY_SOCKET */
	char		 addr[108];	/* sun_path, '\0'-led when abstract */
	size_t		 addrlen;	/* bytes of addr in use */
	uint64_t	 watchdog_usec;	/* 0: no watchdog */
	int		 ready;		/* READY=1 sent */
	int		 started;	/* timers initialised */
	int		 (*is_ready)(void *arg);
	/* NULL, or false while the loop is stuck: no WATCHDOG=1 then */
	int		 (*is_live)(void *arg);
	const char	*(*status)(void *arg, char *buf, size_t len);
	void		*arg;
};

/*
 * Read and unset the environment, open the socket, start the timers.
 * is_ready(arg) decides when READY=1 goes out; status(arg, buf, len)
 * (may be NULL) fills the STATUS= text sent with it.  Returns 0; -1 (after
 * logging) only when $NOTIFY_SOCKET is set but unusable, in which case
 * notifications are off and remedyd runs on.
 */
int	sdnotify_start(struct sdnotify *, uv_loop_t *,
	    int (*is_ready)(void *), const char *(*status)(void *, char *,
	    size_t), void *arg);
/* Send one message ("KEY=VALUE\n..."), at most SDNOTIFY_MAX_MSG bytes.
 * Returns 1 sent, 0 no socket, -1 error. */
int	sdnotify_send(struct sdnotify *, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* STOPPING=1 and a STATUS= line; the watchdog keeps pinging until
 * sdnotify_close(). */
void	sdnotify_stopping(struct sdnotify *, const char *status);
/* Close timers (uv_close; nothing to free) and the socket. */
void	sdnotify_close(struct sdnotify *);

#endif
