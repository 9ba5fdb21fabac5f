/* SPDX-License-Identifier: Apache-2.0 */
/* The WebSocket message size meter (peerpipe/wslimit.h): fragments are
 * summed, control frames between them are not, a message ends at FIN=1,
 * every length form is read, and the answer does not depend on how the
 * bytes are split. */
#include "wsframe.h"

#include "peerpipe/error.h"
#include "peerpipe/wslimit.h"

#include <glib.h>
#include <string.h>

enum { CONT = 0x0, TEXT = 0x1, BINARY = 0x2, CLOSE = 0x8, PING = 0x9 };

/* Appends one frame (payload of len 'x' bytes); masked adds a mask key. */
static void frame(GByteArray *out, gboolean fin, guint8 op, guint64 len, gboolean masked)
{
	guint8 h[WSFRAME_HEADER_MAX];

	g_byte_array_append(out, h, (guint)wsframe_header(h, fin, op, len, masked));
	for (guint64 i = 0; i < len && len < (1u << 24); i++)
		g_byte_array_append(out, (const guint8 *)"x", 1);
}

/* Feeds buf in pieces of `piece` bytes (0: at once). Returns 0 or
 * PP_ERR_TOO_BIG; *passed: the bytes that may go on, in all. */
static int feed(const GByteArray *buf, guint64 max, gsize piece, gsize *passed, guint64 *size)
{
	struct pp_wslimit m;
	gsize off = 0, ok = 0;
	int rc = 0;

	pp_wslimit_init(&m, max);
	*passed = 0;
	while (off < buf->len && rc == 0) {
		gsize n = piece ? MIN(piece, buf->len - off) : buf->len - off;
		rc = pp_wslimit_feed(&m, buf->data + off, n, &ok, size);
		g_assert_cmpuint(ok, <=, n);
		*passed += ok;
		off += n;
	}
	if (rc == 0) {
		/* a tripped meter stays so; an untripped one takes more */
		g_assert_false(m.tripped);
	} else {
		g_assert_cmpint(pp_wslimit_feed(&m, (const guint8 *)"\x81\x00", 2, &ok, NULL), ==,
		                PP_ERR_TOO_BIG);
		g_assert_cmpuint(ok, ==, 0);
	}
	return rc;
}

/* The same answer at once, in 1-byte and in 7-byte pieces (except that
 * the first bytes of the offending header may have gone on with an
 * earlier piece). */
static void check(const GByteArray *buf, guint64 max, int want_rc, gsize want_passed,
                  guint64 want_size)
{
	static const gsize pieces[] = { 0, 1, 7 };

	for (gsize i = 0; i < G_N_ELEMENTS(pieces); i++) {
		gsize passed = 0;
		guint64 size = 0;
		int rc = feed(buf, max, pieces[i], &passed, &size);
		g_assert_cmpint(rc, ==, want_rc);
		if (rc == 0 || pieces[i] == 0)
			g_assert_cmpuint(passed, ==, want_passed);
		g_assert_cmpuint(passed, >=, want_passed);
		g_assert_cmpuint(passed, <, want_passed + PP_WSLIMIT_HEADER_MAX);
		if (rc)
			g_assert_cmpuint(size, ==, want_size);
	}
}

static void test_single(void)
{
	GByteArray *b = g_byte_array_new();

	frame(b, TRUE, TEXT, 100, FALSE);
	check(b, 100, 0, b->len, 0);
	check(b, 99, PP_ERR_TOO_BIG, 0, 100);
	/* the next message starts from nothing */
	frame(b, TRUE, BINARY, 100, FALSE);
	check(b, 100, 0, b->len, 0);
	g_byte_array_unref(b);
}

static void test_fragments(void)
{
	GByteArray *b = g_byte_array_new();
	gsize before_last;

	frame(b, FALSE, TEXT, 40, FALSE);
	frame(b, TRUE, PING, 10, FALSE); /* not counted */
	frame(b, FALSE, CONT, 40, FALSE);
	before_last = b->len;
	frame(b, TRUE, CONT, 20, FALSE);
	check(b, 100, 0, b->len, 0);
	/* one byte more than the limit: stopped where that frame begins */
	check(b, 99, PP_ERR_TOO_BIG, before_last, 100);
	/* after FIN the count restarts */
	frame(b, FALSE, TEXT, 60, FALSE);
	frame(b, TRUE, CONT, 40, FALSE);
	check(b, 100, 0, b->len, 0);
	g_byte_array_unref(b);
}

/* A message without end: stopped at the frame that crosses the limit. */
static void test_endless(void)
{
	GByteArray *b = g_byte_array_new();
	gsize at = 0;

	frame(b, FALSE, TEXT, 1000, FALSE);
	for (int i = 0; i < 200; i++) {
		if (i == 64) /* 1000 + 64 * 1000 > 64 * 1024 */
			at = b->len;
		frame(b, FALSE, CONT, 1000, FALSE);
	}
	check(b, 64 * 1024, PP_ERR_TOO_BIG, at, 66000);
	g_byte_array_unref(b);
}

static void test_lengths(void)
{
	GByteArray *b = g_byte_array_new();

	frame(b, FALSE, TEXT, 125, FALSE);
	frame(b, FALSE, CONT, 126, FALSE);    /* 16-bit length */
	frame(b, TRUE, CONT, 70000, FALSE);   /* 64-bit length */
	check(b, 125 + 126 + 70000, 0, b->len, 0);
	check(b, 125 + 126 + 69999, PP_ERR_TOO_BIG, 2 + 125 + 4 + 126, 125 + 126 + 70000);
	g_byte_array_set_size(b, 0);
	/* masked (a server must not, but the key must not throw the count off) */
	frame(b, FALSE, TEXT, 50, TRUE);
	frame(b, TRUE, CONT, 50, TRUE);
	frame(b, TRUE, TEXT, 100, TRUE);
	check(b, 100, 0, b->len, 0);
	g_byte_array_unref(b);
}

/* Lengths that overflow a sum, and control frames that claim too much. */
static void test_absurd(void)
{
	GByteArray *b = g_byte_array_new();

	frame(b, FALSE, TEXT, 10, FALSE);
	gsize at = b->len;
	frame(b, FALSE, CONT, G_MAXUINT64, FALSE); /* header only */
	check(b, 1024, PP_ERR_TOO_BIG, at, G_MAXUINT64);
	g_byte_array_set_size(b, 0);
	frame(b, TRUE, TEXT, G_MAXUINT64 - 5, FALSE);
	check(b, G_MAXUINT64 - 1, 0, b->len, 0); /* fits: only the header came */
	g_byte_array_set_size(b, 0);
	frame(b, TRUE, PING, 125, FALSE);
	check(b, 1024, 0, b->len, 0);
	frame(b, TRUE, CLOSE, 5000, FALSE);
	check(b, 1024, PP_ERR_TOO_BIG, 2 + 125, 5000);
	g_byte_array_unref(b);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/wslimit/single", test_single);
	g_test_add_func("/wslimit/fragments", test_fragments);
	g_test_add_func("/wslimit/endless", test_endless);
	g_test_add_func("/wslimit/lengths", test_lengths);
	g_test_add_func("/wslimit/absurd", test_absurd);
	return g_test_run();
}
