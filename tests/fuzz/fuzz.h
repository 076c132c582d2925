/*
 * fuzz.h - what every fuzz target in tests/fuzz/ shares.
 *
 * Each fuzz_*.c defines LLVMFuzzerTestOneInput() and builds twice: with
 * libFuzzer (clang, -DREMEDY_FUZZ=ON) for fuzzing, and with replay.c as a
 * plain program that runs the checked-in corpus under any compiler (what
 * ctest runs as fuzz.replay.*).  A target returns 0 and must not crash,
 * leak or trip a sanitizer on any input; fuzz_check() turns a broken
 * invariant into an abort so the fuzzer records the input.
 */
#ifndef REMEDY_FUZZ_H
#define REMEDY_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* Optional per-target setup (defined by every target; may do nothing). */
int	LLVMFuzzerInitialize(int *argc, char ***argv);

/*
 * Write data into this process's scratch file (created on first use under
 * $TMPDIR, removed at exit) and return its path; for loaders that take a
 * file name.  Aborts when the file cannot be written.
 */
const char	*fuzz_file(const uint8_t *data, size_t size);

#define fuzz_check(cond) do {						\
	if (!(cond))							\
		fuzz_fail(__FILE__, __LINE__, #cond);			\
} while (0)
void	fuzz_fail(const char *file, int line, const char *what)
	    __attribute__((noreturn));

#endif
