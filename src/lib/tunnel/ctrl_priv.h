/* SPDX-License-Identifier: Apache-2.0 */
/* Shared by ctrl.c (parser) and ctrl_build.c (builders). */
#ifndef PEERPIPE_TUNNEL_CTRL_PRIV_H
#define PEERPIPE_TUNNEL_CTRL_PRIV_H

/* The exact texts of the field-less stream messages as the builders make
 * them (test_ctrl checks them): every stream carries them, so the
 * builders return them as they are and pp_ctrl_parse() recognises them
 * without jansson. Any other spelling goes through jansson as before. */
#define PP_CTRL_TEXT_CONNECTED "{\"type\":\"CONNECTED\"}"
#define PP_CTRL_TEXT_EOF "{\"type\":\"EOF\"}"

#include <stddef.h>

/* len cut to at most max bytes on a UTF-8 character boundary. */
static inline size_t pp_ctrl_cut(const char *s, size_t len, size_t max)
{
	if (len > max) {
		len = max;
		while (len > 0 && ((unsigned char)s[len] & 0xc0) == 0x80)
			len--;
	}
	return len;
}

#endif
