/* SPDX-License-Identifier: Apache-2.0 */
#include "wsframe.h"

#include <string.h>

gsize wsframe_header(guint8 h[WSFRAME_HEADER_MAX], gboolean fin, guint8 op, guint64 len,
                     gboolean masked)
{
	gsize n = 2;

	h[0] = (guint8)((fin ? 0x80 : 0) | op);
	if (len < 126) {
		h[1] = (guint8)len;
	} else if (len < 65536) {
		h[1] = 126;
		h[2] = (guint8)(len >> 8);
		h[3] = (guint8)len;
		n = 4;
	} else {
		h[1] = 127;
		for (int i = 0; i < 8; i++)
			h[2 + i] = (guint8)(len >> (56 - 8 * i));
		n = 10;
	}
	if (masked) {
		h[1] |= 0x80;
		memcpy(h + n, "\x01\x02\x03\x04", 4);
		n += 4;
	}
	return n;
}
