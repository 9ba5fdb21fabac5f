/* SPDX-License-Identifier: Apache-2.0 */
/* The desktop side's pinned gateways (tunnel.md §2): CONFIG_DIR/pins, one
 * "NAME sha-256 AB:CD:..." per line, '#' starts a comment line.
 *
 * A pin is what makes a gateway trusted: a gateway whose key changed must
 * be refused, so adding a name that is already pinned to another key fails
 * unless the caller asks to replace it. The file is rewritten atomically
 * (temporary file in the same directory, fsync, rename) with mode 0600, and
 * a file that group or others may write is refused, since whoever can
 * write it decides which gateways are trusted. Comments are not kept when
 * the file is rewritten. */
#ifndef PP_CLI_PINS_H
#define PP_CLI_PINS_H

#include "peerpipe/rtc/fingerprint.h"
#include "peerpipe/tunnel/ctrl.h" /* PP_CTRL_NAME_MAX */

#include <stdbool.h>
#include <stddef.h>

#define PP_PINS_FILE "pins"
#define PP_PINS_FILE_MAX (1024 * 1024)
#define PP_PINS_MAX 4096
#define PP_PINS_LINE_MAX 512

struct pp_pin {
	char name[PP_CTRL_NAME_MAX + 1];
	struct pp_fingerprint fp;
};

struct pp_pins {
	struct pp_pin *v;
	size_t n;
	size_t cap;
};

/* Reads path into *out (empty when the file does not exist). 0, or
 * PP_ERR_CONFIG with err = "path:line: ..." (or "path: ..."). */
int pp_pins_load(const char *path, struct pp_pins *out, char *err, size_t errlen);
/* The same for text; name stands for the file in messages. */
int pp_pins_parse(const char *name, const char *text, size_t len, struct pp_pins *out,
                  char *err, size_t errlen);
void pp_pins_free(struct pp_pins *p);

/* 0 with *out set, or PP_ERR_NOT_FOUND. */
int pp_pins_lookup(const struct pp_pins *p, const char *name, struct pp_fingerprint *out);

/* 0 (also when the same pin is already there), PP_ERR_INVALID (bad name,
 * or not a sha-256 fingerprint), PP_ERR_STATE (name pinned to another key
 * and !replace), PP_ERR_TOO_BIG (PP_PINS_MAX reached). */
int pp_pins_add(struct pp_pins *p, const char *name, const struct pp_fingerprint *fp,
                bool replace);
/* 0 or PP_ERR_NOT_FOUND. */
int pp_pins_remove(struct pp_pins *p, const char *name);

/* Writes atomically with mode 0600. 0 or -errno (err says which step). */
int pp_pins_save(const struct pp_pins *p, const char *path, char *err, size_t errlen);

/* "sha-256 AB:..." (blanks between the two words tolerated) or bare
 * "AB:CD:..." (taken as sha-256) -> fp. 0 or PP_ERR_INVALID. */
int pp_pins_parse_fp(const char *text, struct pp_fingerprint *fp);

/* 1..64 characters of [A-Za-z0-9._-]. */
bool pp_pins_name_valid(const char *name);

#endif
