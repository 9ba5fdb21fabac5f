/* SPDX-License-Identifier: Apache-2.0 */
#include "peerpipe/b64.h"

#include "peerpipe/error.h"

#include <limits.h>

static const char pp_b64_std[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char pp_b64_url[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static int pp_b64_encode_with(const char *alpha, int pad, const uint8_t *in,
                              size_t len, char *out, size_t cap)
{
	size_t o = 0;
	if (len > (size_t)INT_MAX / 2 || PP_B64_ENC_SIZE(len) > cap)
		return PP_ERR_TOO_BIG;
	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16;
		size_t n = len - i;
		if (n > 1)
			v |= (uint32_t)in[i + 1] << 8;
		if (n > 2)
			v |= in[i + 2];
		out[o++] = alpha[(v >> 18) & 63];
		out[o++] = alpha[(v >> 12) & 63];
		if (n > 1)
			out[o++] = alpha[(v >> 6) & 63];
		else if (pad)
			out[o++] = '=';
		if (n > 2)
			out[o++] = alpha[v & 63];
		else if (pad)
			out[o++] = '=';
	}
	out[o] = '\0';
	return (int)o;
}

int pp_b64_encode(const uint8_t *in, size_t len, char *out, size_t cap)
{
	return pp_b64_encode_with(pp_b64_std, 1, in, len, out, cap);
}

int pp_b64url_encode(const uint8_t *in, size_t len, char *out, size_t cap)
{
	return pp_b64_encode_with(pp_b64_url, 0, in, len, out, cap);
}

static int pp_b64url_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

int pp_b64url_decode(const char *in, size_t len, uint8_t *out, size_t cap)
{
	size_t o = 0;
	uint32_t acc = 0;
	int bits = 0;

	if (len % 4 == 1 || len > (size_t)INT_MAX)
		return PP_ERR_INVALID;
	for (size_t i = 0; i < len; i++) {
		int v = pp_b64url_value(in[i]);
		if (v < 0)
			return PP_ERR_INVALID;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o >= cap)
				return PP_ERR_TOO_BIG;
			out[o++] = (uint8_t)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	if (acc != 0) /* non-canonical: leftover bits must be zero */
		return PP_ERR_INVALID;
	return (int)o;
}
