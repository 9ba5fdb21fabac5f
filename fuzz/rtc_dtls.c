/* SPDX-License-Identifier: Apache-2.0 */
/* DTLS server endpoint fed arbitrary datagrams: it must never crash, never
 * emit a datagram above its MTU, refuse what pp_dtls_feed() documents and
 * never reach CONNECTED (nobody can finish a handshake blind).
 *
 * Input: datagrams, each a 2-byte big-endian length then that many bytes
 * (a length past the end takes the rest). A length with the top bit set is
 * not a datagram but lets time pass so that the retransmission timer fires
 * (twice per input at most). */
#include "fuzz.h"

#include "peerpipe/error.h"
#include "peerpipe/log.h"
#include "peerpipe/rtc/dtls.h"

#include <glib.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_MTU 1200

static int fuzz_send(void *user, const uint8_t *data, size_t len)
{
	CHECK(len > 0 && len <= FUZZ_MTU);
	return 0;
}

static void fuzz_data(void *user, const uint8_t *data, size_t len)
{
	abort(); /* no handshake can complete */
}

static void fuzz_state(void *user, enum pp_dtls_state st, enum pp_dtls_reason why,
                       const char *text)
{
	CHECK(st != PP_DTLS_CONNECTED && text != NULL);
}

static void fuzz_no_log(enum pp_log_level level, const char *line, void *user)
{
}

static struct pp_identity *fuzz_identity(void)
{
	static struct pp_identity *id;

	if (!id) {
		pp_log_set_sink(fuzz_no_log, NULL);
		CHECK(pp_identity_new_ephemeral(&id) == 0);
	}
	return id;
}

/* Fires every source that is due or armed, without waiting. */
static void fuzz_time_passes(GMainContext *ctx)
{
	for (int i = 0; i < 4 && g_main_context_iteration(ctx, FALSE); i++)
		;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct pp_dtls_callbacks cb = {
		.send_datagram = fuzz_send, .on_data = fuzz_data, .on_state = fuzz_state,
	};
	struct pp_dtls_config c = {
		.identity = fuzz_identity(),
		.role = PP_DTLS_SERVER,
		.allow_unpinned = true,
		.mtu = FUZZ_MTU,
		.retransmit_ms = 1,
	};
	GMainContext *ctx = g_main_context_new();
	int ticks = 0;

	c.remote_fingerprint = *pp_identity_fingerprint(c.identity);
	struct pp_dtls *d = pp_dtls_new(ctx, &c, &cb, NULL);
	CHECK(d != NULL);
	while (size >= 2) {
		size_t n = (size_t)data[0] << 8 | data[1];
		data += 2;
		size -= 2;
		if (n & 0x8000) {
			if (ticks++ < 2) { /* real time: keep inputs fast */
				g_usleep(1500);
				fuzz_time_passes(ctx);
			}
			continue;
		}
		n = n < size ? n : size;
		int rc = pp_dtls_feed(d, data, n);
		CHECK(rc == 0 || rc == PP_ERR_INVALID || rc == PP_ERR_STATE);
		data += n;
		size -= n;
	}
	pp_dtls_free(d);
	g_main_context_unref(ctx);
	return 0;
}
