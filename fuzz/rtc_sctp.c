/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz target: SCTP packets from the peer (what DTLS hands to
 * pp_sctp_feed). The harness writes a valid CRC32c into each input, so the
 * packets reach usrsctp's own parser and our DCEP and message handling
 * instead of stopping at the checksum. One association lives across inputs
 * (usrsctp is process-wide), in the state a peer can reach unauthenticated
 * after DTLS: connecting. */
#include "fuzz.h"

#include "../src/lib/rtc/sctp_priv.h"

#include "peerpipe/log.h"
#include "peerpipe/rtc/sctp.h"

#include <glib.h>
#include <stdint.h>
#include <string.h>

static int fz_send(void *user, const uint8_t *d, size_t len)
{
	(void)user, (void)d, (void)len;
	return 0;
}

static void fz_message(void *user, struct pp_sctp_channel *ch, enum pp_sctp_kind kind,
                       const uint8_t *d, size_t len)
{
	(void)user, (void)kind, (void)d, (void)len;
	if (len > 262144)
		__builtin_trap(); /* over max_message_size must never be delivered */
	(void)ch;
}

static const struct pp_sctp_callbacks fz_cb = {
	.send_packet = fz_send,
	.on_message = fz_message,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static GMainContext *ctx;
	static struct pp_sctp *s;
	uint8_t pkt[2048];

	if (!ctx) {
		struct pp_sctp_config cfg = { 0 };
		pp_log_setup("fuzz", PP_LOG_ERROR, PP_LOG_TEXT);
		ctx = g_main_context_new();
		s = pp_sctp_new(ctx, &cfg, &fz_cb, NULL);
		if (!s || pp_sctp_connect(s) < 0)
			__builtin_trap();
	}
	if (size < 12 || size > sizeof(pkt))
		return 0;
	memcpy(pkt, data, size);
	pp_sctp_crc32c_stamp(pkt, size);
	pp_sctp_feed(s, pkt, size);
	for (int i = 0; i < 8 && g_main_context_iteration(ctx, FALSE); i++)
		;
	return 0;
}
