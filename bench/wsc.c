/* SPDX-License-Identifier: Apache-2.0 */
#include "wsc.h"

#include "peerpipe/b64.h"

#include <openssl/sha.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#define PP_WSC_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

static uint64_t pp_wsc_rng;

/* xorshift64*: masks only need to be unpredictable to a proxy, not secret;
 * a cheap generator keeps masking off the benchmark's profile. */
static uint64_t pp_wsc_rand(void)
{
	if (pp_wsc_rng == 0) {
		if (getrandom(&pp_wsc_rng, sizeof(pp_wsc_rng), 0) !=
		    (ssize_t)sizeof(pp_wsc_rng) || pp_wsc_rng == 0)
			pp_wsc_rng = 0x9E3779B97F4A7C15ull;
	}
	pp_wsc_rng ^= pp_wsc_rng >> 12;
	pp_wsc_rng ^= pp_wsc_rng << 25;
	pp_wsc_rng ^= pp_wsc_rng >> 27;
	return pp_wsc_rng * 0x2545F4914F6CDD1Dull;
}

void pp_wsc_key_new(char key[PP_WSC_KEY_LEN + 1])
{
	uint8_t raw[16];
	uint64_t a = pp_wsc_rand(), b = pp_wsc_rand();

	memcpy(raw, &a, 8);
	memcpy(raw + 8, &b, 8);
	pp_b64_encode(raw, sizeof(raw), key, PP_WSC_KEY_LEN + 1);
}

int pp_wsc_request(char *out, size_t cap, const char *host, const char *path,
                   const char *key, const char *protocol)
{
	int n = snprintf(out, cap,
	                 "GET %s HTTP/1.1\r\n"
	                 "Host: %s\r\n"
	                 "Upgrade: websocket\r\n"
	                 "Connection: Upgrade\r\n"
	                 "Sec-WebSocket-Key: %s\r\n"
	                 "Sec-WebSocket-Version: 13\r\n"
	                 "Sec-WebSocket-Protocol: %s\r\n"
	                 "\r\n",
	                 path, host, key, protocol);
	if (n < 0 || (size_t)n >= cap)
		return -1;
	return n;
}

/* Value of header `name` in the block [p, end), trimmed; NULL if absent. */
static const char *pp_wsc_header(const char *p, const char *end,
                                 const char *name, size_t *vlen)
{
	size_t nlen = strlen(name);

	while (p < end) {
		const char *eol = memmem(p, (size_t)(end - p), "\r\n", 2);
		if (!eol)
			eol = end;
		if ((size_t)(eol - p) > nlen && p[nlen] == ':' &&
		    strncasecmp(p, name, nlen) == 0) {
			const char *v = p + nlen + 1;
			while (v < eol && (*v == ' ' || *v == '\t'))
				v++;
			const char *ve = eol;
			while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
				ve--;
			*vlen = (size_t)(ve - v);
			return v;
		}
		p = eol + 2;
	}
	return NULL;
}

int pp_wsc_response(const char *buf, size_t len, const char *key,
                    const char *protocol, const char **why)
{
	const char *end = memmem(buf, len, "\r\n\r\n", 4);
	char accept_src[PP_WSC_KEY_LEN + sizeof(PP_WSC_GUID)];
	uint8_t digest[SHA_DIGEST_LENGTH];
	char accept[PP_B64_ENC_SIZE(SHA_DIGEST_LENGTH)];
	const char *v;
	size_t vlen;

	if (!end) {
		if (len > 8192) {
			*why = "upgrade response header too long";
			return -1;
		}
		return 0;
	}
	if (len < 12 || memcmp(buf, "HTTP/1.1 101", 12) != 0) {
		*why = "server refused the upgrade (no 101)";
		return -1;
	}
	snprintf(accept_src, sizeof(accept_src), "%s%s", key, PP_WSC_GUID);
	SHA1((const uint8_t *)accept_src, strlen(accept_src), digest);
	pp_b64_encode(digest, sizeof(digest), accept, sizeof(accept));
	v = pp_wsc_header(buf, end, "Sec-WebSocket-Accept", &vlen);
	if (!v || vlen != strlen(accept) || memcmp(v, accept, vlen) != 0) {
		*why = "bad Sec-WebSocket-Accept";
		return -1;
	}
	v = pp_wsc_header(buf, end, "Sec-WebSocket-Protocol", &vlen);
	if (!v || vlen != strlen(protocol) || memcmp(v, protocol, vlen) != 0) {
		*why = "server did not select the subprotocol";
		return -1;
	}
	return (int)(end + 4 - buf);
}

static void pp_wsc_mask(uint8_t *p, size_t len, const uint8_t m[4])
{
	uint64_t m64;
	uint32_t m32;
	size_t i = 0;

	memcpy(&m32, m, 4);
	m64 = ((uint64_t)m32 << 32) | m32;
	for (; i + 8 <= len; i += 8) {
		uint64_t w;
		memcpy(&w, p + i, 8);
		w ^= m64;
		memcpy(p + i, &w, 8);
	}
	for (; i < len; i++)
		p[i] ^= m[i & 3];
}

size_t pp_wsc_encode(uint8_t *out, int op, const void *payload, size_t len)
{
	size_t h = 0;
	uint32_t r = (uint32_t)pp_wsc_rand();
	uint8_t mask[4];

	memcpy(mask, &r, 4);
	out[h++] = (uint8_t)(0x80 | (op & 0x0F));
	if (len < 126) {
		out[h++] = (uint8_t)(0x80 | len);
	} else if (len <= 0xFFFF) {
		out[h++] = 0x80 | 126;
		out[h++] = (uint8_t)(len >> 8);
		out[h++] = (uint8_t)len;
	} else {
		out[h++] = 0x80 | 127;
		for (int s = 56; s >= 0; s -= 8)
			out[h++] = (uint8_t)((uint64_t)len >> s);
	}
	memcpy(out + h, mask, 4);
	h += 4;
	if (len)
		memcpy(out + h, payload, len);
	pp_wsc_mask(out + h, len, mask);
	return h + len;
}

int pp_wsc_decode(uint8_t *buf, size_t len, size_t max, struct pp_wsc_frame *f)
{
	size_t h = 2;
	uint64_t plen;
	int masked;

	if (len < 2)
		return 0;
	if (buf[0] & 0x70)
		return -1; /* no extension was negotiated */
	f->fin = (buf[0] & 0x80) != 0;
	f->op = buf[0] & 0x0F;
	masked = (buf[1] & 0x80) != 0;
	plen = buf[1] & 0x7F;
	if (plen == 126) {
		if (len < 4)
			return 0;
		plen = ((uint64_t)buf[2] << 8) | buf[3];
		h = 4;
	} else if (plen == 127) {
		if (len < 10)
			return 0;
		plen = 0;
		for (int i = 0; i < 8; i++)
			plen = (plen << 8) | buf[2 + i];
		h = 10;
	}
	if (plen > max)
		return -1;
	if (masked)
		h += 4;
	if (len < h || len - h < plen)
		return 0;
	if (masked)
		pp_wsc_mask(buf + h, (size_t)plen, buf + h - 4);
	f->payload = buf + h;
	f->len = (size_t)plen;
	f->total = h + (size_t)plen;
	return 1;
}
