/*
 * alloc.h - one counting, failing allocator for the torture tests.
 *
 * alloc_install() routes the allocations of libuv (uv_replace_allocator),
 * libcurl (curl_global_init_mem), jansson (json_set_alloc_funcs), SQLite
 * (SQLITE_CONFIG_MALLOC) and OpenSSL's libcrypto (CRYPTO_set_mem_functions;
 * the audit chain's sha256, and libcurl's TLS) through one set of functions
 * that count every allocation and can be told to fail the Nth one
 * ("torture", as curl and SQLite call it).  libyaml has no allocator hook;
 * its allocations are counted only where a test program wraps malloc.  A test program may also link with
 *   -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=strdup,--wrap=strndup
 * (see tests/torture/) so that libremedy's own allocations are counted too.
 *
 * Nothing here is active unless a program calls alloc_install(): remedyd
 * and remedyctl never do.  alloc_install() must run before anything else
 * touches those libraries (libcurl and SQLite accept a new allocator only
 * before they are initialised); it calls curl_global_init() itself, and the
 * caller calls curl_global_cleanup() at the end as usual.
 *
 * The functions keep no header in front of blocks: memory from any of these
 * libraries may be passed to free() (jansson's json_dumps() result is), so
 * every block is an ordinary malloc() block.  Not thread-safe (remedy has no
 * threads of its own).
 */
#ifndef REMEDY_ALLOC_H
#define REMEDY_ALLOC_H

#include <stddef.h>
#include <stdint.h>

/* Install the counting allocator into the five libraries.  Returns 0, or -1
 * when one of them refused (already initialised). */
int		alloc_install(void);

/*
 * Fail the nth allocation from now on (1 = the next one), and every one
 * after it when sticky is set (an out-of-memory condition that persists);
 * 0 disables failing.  Resets the counter.
 */
void		alloc_fail_at(uint64_t nth, int sticky);
/* Allocations counted since the last alloc_fail_at() / alloc_reset(). */
uint64_t	alloc_count(void);
/* Allocations refused since the last alloc_fail_at() / alloc_reset(). */
uint64_t	alloc_failed(void);
void		alloc_reset(void);

/*
 * Count one allocation; 1 when it must fail.  For wrappers that do the real
 * allocation themselves (tests/torture/wrap.c).
 */
int		alloc_fail_now(void);
/* The functions that perform the real allocations (default: malloc,
 * calloc, realloc).  A program linked with --wrap=malloc passes
 * __real_malloc and friends here so that counting happens only once. */
void		alloc_set_real(void *(*m)(size_t), void *(*c)(size_t, size_t),
		    void *(*r)(void *, size_t));

/* The counting functions themselves (what the libraries call). */
void	       *alloc_malloc(size_t);
void	       *alloc_calloc(size_t, size_t);
void	       *alloc_realloc(void *, size_t);
char	       *alloc_strdup(const char *);
char	       *alloc_strndup(const char *, size_t);
void		alloc_free(void *);

#endif
