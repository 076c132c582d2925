/*
 * wrap.c - count libremedy's own allocations in the torture program.
 *
 * The torture program links with -Wl,--wrap=malloc (and calloc, realloc,
 * strdup, strndup): every call to those in the objects linked statically
 * (libremedy and the test) lands here and goes through the counting
 * allocator of lib/base/alloc.c; the shared libraries keep calling the real
 * functions, and are counted through the hooks alloc_install() sets.
 * libyaml offers no allocator hook, so its own allocations are not
 * counted.
 */
#include <stddef.h>
#include <string.h>

#include "base/alloc.h"
#include "wrap.h"

void *
__wrap_malloc(size_t n)
{
	if (alloc_fail_now())
		return NULL;
	return __real_malloc(n);
}

void *
__wrap_calloc(size_t n, size_t size)
{
	if (alloc_fail_now())
		return NULL;
	return __real_calloc(n, size);
}

void *
__wrap_realloc(void *p, size_t n)
{
	if (n != 0 && alloc_fail_now())
		return NULL;
	return __real_realloc(p, n);
}

char *
__wrap_strndup(const char *s, size_t max)
{
	size_t	 len = strnlen(s, max);
	char	*p;

	if ((p = __wrap_malloc(len + 1)) == NULL)
		return NULL;
	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

char *
__wrap_strdup(const char *s)
{
	return __wrap_strndup(s, strlen(s));
}

void
wrap_install(void)
{
	alloc_set_real(__real_malloc, __real_calloc, __real_realloc);
}
