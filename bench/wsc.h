/* SPDX-License-Identifier: Apache-2.0 */
/* Minimal RFC 6455 client codec for the benchmarks: the upgrade request and
 * its answer, masked frames out, unmasked frames in. No I/O here. */
#ifndef PEERPIPE_BENCH_WSC_H
#define PEERPIPE_BENCH_WSC_H

#include <stddef.h>
#include <stdint.h>

#define PP_WSC_KEY_LEN 24          /* base64 of 16 random bytes */
#define PP_WSC_HDR_MAX 14          /* 2 + 8 length + 4 mask */

enum pp_wsc_op {
	PP_WSC_CONT = 0x0,
	PP_WSC_TEXT = 0x1,
	PP_WSC_BINARY = 0x2,
	PP_WSC_CLOSE = 0x8,
	PP_WSC_PING = 0x9,
	PP_WSC_PONG = 0xA,
};

struct pp_wsc_frame {
	int fin;
	int op;
	const uint8_t *payload;    /* points into the input, already unmasked */
	size_t len;
	size_t total;              /* bytes of input the frame used */
};

/* A fresh Sec-WebSocket-Key (NUL-terminated, PP_WSC_KEY_LEN chars). */
void pp_wsc_key_new(char key[PP_WSC_KEY_LEN + 1]);

/* Writes the GET request into out; returns its length or -1 if cap is short. */
int pp_wsc_request(char *out, size_t cap, const char *host, const char *path,
                   const char *key, const char *protocol);

/* Looks at a response that is still arriving. Returns 0 when the header is
 * incomplete, the header length when it is a valid 101 answer to key with the
 * protocol, or -1 (and *why) when refused or malformed. */
int pp_wsc_response(const char *buf, size_t len, const char *key,
                    const char *protocol, const char **why);

/* Frames payload with a random mask into out (cap >= len + PP_WSC_HDR_MAX).
 * Returns the frame length. */
size_t pp_wsc_encode(uint8_t *out, int op, const void *payload, size_t len);

/* Parses one frame at the start of buf, unmasking in place if the server
 * masked it (it must not). Returns 1 with *f set, 0 when more bytes are
 * needed, -1 on a malformed frame or one over max bytes. */
int pp_wsc_decode(uint8_t *buf, size_t len, size_t max, struct pp_wsc_frame *f);

#endif
