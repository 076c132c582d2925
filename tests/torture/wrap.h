/* wrap.h - the --wrap entry points of wrap.c (declared for the linker). */
#ifndef REMEDY_TORTURE_WRAP_H
#define REMEDY_TORTURE_WRAP_H

#include <stddef.h>

void	*__real_malloc(size_t);
void	*__real_calloc(size_t, size_t);
void	*__real_realloc(void *, size_t);
void	*__wrap_malloc(size_t);
void	*__wrap_calloc(size_t, size_t);
void	*__wrap_realloc(void *, size_t);
char	*__wrap_strdup(const char *);
char	*__wrap_strndup(const char *, size_t);

/* Make lib/base/alloc.c perform real allocations through __real_*, so that an
 * allocation from a library hook is counted once, not twice. */
void	 wrap_install(void);

#endif
