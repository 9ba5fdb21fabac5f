/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests: the table-driven INI loader. */
#include "peerpipe/config.h"
#include "peerpipe/error.h"

#include <glib.h>
#include <stddef.h>
#include <string.h>

struct conf {
	bool flag;
	int64_t count;
	int64_t wait_ms;
	int64_t size;
	char *name;
};

#define F(x) offsetof(struct conf, x)
static const struct pp_cfg_key keys[] = {
	{ "a", "flag", PP_CFG_BOOL, 0, 1, "false", F(flag), NULL },
	{ "a", "count", PP_CFG_INT, 1, 100, "7", F(count), NULL },
	{ "b", "wait", PP_CFG_DURATION, 100, 3600000, "10s", F(wait_ms), NULL },
	{ "b", "size", PP_CFG_SIZE, 1, 1 << 30, "64KiB", F(size), NULL },
	{ "b", "name", PP_CFG_STRING, 1, 8, NULL, F(name), NULL },
};
#define N (sizeof(keys) / sizeof(keys[0]))

static int load(struct conf *c, const char *text, char *err)
{
	memset(c, 0, sizeof(*c));
	g_assert_cmpint(pp_cfg_defaults(keys, N, c, err, PP_CFG_ERR_MAX), ==, 0);
	return pp_cfg_load_data(keys, N, c, "t.ini", text, strlen(text), err, PP_CFG_ERR_MAX);
}

static void test_defaults_and_values(void)
{
	struct conf c;
	char err[PP_CFG_ERR_MAX];
	g_assert_cmpint(load(&c, "", err), ==, 0);
	g_assert_false(c.flag);
	g_assert_cmpint(c.count, ==, 7);
	g_assert_cmpint(c.wait_ms, ==, 10000);
	g_assert_cmpint(c.size, ==, 65536);
	g_assert_null(c.name);
	g_assert_cmpint(load(&c, "# comment\n[a]\nflag = yes\ncount=100\n[b]\nwait = 250ms\nsize=8MiB\nname = gw-1  \n", err), ==, 0);
	g_assert_true(c.flag);
	g_assert_cmpint(c.count, ==, 100);
	g_assert_cmpint(c.wait_ms, ==, 250);
	g_assert_cmpint(c.size, ==, 8 << 20);
	g_assert_cmpstr(c.name, ==, "gw-1");
	g_assert_cmpint(pp_cfg_set(keys, N, &c, "b", "wait", "2m", "--set", err, sizeof(err)), ==, 0);
	g_assert_cmpint(c.wait_ms, ==, 120000);
	pp_cfg_free(keys, N, &c);
	g_assert_null(c.name);
}

static void expect_error(const char *text, const char *needle)
{
	struct conf c;
	char err[PP_CFG_ERR_MAX] = "";
	g_assert_cmpint(load(&c, text, err), ==, PP_ERR_CONFIG);
	if (!strstr(err, needle))
		g_error("error \"%s\" lacks \"%s\"", err, needle);
	pp_cfg_free(keys, N, &c);
}

static void test_errors_name_file_and_line(void)
{
	expect_error("[a]\nflag = true\n\ncolour = red\n", "t.ini:4: unknown key \"colour\" in [a]");
	expect_error("[a]\ncount=1\n[zz]\nx=1\n", "t.ini:3: unknown section [zz]");
	expect_error("[a]\ncount = 101\n", "t.ini:2: [a] count: 101 is out of range (1..100)");
	expect_error("[a]\ncount = 0x10\n", "t.ini:2: [a] count: cannot parse");
	expect_error("[a]\nflag = maybe\n", "t.ini:2: [a] flag: expected true or false");
	expect_error("[b]\nwait = 10 s\n", "t.ini:2: [b] wait: cannot parse");
	expect_error("[b]\nwait = 10ms\n", "out of range");
	expect_error("[b]\nname = waytoolongname\n", "t.ini:2: [b] name: length must be 1..8");
	expect_error("[b]\nsize = 99999999999999999999\n", "cannot parse");
	expect_error("not an ini line\n", "t.ini:");
}

static void test_parsers(void)
{
	int64_t v;
	g_assert_cmpint(pp_cfg_parse_duration_ms("1h", &v), ==, 0);
	g_assert_cmpint(v, ==, 3600000);
	g_assert_cmpint(pp_cfg_parse_duration_ms("3", &v), ==, 0);
	g_assert_cmpint(v, ==, 3000);
	g_assert_cmpint(pp_cfg_parse_duration_ms("2d", &v), ==, 0);
	g_assert_cmpint(v, ==, 172800000);
	g_assert_cmpint(pp_cfg_parse_duration_ms("h", &v), ==, PP_ERR_INVALID);
	g_assert_cmpint(pp_cfg_parse_duration_ms("9223372036854775807d", &v), ==, PP_ERR_TOO_BIG);
	g_assert_cmpint(pp_cfg_parse_size("1GiB", &v), ==, 0);
	g_assert_cmpint(v, ==, 1 << 30);
	g_assert_cmpint(pp_cfg_parse_size("1GB", &v), ==, PP_ERR_INVALID);
	g_assert_cmpint(pp_cfg_parse_int("", &v), ==, PP_ERR_INVALID);
	g_assert_cmpint(pp_cfg_parse_int("12x", &v), ==, PP_ERR_INVALID);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/config/values", test_defaults_and_values);
	g_test_add_func("/config/errors", test_errors_name_file_and_line);
	g_test_add_func("/config/parsers", test_parsers);
	return g_test_run();
}
