/* SPDX-License-Identifier: Apache-2.0 */
/* INI configuration through one table of keys.
 *
 * Each program describes its settings once, as an array of pp_cfg_key
 * {section, key, type, min, max, default, offset}. Loading fills a struct
 * of the program's own; any key or section not in the table is an error
 * naming file:line, as is a value of the wrong type or out of range.
 * Command-line flags go through pp_cfg_set() so they are checked the same
 * way and override the file. */
#ifndef PEERPIPE_CONFIG_H
#define PEERPIPE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum pp_cfg_type {
	PP_CFG_BOOL,     /* bool; true/false/yes/no/1/0 */
	PP_CFG_INT,      /* int64_t; min..max */
	PP_CFG_DURATION, /* int64_t milliseconds; "250ms", "10s", "5m", "1h", "2d"; bare number = seconds */
	PP_CFG_SIZE,     /* int64_t bytes; "512", "64KiB", "8MiB", "1GiB" */
	PP_CFG_STRING,   /* char * (owned, free with pp_cfg_free); max = longest length */
};

struct pp_cfg_key {
	const char *section;
	const char *key;
	enum pp_cfg_type type;
	int64_t min;
	int64_t max;
	const char *def; /* default in the same text form; NULL: unset (0 / NULL) */
	size_t offset;   /* where the value lives in the target struct */
	const char *help;
};

#define PP_CFG_ERR_MAX 512

/* Apply every default. Call once before loading or setting. */
int pp_cfg_defaults(const struct pp_cfg_key *table, size_t n, void *target,
                    char *err, size_t errlen);
/* Load an INI file over the current values. */
int pp_cfg_load_file(const struct pp_cfg_key *table, size_t n, void *target,
                     const char *path, char *err, size_t errlen);
/* Load INI text (for tests and fuzzing); name is used in messages. */
int pp_cfg_load_data(const struct pp_cfg_key *table, size_t n, void *target,
                     const char *name, const char *text, size_t len,
                     char *err, size_t errlen);
/* Set one value from text (a command-line flag); origin names it in errors. */
int pp_cfg_set(const struct pp_cfg_key *table, size_t n, void *target,
               const char *section, const char *key, const char *value,
               const char *origin, char *err, size_t errlen);
/* Free owned strings. */
void pp_cfg_free(const struct pp_cfg_key *table, size_t n, void *target);

/* Formats a configuration error into err (when given) and returns
 * PP_ERR_CONFIG: for loaders of other files and sections. */
int pp_cfg_fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

int pp_cfg_parse_bool(const char *s, bool *out);
int pp_cfg_parse_int(const char *s, int64_t *out);
int pp_cfg_parse_duration_ms(const char *s, int64_t *out);
int pp_cfg_parse_size(const char *s, int64_t *out);

#endif
