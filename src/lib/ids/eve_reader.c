/* SPDX-License-Identifier: Apache-2.0 */
/* Line splitter for the EVE unix stream socket (see
 * include/peerpipe/ids/eve.h): bounded memory, one error per over-long
 * line, zero copies for lines that do not straddle a chunk. */
#include "peerpipe/ids/eve.h"

#include "peerpipe/error.h"

#include <stdlib.h>
#include <string.h>

struct pp_eve_reader {
	size_t max;      /* longest line delivered, without "\n" */
	size_t len;      /* bytes of an incomplete line in buf */
	bool discarding; /* inside an over-long line: drop up to its "\n" */
	char buf[];      /* max bytes */
};

struct pp_eve_reader *pp_eve_reader_new(size_t max_line)
{
	if (max_line == 0)
		max_line = PP_EVE_LINE_MAX;
	if (max_line > PP_EVE_LINE_MAX)
		return NULL;
	struct pp_eve_reader *r = malloc(sizeof(*r) + max_line);
	if (!r)
		return NULL;
	r->max = max_line;
	r->len = 0;
	r->discarding = false;
	return r;
}

void pp_eve_reader_free(struct pp_eve_reader *r)
{
	free(r);
}

void pp_eve_reader_feed(struct pp_eve_reader *r, const void *data, size_t len,
                        pp_eve_line_fn fn, void *user)
{
	if (len == 0) /* data may be NULL then */
		return;
	const char *p = data, *end = p + len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = (size_t)((nl ? nl : end) - p);
		const char *next = nl ? nl + 1 : end;

		if (r->discarding) {
			r->discarding = !nl;
			p = next;
			continue;
		}
		if (n > r->max - r->len) { /* r->len <= r->max: no wrap */
			r->len = 0;
			r->discarding = !nl;
			fn(user, NULL, 0, PP_ERR_TOO_BIG);
			p = next;
			continue;
		}
		if (!nl) {
			memcpy(r->buf + r->len, p, n);
			r->len += n;
			return;
		}
		const char *line = p;
		size_t line_len = n;
		if (r->len) {
			memcpy(r->buf + r->len, p, n);
			line = r->buf;
			line_len = r->len + n;
			r->len = 0;
		}
		if (line_len)
			fn(user, line, line_len, 0);
		p = next;
	}
}

size_t pp_eve_reader_finish(struct pp_eve_reader *r, pp_eve_line_fn fn, void *user)
{
	size_t dropped = r->len;

	r->len = 0;
	r->discarding = false;
	if (dropped && fn)
		fn(user, NULL, 0, PP_ERR_TRUNCATED);
	return dropped;
}

size_t pp_eve_reader_pending(const struct pp_eve_reader *r)
{
	return r->len;
}
