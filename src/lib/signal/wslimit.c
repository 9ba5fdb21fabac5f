/* SPDX-License-Identifier: Apache-2.0 */
/* See peerpipe/wslimit.h. */
#include "peerpipe/wslimit.h"

#include "peerpipe/error.h"

#include <string.h>

void pp_wslimit_init(struct pp_wslimit *m, uint64_t max)
{
	memset(m, 0, sizeof(*m));
	m->max = max;
}

/* From the first two bytes: the whole header's size. */
static size_t pp_wslimit_header_size(const uint8_t *h)
{
	size_t n = 2;

	if ((h[1] & 0x7f) == 126)
		n += 2;
	else if ((h[1] & 0x7f) == 127)
		n += 8;
	if (h[1] & 0x80) /* masked (a server must not, but then the key follows) */
		n += 4;
	return n;
}

static uint64_t pp_wslimit_payload_len(const uint8_t *h)
{
	unsigned len7 = h[1] & 0x7f, k = len7 == 126 ? 2 : 8;
	uint64_t v = 0;

	if (len7 < 126)
		return len7;
	for (unsigned i = 0; i < k; i++)
		v = v << 8 | h[2 + i];
	return v;
}

/* A complete header in m->hdr: false when it is one too many. */
static bool pp_wslimit_frame(struct pp_wslimit *m, uint64_t *size)
{
	uint64_t len = pp_wslimit_payload_len(m->hdr);
	bool fin = m->hdr[0] & 0x80, control = m->hdr[0] & 0x08;

	m->hdr_len = 0;
	m->left = len;
	if (control) {
		*size = len;
		return len <= m->max;
	}
	/* m->msg <= m->max always: no overflow */
	if (len > m->max - m->msg) {
		*size = len > UINT64_MAX - m->msg ? UINT64_MAX : m->msg + len;
		return false;
	}
	m->msg = fin ? 0 : m->msg + len;
	return true;
}

int pp_wslimit_feed(struct pp_wslimit *m, const uint8_t *p, size_t n, size_t *ok, uint64_t *size)
{
	size_t i = 0, start = 0; /* where the header being read began in p */
	uint64_t claimed = 0;

	if (m->tripped)
		goto too_big;
	while (i < n) {
		if (m->left > 0) {
			uint64_t k = m->left < n - i ? m->left : n - i;
			m->left -= k;
			i += (size_t)k;
			continue;
		}
		if (m->hdr_len == 0)
			start = i;
		m->hdr[m->hdr_len++] = p[i++];
		if (m->hdr_len < 2 || m->hdr_len < pp_wslimit_header_size(m->hdr))
			continue;
		if (!pp_wslimit_frame(m, &claimed)) {
			m->tripped = true;
			if (ok)
				*ok = start;
			if (size)
				*size = claimed;
			return PP_ERR_TOO_BIG;
		}
	}
	if (ok)
		*ok = n;
	return 0;
too_big:
	if (ok)
		*ok = 0;
	if (size)
		*size = 0;
	return PP_ERR_TOO_BIG;
}
