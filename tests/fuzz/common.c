/*
 * common.c - helpers shared by the fuzz targets (fuzz.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"

static char	scratch[4096];
static int	scratch_fd = -1;

static void
remove_scratch(void)
{
	if (scratch_fd != -1) {
		close(scratch_fd);
		unlink(scratch);
	}
}

const char *
fuzz_file(const uint8_t *data, size_t size)
{
	const char	*tmp;
	size_t		 off = 0;
	ssize_t		 n;

	if (scratch_fd == -1) {
		if ((tmp = getenv("TMPDIR")) == NULL || *tmp == '\0')
			tmp = "/tmp";
		snprintf(scratch, sizeof(scratch), "%s/remedy-fuzz-XXXXXX",
		    tmp);
		if ((scratch_fd = mkstemp(scratch)) == -1) {
			fprintf(stderr, "fuzz: %s: %s\n", scratch,
			    strerror(errno));
			abort();
		}
		atexit(remove_scratch);
	}
	if (ftruncate(scratch_fd, 0) == -1)
		abort();
	while (off < size) {
		n = pwrite(scratch_fd, data + off, size - off, (off_t)off);
		if (n <= 0) {
			fprintf(stderr, "fuzz: %s: %s\n", scratch,
			    strerror(errno));
			abort();
		}
		off += (size_t)n;
	}
	return scratch;
}

void
fuzz_fail(const char *file, int line, const char *what)
{
	fprintf(stderr, "%s:%d: invariant broken: %s\n", file, line, what);
	abort();
}
