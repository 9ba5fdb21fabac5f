/* SPDX-License-Identifier: Apache-2.0 */
#include "peerpipe/buf.h"

#include "peerpipe/error.h"

#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#define PP_BUF_MIN_CAP 64

void pp_buf_init(struct pp_buf *b, size_t max)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max;
}

int pp_buf_append(struct pp_buf *b, const void *data, size_t len)
{
	if (len > b->max || b->len > b->max - len)
		return PP_ERR_TOO_BIG;
	size_t need = b->len + len + 1; /* + NUL terminator */
	if (need > b->cap) {
		size_t cap = b->cap ? b->cap : PP_BUF_MIN_CAP;
		while (cap < need)
			cap = cap > SIZE_MAX / 2 ? need : cap * 2;
		if (cap > b->max + 1)
			cap = b->max + 1;
		uint8_t *p = realloc(b->data, cap);
		if (!p)
			return PP_ERR_NOMEM;
		b->data = p;
		b->cap = cap;
	}
	if (len)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
	return 0;
}

void pp_buf_reset(struct pp_buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

void pp_buf_free(struct pp_buf *b)
{
	if (b->data) {
		OPENSSL_cleanse(b->data, b->cap);
		free(b->data);
	}
	pp_buf_init(b, b->max);
}

uint8_t *pp_buf_steal(struct pp_buf *b, size_t *len)
{
	uint8_t *p = b->data;
	if (len)
		*len = b->len;
	pp_buf_init(b, b->max);
	return p;
}
