/* SPDX-License-Identifier: Apache-2.0 */
/* Secrets read from files (JWT and TURN shared secrets).
 *
 * The secret is the file's content without one trailing newline. Memory is
 * wiped on free. A file readable by every user is accepted (Docker secrets
 * are 0444) but reported through *warn so the program can log it. */
#ifndef PEERPIPE_SECRET_H
#define PEERPIPE_SECRET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PP_SECRET_MAX 4096

struct pp_secret {
	uint8_t *data;
	size_t len;
};

/* 0, or PP_ERR_TOO_BIG / PP_ERR_INVALID (empty or shorter than min_len) /
 * -errno. *world_readable is set when others may read the file. */
int pp_secret_read_file(const char *path, size_t min_len, struct pp_secret *out,
                        bool *world_readable);
void pp_secret_free(struct pp_secret *s);

#endif
