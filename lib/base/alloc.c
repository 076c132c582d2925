/*
 * alloc.c - the counting, failing allocator (see alloc.h).
 */
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <sqlite3.h>
#include <uv.h>

#include "base/alloc.h"

static struct {
	uint64_t	 count;		/* allocations since the last reset */
	uint64_t	 failed;	/* refused since the last reset */
	uint64_t	 fail_at;	/* 0: never */
	int		 sticky;
	void		*(*malloc)(size_t);
	void		*(*calloc)(size_t, size_t);
	void		*(*realloc)(void *, size_t);
} A = { 0, 0, 0, 0, malloc, calloc, realloc };

int
alloc_fail_now(void)
{
	A.count++;
	if (A.fail_at != 0 && (A.count == A.fail_at ||
	    (A.sticky && A.count > A.fail_at))) {
		A.failed++;
		return 1;
	}
	return 0;
}

void
alloc_set_real(void *(*m)(size_t), void *(*c)(size_t, size_t),
    void *(*r)(void *, size_t))
{
	A.malloc = m;
	A.calloc = c;
	A.realloc = r;
}

void
alloc_fail_at(uint64_t nth, int sticky)
{
	A.count = 0;
	A.failed = 0;
	A.fail_at = nth;
	A.sticky = sticky;
}

uint64_t
alloc_count(void)
{
	return A.count;
}

uint64_t
alloc_failed(void)
{
	return A.failed;
}

void
alloc_reset(void)
{
	alloc_fail_at(0, 0);
}

void *
alloc_malloc(size_t n)
{
	if (alloc_fail_now())
		return NULL;
	return A.malloc(n);
}

void *
alloc_calloc(size_t n, size_t size)
{
	if (alloc_fail_now())
		return NULL;
	return A.calloc(n, size);
}

/* realloc(p, 0) is a free for the libraries that call it so; never
 * counted as a failure then, since nothing is allocated. */
void *
alloc_realloc(void *p, size_t n)
{
	if (n != 0 && alloc_fail_now())
		return NULL;
	return A.realloc(p, n);
}

char *
alloc_strndup(const char *s, size_t max)
{
	size_t	 len = strnlen(s, max);
	char	*p;

	if ((p = alloc_malloc(len + 1)) == NULL)
		return NULL;
	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

char *
alloc_strdup(const char *s)
{
	return alloc_strndup(s, strlen(s));
}

void
alloc_free(void *p)
{
	free(p);
}

/* SQLite wants the size of a block: malloc_usable_size() is what its own
 * default allocator uses on glibc. */
static int
sqlite_size(void *p)
{
	return p == NULL ? 0 : (int)malloc_usable_size(p);
}

static void *
sqlite_malloc(int n)
{
	return n <= 0 ? NULL : alloc_malloc((size_t)n);
}

static void *
sqlite_realloc(void *p, int n)
{
	return n <= 0 ? NULL : alloc_realloc(p, (size_t)n);
}

static int
sqlite_roundup(int n)
{
	return (n + 7) & ~7;
}

static int
sqlite_init(void *arg)
{
	return SQLITE_OK;
}

static void
sqlite_shutdown(void *arg)
{
}

static const sqlite3_mem_methods sqlite_methods = {
	sqlite_malloc, alloc_free, sqlite_realloc, sqlite_size,
	sqlite_roundup, sqlite_init, sqlite_shutdown, NULL
};

/* OpenSSL's hooks carry the caller's file and line. */
static void *
ossl_malloc(size_t n, const char *file, int line)
{
	(void)file;
	(void)line;
	return alloc_malloc(n);
}

static void *
ossl_realloc(void *p, size_t n, const char *file, int line)
{
	(void)file;
	(void)line;
	return alloc_realloc(p, n);
}

static void
ossl_free(void *p, const char *file, int line)
{
	(void)file;
	(void)line;
	alloc_free(p);
}

/*
 * libcrypto sets up its library context, providers and the sha256
 * implementation once per process, and a failed one-time set-up is never
 * retried: do it now, while nothing is made to fail, so that the sweep
 * fails what a digest costs each time (the audit chain), not the set-up.
 */
static int
ossl_warm_up(void)
{
	EVP_MD_CTX	*ctx;
	unsigned char	 md[EVP_MAX_MD_SIZE];
	unsigned int	 n;
	int		 ok;

	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return -1;
	ok = EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
	    EVP_DigestUpdate(ctx, "x", 1) == 1 &&
	    EVP_DigestFinal_ex(ctx, md, &n) == 1;
	EVP_MD_CTX_free(ctx);
	return ok ? 0 : -1;
}

int
alloc_install(void)
{
	int	 rc = 0;

	/* first: libcrypto takes new functions only before its first
	 * allocation, and curl_global_init() below initialises it */
	if (CRYPTO_set_mem_functions(ossl_malloc, ossl_realloc, ossl_free) !=
	    1 || ossl_warm_up() == -1)
		rc = -1;
	if (uv_replace_allocator(alloc_malloc, alloc_realloc, alloc_calloc,
	    alloc_free) != 0)
		rc = -1;
	json_set_alloc_funcs(alloc_malloc, alloc_free);
	if (sqlite3_config(SQLITE_CONFIG_MALLOC, &sqlite_methods) != SQLITE_OK)
		rc = -1;
	if (curl_global_init_mem(CURL_GLOBAL_DEFAULT, alloc_malloc, alloc_free,
	    alloc_realloc, alloc_strdup, alloc_calloc) != CURLE_OK)
		rc = -1;
	return rc;
}
