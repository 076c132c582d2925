/*
 * log.h - leveled logging to stderr.
 *
 * Levels are syslog's.  Under journald (JOURNAL_STREAM set) every line gets
 * the "<N>" prefix of sd-daemon(3) and no timestamp; otherwise lines carry a
 * UTC timestamp.  The level is checked before anything is formatted.
 * log_warn/log_err append strerror(errno); the *x variants do not.
 */
#ifndef REMEDY_LOG_H
#define REMEDY_LOG_H

#include <syslog.h>

void	log_init(int level);
void	log_setlevel(int level);
int	log_getlevel(void);
void	log_msg(int pri, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define log_warnx(...)	log_msg(LOG_WARNING, __VA_ARGS__)
#define log_errx(...)	log_msg(LOG_ERR, __VA_ARGS__)
#define log_info(...)	log_msg(LOG_INFO, __VA_ARGS__)
#define log_notice(...)	log_msg(LOG_NOTICE, __VA_ARGS__)
#define log_debug(...)	log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
