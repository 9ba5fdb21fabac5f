/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests: errors, bounded buffers, base64, rate limiter, logging,
 * secret files, the open-file limit. */
#include "peerpipe/b64.h"
#include "peerpipe/buf.h"
#include "peerpipe/error.h"
#include "peerpipe/fdlimit.h"
#include "peerpipe/log.h"
#include "peerpipe/ratelimit.h"
#include "peerpipe/secret.h"

#include <errno.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/resource.h>

static void test_strerror(void)
{
	g_assert_cmpstr(pp_strerror(0), ==, "success");
	g_assert_cmpstr(pp_strerror(PP_ERR_TOO_BIG), ==, "over the configured limit");
	g_assert_cmpstr(pp_strerror(-ENOENT), ==, strerror(ENOENT));
	g_assert_cmpstr(pp_strerror(PP_ERR_REPLAY), ==, "replayed or too old");
	g_assert_cmpstr(pp_strerror(PP_ERR_LAST), ==, "unknown error");
	g_assert_cmpstr(pp_strerror(5), ==, "unknown error");
}

static void test_buf_limit(void)
{
	struct pp_buf b;
	pp_buf_init(&b, 10);
	g_assert_cmpint(pp_buf_append(&b, "hello", 5), ==, 0);
	g_assert_cmpint(pp_buf_append(&b, "world", 5), ==, 0);
	g_assert_cmpuint(b.len, ==, 10);
	g_assert_cmpstr((char *)b.data, ==, "helloworld");
	/* one byte more is refused and changes nothing */
	g_assert_cmpint(pp_buf_append(&b, "!", 1), ==, PP_ERR_TOO_BIG);
	g_assert_cmpuint(b.len, ==, 10);
	g_assert_cmpint(pp_buf_append(&b, "x", SIZE_MAX), ==, PP_ERR_TOO_BIG);
	pp_buf_reset(&b);
	g_assert_cmpuint(b.len, ==, 0);
	g_assert_cmpint(pp_buf_append(&b, "", 0), ==, 0);
	size_t len;
	uint8_t *p = pp_buf_steal(&b, &len);
	g_assert_nonnull(p);
	g_assert_cmpuint(len, ==, 0);
	g_assert_null(b.data);
	g_free(p);
	pp_buf_free(&b);
}

static void test_b64(void)
{
	char out[64];
	uint8_t dec[64];
	g_assert_cmpint(pp_b64_encode((const uint8_t *)"foob", 4, out, sizeof(out)), ==, 8);
	g_assert_cmpstr(out, ==, "Zm9vYg==");
	g_assert_cmpint(pp_b64url_encode((const uint8_t *)"\xfb\xff", 2, out, sizeof(out)), ==, 3);
	g_assert_cmpstr(out, ==, "-_8");
	g_assert_cmpint(pp_b64url_decode("-_8", 3, dec, sizeof(dec)), ==, 2);
	g_assert_cmpmem(dec, 2, "\xfb\xff", 2);
	/* strict: padding, foreign alphabet, non-canonical bits, impossible length */
	g_assert_cmpint(pp_b64url_decode("Zg==", 4, dec, sizeof(dec)), ==, PP_ERR_INVALID);
	g_assert_cmpint(pp_b64url_decode("a+b/", 4, dec, sizeof(dec)), ==, PP_ERR_INVALID);
	g_assert_cmpint(pp_b64url_decode("Zh", 2, dec, sizeof(dec)), ==, PP_ERR_INVALID);
	g_assert_cmpint(pp_b64url_decode("Z", 1, dec, sizeof(dec)), ==, PP_ERR_INVALID);
	g_assert_cmpint(pp_b64url_decode("Zm9vYmFy", 8, dec, 3), ==, PP_ERR_TOO_BIG);
	g_assert_cmpint(pp_b64_encode((const uint8_t *)"abc", 3, out, 4), ==, PP_ERR_TOO_BIG);
}

static void test_bucket(void)
{
	struct pp_bucket b;
	pp_bucket_init(&b, 3, 1000);
	g_assert_true(pp_bucket_take(&b, 10, 3, 1000));
	g_assert_true(pp_bucket_take(&b, 10, 3, 1000));
	g_assert_true(pp_bucket_take(&b, 10, 3, 1000));
	g_assert_false(pp_bucket_take(&b, 10, 3, 1000));
	/* 10 per second: one token after 100 ms, never more than the burst */
	g_assert_false(pp_bucket_take(&b, 10, 3, 1099));
	g_assert_true(pp_bucket_take(&b, 10, 3, 1100));
	g_assert_false(pp_bucket_take(&b, 10, 3, 1100));
	for (int i = 0; i < 3; i++)
		g_assert_true(pp_bucket_take(&b, 10, 3, 100000000));
	g_assert_false(pp_bucket_take(&b, 10, 3, 100000000));
}

static GPtrArray *log_lines;

static void capture(enum pp_log_level level, const char *line, void *user)
{
	g_ptr_array_add(log_lines, g_strdup(line));
}

