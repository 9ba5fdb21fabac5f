/* SPDX-License-Identifier: Apache-2.0 */
/* Bounded growable byte buffer (after curl's dynbuf).
 *
 * Every buffer that grows from network input has a maximum: an append that
 * would pass it fails with PP_ERR_TOO_BIG and leaves the buffer unchanged.
 * The content is always followed by a NUL byte (not counted in len), so
 * text received into it can be handed to string parsers directly. */
#ifndef PEERPIPE_BUF_H
#define PEERPIPE_BUF_H

#include <stddef.h>
#include <stdint.h>

struct pp_buf {
	uint8_t *data; /* NULL until the first append */
	size_t len;
	size_t cap;
	size_t max;    /* content never exceeds this many bytes */
};

void pp_buf_init(struct pp_buf *b, size_t max);
int pp_buf_append(struct pp_buf *b, const void *data, size_t len);
/* Forget the content, keep the allocation. */
void pp_buf_reset(struct pp_buf *b);
/* Free the memory (wiping it first: buffers may have held secrets). */
void pp_buf_free(struct pp_buf *b);
/* Hand the content to the caller (who frees it); the buffer becomes empty. */
uint8_t *pp_buf_steal(struct pp_buf *b, size_t *len);

#endif
