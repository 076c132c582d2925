/*
 * version.h - what remedyd and remedyctl say they are: the release and
 * the git commit the build was made from ("unknown" outside a checkout).
 */
#ifndef REMEDY_VERSION_H
#define REMEDY_VERSION_H

const char	*remedy_version(void);
const char	*remedy_commit(void);

#endif
