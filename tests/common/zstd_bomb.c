/* SPDX-License-Identifier: Apache-2.0 */
#include "zstd_bomb.h"

#include <zstd.h>

GByteArray *pp_test_zstd_bomb(uint8_t flags, size_t n, bool content_size)
{
	void *src = g_malloc0(n);
	size_t cap = ZSTD_compressBound(n);
	uint8_t *m = g_malloc(1 + cap);
	GByteArray *a = NULL;
	size_t len;

	if (content_size) {
		len = ZSTD_compress(m + 1, cap, src, n, 3);
	} else {
		ZSTD_CCtx *c = ZSTD_createCCtx();
		ZSTD_inBuffer in = { src, n, 0 };
		ZSTD_outBuffer out = { m + 1, cap, 0 };
		ZSTD_CCtx_setParameter(c, ZSTD_c_contentSizeFlag, 0);
		len = ZSTD_compressStream2(c, &out, &in, ZSTD_e_end);
		if (!ZSTD_isError(len))
			len = len == 0 ? out.pos : (size_t)-1; /* 0: the frame is complete */
		ZSTD_freeCCtx(c);
	}
	if (!ZSTD_isError(len)) {
		m[0] = flags;
		a = g_byte_array_new();
		g_byte_array_append(a, m, (guint)(1 + len));
	}
	g_free(src);
	g_free(m);
	return a;
}
