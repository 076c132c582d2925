/*
 * version.c - the release (REMEDY_VERSION, from CMakeLists.txt) and the
 * commit (remedy_commit.h, written by cmake/commit.cmake at build time).
 */
#include "base/version.h"
#include "remedy_commit.h"

#ifndef REMEDY_VERSION
#define REMEDY_VERSION	"unknown"
#endif

const char *
remedy_version(void)
{
	return REMEDY_VERSION;
}

const char *
remedy_commit(void)
{
	return REMEDY_COMMIT;
}
