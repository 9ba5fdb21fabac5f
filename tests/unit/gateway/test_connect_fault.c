/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests: whose fault a failed service connect is
 * (src/gateway/connect_fault.c), and the open-file limit the configuration
 * needs (src/gateway/fd_limit.c). Sentinel counts only the service's faults. */
#include "connect_fault.h"
#include "fd_limit.h"
#include "mem_bound.h"
#include "peerpipe/tunnel/frame.h"
#include "peerpipe/tunnel/stream.h"

#include <errno.h>
#include <inttypes.h>
#include <gio/gio.h>

/* What the service or the network says counts against the peer... */
static void test_errno_service(void)
{
	const int service[] = { ECONNREFUSED, ETIMEDOUT, EHOSTUNREACH, ENETUNREACH };

	for (size_t i = 0; i < G_N_ELEMENTS(service); i++)
		g_assert_cmpint(gw_fault_of_errno(service[i]), ==, GW_FAULT_SERVICE);
}

/* ...the gateway's own shortages never do: a peer that exhausts fds or
 * local ports must not get the others banned. */
static void test_errno_gateway(void)
{
	const int local[] = { EMFILE, ENFILE, EADDRNOTAVAIL, ENOBUFS, ENOMEM, EACCES, EPERM, 0 };

	for (size_t i = 0; i < G_N_ELEMENTS(local); i++)
		g_assert_cmpint(gw_fault_of_errno(local[i]), ==, GW_FAULT_GATEWAY);
}

static void check_gerror(GQuark domain, int code, enum gw_fault want)
{
	GError *e = g_error_new_literal(domain, code, "x");

	g_assert_cmpint(gw_fault_of_gerror(e), ==, want);
	g_error_free(e);
}

static void test_gerror(void)
{
	check_gerror(G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED, GW_FAULT_SERVICE);
	check_gerror(G_IO_ERROR, G_IO_ERROR_TIMED_OUT, GW_FAULT_SERVICE);
	check_gerror(G_IO_ERROR, G_IO_ERROR_HOST_UNREACHABLE, GW_FAULT_SERVICE);
	check_gerror(G_IO_ERROR, G_IO_ERROR_NETWORK_UNREACHABLE, GW_FAULT_SERVICE);
	check_gerror(G_RESOLVER_ERROR, G_RESOLVER_ERROR_NOT_FOUND, GW_FAULT_SERVICE);
	/* GIO's mapping of the errnos the gateway causes itself */
	check_gerror(G_IO_ERROR, g_io_error_from_errno(EMFILE), GW_FAULT_GATEWAY);
	check_gerror(G_IO_ERROR, g_io_error_from_errno(ENFILE), GW_FAULT_GATEWAY);
	check_gerror(G_IO_ERROR, g_io_error_from_errno(EADDRNOTAVAIL), GW_FAULT_GATEWAY);
	check_gerror(G_RESOLVER_ERROR, G_RESOLVER_ERROR_TEMPORARY_FAILURE, GW_FAULT_GATEWAY);
	g_assert_cmpint(gw_fault_of_gerror(NULL), ==, GW_FAULT_GATEWAY);
	/* and GIO maps the service's errnos to the codes counted above */
	g_assert_cmpint(g_io_error_from_errno(ECONNREFUSED), ==, G_IO_ERROR_CONNECTION_REFUSED);
	g_assert_cmpint(g_io_error_from_errno(EHOSTUNREACH), ==, G_IO_ERROR_HOST_UNREACHABLE);
}

/* The defaults need more than the usual soft limit of 1024 (the raise
 * itself is pp_fdlimit_raise(), tested in tests/unit/test_core.c). */
static void test_fd_limit_needed(void)
{
	g_assert_cmpuint(gw_fd_limit_needed(64, 256), >, 64 * 256);
}

/* The peers' data the limits allow: per peer SCTP's buffers, the
 * streams' pool (its own bound: tests/unit/tunnel/test_stream_pool.c) and
 * the zstd stream decoders' budget, times max_peers, and the process's
 * zstd stream encoders (docs/gateway.md, "Memory"). */
static void test_mem_bound(void)
{
	const uint64_t KiB = 1024, MiB = 1024 * KiB;
	uint64_t dec = pp_frame_zstd_peer_decoder_memory();
	uint64_t enc = PP_FRAME_ZSTD_ENCODERS_MAX * pp_frame_zstd_encoder_size();
	uint64_t per_peer = 2 * 4 * MiB + pp_tstream_pool_bound(4 * MiB, 256, 256 * KiB) + dec;
	uint64_t dflt = gw_mem_bound(64, 256, 4 * MiB, 256 * KiB);

	g_test_message("defaults: %" PRIu64 " MiB; zstd decoders %" PRIu64 " KiB per peer, "
	               "encoders %" PRIu64 " KiB",
	               (dflt + MiB - 1) / MiB, dec / KiB, enc / KiB);
	g_assert_cmpuint(dflt, ==, 64 * per_peer + enc);
	/* the data: 13,824 MiB without the pool (the zstd contexts' size
	 * depends on the zstd library: 3,163 MiB with Debian 12's 1.5.4) */
	g_assert_cmpuint((dflt - 64 * dec - enc + MiB - 1) / MiB, ==, 1871);
	g_assert_cmpuint(gw_mem_zstd_decoders(64), ==, 64 * dec);
	/* one peer: one peer's 16 encoders */
	g_assert_cmpuint(gw_mem_bound(1, 256, 4 * MiB, 256 * KiB), ==,
	                 per_peer + PP_FRAME_ZSTD_STREAMS_PER_PEER * pp_frame_zstd_encoder_size());
	g_assert_cmpuint(gw_mem_bound(128, 256, 4 * MiB, 256 * KiB), ==, 2 * dflt - enc);
	/* each factor moves it the right way */
	g_assert_cmpuint(gw_mem_bound(64, 256, 8 * MiB, 256 * KiB), >, dflt + 64 * 8 * MiB);
	g_assert_cmpuint(gw_mem_bound(64, 128, 4 * MiB, 256 * KiB), <, dflt);
	g_assert_cmpuint(gw_mem_bound(64, 256, 4 * MiB, 64 * KiB), <, dflt);
	/* the largest settings do not overflow */
	g_assert_cmpuint(gw_mem_bound(4096, 1024, 64 * MiB, 16 * MiB), ==,
	                 4096 * (128 * MiB + pp_tstream_pool_bound(64 * MiB, 1024, 16 * MiB) + dec) +
	                     enc);
	g_assert_cmpuint(gw_mem_bound(4096, 1024, 64 * MiB, 16 * MiB), <, (uint64_t)1 << 50);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/connect_fault/errno-service", test_errno_service);
	g_test_add_func("/connect_fault/errno-gateway", test_errno_gateway);
	g_test_add_func("/connect_fault/gerror", test_gerror);
	g_test_add_func("/fd_limit/needed", test_fd_limit_needed);
	g_test_add_func("/mem_bound/product", test_mem_bound);
	return g_test_run();
}