/* Text from the network printed to a terminal: no escape sequences. */
static void test_log_sanitize(void)
{
	char s[] = "ok\x1b[31mred\x07\r\n\x7f \xc2\x9b" "2J \xc2\xa0" "caf\xc3\xa9";

	pp_log_sanitize(s);
	g_assert_cmpstr(s, ==, "ok?[31mred???? ??2J \xc2\xa0" "caf\xc3\xa9");
}

static void test_log(void)
{
	log_lines = g_ptr_array_new_with_free_func(g_free);
	pp_log_set_sink(capture, NULL);
	pp_log_setup("t", PP_LOG_INFO, PP_LOG_TEXT);
	pp_log(PP_LOG_DEBUG, NULL, "hidden");
	pp_log(PP_LOG_INFO, "abc", "two\nlines");
	pp_log_setup("t", PP_LOG_DEBUG, PP_LOG_JSON);
	pp_log(PP_LOG_WARN, "p\"1", "say \"hi\"\n");
	pp_log_set_sink(NULL, NULL);
	g_assert_cmpuint(log_lines->len, ==, 2);
	const char *text = g_ptr_array_index(log_lines, 0);
	g_assert_nonnull(strstr(text, " t info: [abc] two?lines"));
	g_assert_null(strchr(text, '\n'));
	const char *json = g_ptr_array_index(log_lines, 1);
	g_assert_nonnull(strstr(json, "\"level\":\"warn\",\"prog\":\"t\",\"peer\":\"p\\\"1\",\"msg\":\"say \\\"hi\\\"\\n\"}"));
	g_assert_true(g_str_has_prefix(json, "{\"ts\":\""));
	enum pp_log_level l;
	g_assert_cmpint(pp_log_level_parse("debug", &l), ==, 0);
	g_assert_cmpint(l, ==, PP_LOG_DEBUG);
	g_assert_cmpint(pp_log_level_parse("loud", &l), ==, PP_ERR_INVALID);
	g_ptr_array_free(log_lines, TRUE);
}

static void test_secret(void)
{
	char *dir = g_dir_make_tmp("pp-secret-XXXXXX", NULL);
	char *path = g_build_filename(dir, "s", NULL);
	struct pp_secret s;
	bool world = true;

	g_assert_true(g_file_set_contents(path, "0123456789abcdef0123456789abcdef\n", -1, NULL));
	g_chmod(path, 0600);
	g_assert_cmpint(pp_secret_read_file(path, 32, &s, &world), ==, 0);
	g_assert_cmpuint(s.len, ==, 32); /* trailing newline dropped */
	g_assert_false(world);
	pp_secret_free(&s);
	g_assert_null(s.data);
	g_assert_cmpint(pp_secret_read_file(path, 33, &s, NULL), ==, PP_ERR_INVALID);
	g_assert_true(g_file_set_contents(path, "", 0, NULL));
	g_assert_cmpint(pp_secret_read_file(path, 1, &s, NULL), ==, PP_ERR_INVALID);
	char *big = g_strnfill(PP_SECRET_MAX + 10, 'a');
	g_assert_true(g_file_set_contents(path, big, -1, NULL));
	g_assert_cmpint(pp_secret_read_file(path, 1, &s, NULL), ==, PP_ERR_TOO_BIG);
	g_assert_cmpint(pp_secret_read_file(dir, 1, &s, NULL), <, 0); /* a directory */
	g_assert_cmpint(pp_secret_read_file("/nonexistent/x", 1, &s, NULL), ==, -ENOENT);
	g_free(big);
	g_unlink(path);
	g_rmdir(dir);
	g_free(path);
	g_free(dir);
}

/* The soft limit goes up to the hard one. */
static void test_fdlimit_raise(void)
{
	struct rlimit rl, back;
	rlim_t now = 0;

	g_assert_cmpint(getrlimit(RLIMIT_NOFILE, &back), ==, 0);
	if (back.rlim_max < 128) {
		g_test_skip("hard RLIMIT_NOFILE below 128");
		return;
	}
	rl.rlim_max = back.rlim_max;
	rl.rlim_cur = 64;
	g_assert_cmpint(setrlimit(RLIMIT_NOFILE, &rl), ==, 0);
	g_assert_cmpint(pp_fdlimit_raise(&now), ==, 0);
	g_assert_cmpuint(now, ==, back.rlim_max);
	g_assert_cmpint(getrlimit(RLIMIT_NOFILE, &rl), ==, 0);
	g_assert_cmpuint(rl.rlim_cur, ==, back.rlim_max);
	/* equal already: nothing to do, the same answer */
	g_assert_cmpint(pp_fdlimit_raise(&now), ==, 0);
	g_assert_cmpuint(now, ==, back.rlim_max);
	g_assert_cmpint(setrlimit(RLIMIT_NOFILE, &back), ==, 0);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/core/strerror", test_strerror);
	g_test_add_func("/core/buf/limit", test_buf_limit);
	g_test_add_func("/core/b64", test_b64);
	g_test_add_func("/core/bucket", test_bucket);
	g_test_add_func("/core/log", test_log);
	g_test_add_func("/core/log/sanitize", test_log_sanitize);
	g_test_add_func("/core/secret", test_secret);
	g_test_add_func("/core/fdlimit/raise", test_fdlimit_raise);
	return g_test_run();
}
