/* SPDX-License-Identifier: Apache-2.0 */
/* A size limit on whole WebSocket messages (RFC 6455 §5.2, §5.4), measured
 * on the frame headers as the bytes arrive, before anything reassembles
 * the fragments.
 *
 * libsoup before 3.6 (Debian 12 has 3.2) bounds each frame
 * (max-incoming-payload-size) but not the sum of a message's fragments: a
 * server that sends a text frame with FIN=0 and then continuation frames
 * without end, each under the frame limit, grows the client's memory until
 * it dies. The signaling client reads the server through this meter
 * (src/lib/signal/wslimit_stream.c) and stops at the first frame that
 * would take a message past the limit.
 *
 * The meter only counts. Whether the frames are otherwise valid (masking,
 * reserved bits, fragment order, control frames over 125 bytes) is the
 * WebSocket implementation's business. A data frame adds to the message
 * until one with FIN=1 ends it; a control frame (a ping between two
 * fragments) adds nothing, though one claiming more than max trips the
 * meter too: nothing the peer sends is buffered past max.
 *
 * Pure: no I/O, no allocation. Fuzzed (fuzz/sig_wslimit.c). */
#ifndef PEERPIPE_WSLIMIT_H
#define PEERPIPE_WSLIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PP_WSLIMIT_HEADER_MAX 14 /* 2 + 8 (64-bit length) + 4 (mask) */

struct pp_wslimit {
	uint64_t max;       /* payload bytes per data message, fragments summed */
	uint64_t msg;       /* payload bytes of the open data message so far */
	uint64_t left;      /* payload bytes of the current frame still to come */
	uint8_t hdr[PP_WSLIMIT_HEADER_MAX];
	uint8_t hdr_len;    /* bytes of a frame header collected so far */
	bool tripped;
};

void pp_wslimit_init(struct pp_wslimit *m, uint64_t max);

/* Feeds the next n bytes received. 0: all of them may be passed on.
 * PP_ERR_TOO_BIG: a frame header among them would take a data message past
 * max; *ok gets how many bytes come before that header (those may be
 * passed on; when the header began in an earlier feed, its first bytes
 * were passed with it), *size the message size that header claims
 * (saturated at UINT64_MAX). A tripped meter stays tripped: every later feed returns
 * PP_ERR_TOO_BIG with *ok 0. ok and size may be NULL. */
int pp_wslimit_feed(struct pp_wslimit *m, const uint8_t *p, size_t n, size_t *ok, uint64_t *size);

#endif
