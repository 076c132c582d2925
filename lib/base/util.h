/*
 * util.h - small helpers shared by every module: time, durations, files,
 * and read-only access to nested JSON fields.
 */
#ifndef REMEDY_UTIL_H
#define REMEDY_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/* Wall-clock and monotonic time in milliseconds. */
int64_t		 now_ms(void);
int64_t		 mono_ms(void);

/* "2026-11-27T03:00:00Z" into buf (at least 32 bytes). */
void		 fmt_rfc3339(int64_t unix_ms, char *buf, size_t len);

/*
 * Parse a duration: "250ms", "10s", "5m", "2h", "1d", or a bare number of
 * seconds.  Returns 0 and sets *ms, or -1 when s is not a duration.
 */
int		 parse_duration(const char *s, int64_t *ms);

/*
 * Read a whole file of at most max bytes into a NUL-terminated heap buffer
 * (*out, freed by the caller).  On failure returns -1 and writes a message
 * naming the file into err.
 */
int		 read_file(const char *path, size_t max, char **out,
		    size_t *outlen, char *err, size_t errlen);

/*
 * Follow a dotted path ("metadata.name") through nested objects.  Returns a
 * borrowed reference or NULL.  The typed variants return NULL / def when the
 * field is missing or has another type.
 */
json_t		*json_at(json_t *root, const char *dotted);
const char	*json_str_at(json_t *root, const char *dotted);
json_int_t	 json_int_at(json_t *root, const char *dotted, json_int_t def);

/* Compact, key-sorted serialisation (the canonical form we store). */
char		*json_canon(const json_t *v);

/* strdup that accepts NULL. */
char		*xstrdup(const char *s);

#endif
