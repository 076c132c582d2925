/*
 * yamlout.h - a JSON value written as one YAML document.
 */
#ifndef REMEDY_YAMLOUT_H
#define REMEDY_YAMLOUT_H

#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

/* 0, or -1 with a message in err (nesting deeper than 64, a write
 * error). */
int	yaml_emit_json(FILE *, const json_t *, char *err, size_t errlen);

#endif
