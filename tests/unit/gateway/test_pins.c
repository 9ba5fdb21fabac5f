/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests: the peerpipe CLI's pins file (src/cli/pins.c). */
#include "pins.h"
#include "tmptree.h"

#include "peerpipe/error.h"

#include <dirent.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static const char *fp_text(unsigned b)
{
	static char bufs[4][PP_FP_TEXT_MAX];
	static unsigned next;
	char *p = bufs[next++ % 4];
	int o = snprintf(p, PP_FP_TEXT_MAX, "sha-256 ");
	for (int i = 0; i < 32; i++)
		o += snprintf(p + o, (size_t)(PP_FP_TEXT_MAX - o), "%s%02X", i ? ":" : "", b & 0xff);
	return p;
}

static struct pp_fingerprint fp_of(unsigned b)
{
	struct pp_fingerprint fp;
	g_assert_cmpint(pp_pins_parse_fp(fp_text(b), &fp), ==, 0);
	return fp;
}

static char *tmp_dir(void)
{
	GError *err = NULL;
	char *d = g_dir_make_tmp("pp-pins-XXXXXX", &err);
	g_assert_no_error(err);
	return d;
}

static int cmp_names(gconstpointer a, gconstpointer b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Names in dir, sorted and joined with spaces. */
static char *dir_listing(const char *dir)
{
	GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
	DIR *d = opendir(dir);
	struct dirent *e;
	g_assert_nonnull(d);
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			g_ptr_array_add(names, g_strdup(e->d_name));
	closedir(d);
	g_ptr_array_sort(names, cmp_names);
	g_ptr_array_add(names, NULL);
	char *s = g_strjoinv(" ", (char **)names->pdata);
	g_ptr_array_free(names, TRUE);
	return s;
}

static void rm_dir(char *dir)
{
	tmptree_remove(dir);
	g_free(dir);
}

static void test_round_trip(void)
{
	char *dir = tmp_dir(), *path = g_build_filename(dir, "pins", NULL);
	struct pp_pins p = { 0 }, q;
	struct pp_fingerprint fp, f1 = fp_of(1), f2 = fp_of(2), f3 = fp_of(3);
	char err[256] = "";

	g_assert_cmpint(pp_pins_load(path, &q, err, sizeof(err)), ==, 0); /* no file yet */
	g_assert_cmpuint(q.n, ==, 0);
	g_assert_cmpint(pp_pins_add(&p, "office", &f1, false), ==, 0);
	g_assert_cmpint(pp_pins_add(&p, "home.gw", &f2, false), ==, 0);
	g_assert_cmpint(pp_pins_add(&p, "lab_3", &f3, false), ==, 0);
	g_assert_cmpint(pp_pins_remove(&p, "home.gw"), ==, 0);
	g_assert_cmpint(pp_pins_remove(&p, "home.gw"), ==, PP_ERR_NOT_FOUND);
	g_assert_cmpint(pp_pins_add(&p, "home.gw", &f2, false), ==, 0);
	g_assert_cmpint(pp_pins_save(&p, path, err, sizeof(err)), ==, 0);

	g_assert_cmpint(pp_pins_load(path, &q, err, sizeof(err)), ==, 0);
	g_assert_cmpuint(q.n, ==, 3);
	g_assert_cmpstr(q.v[0].name, ==, "office"); /* order kept */
	g_assert_cmpstr(q.v[2].name, ==, "home.gw");
	g_assert_cmpint(pp_pins_lookup(&q, "lab_3", &fp), ==, 0);
	g_assert_true(pp_fingerprint_equal(&fp, &f3));
	g_assert_cmpint(pp_pins_lookup(&q, "nope", &fp), ==, PP_ERR_NOT_FOUND);

	char *text = NULL;
	g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
	char *line = g_strdup_printf("\noffice %s\n", fp_text(1));
	g_assert_nonnull(strstr(text, line));
	g_free(line);
	g_free(text);

	pp_pins_free(&q);
	pp_pins_free(&p);
	g_free(path);
	rm_dir(dir);
}

static void test_atomic_and_mode(void)
{
	char *dir = tmp_dir(), *path = g_build_filename(dir, "pins", NULL);
	struct pp_pins p = { 0 };
	struct pp_fingerprint f1 = fp_of(1);
	struct stat st;
	char err[256] = "";

	/* An existing file readable by all becomes 0600, whatever the umask. */
	g_assert_true(g_file_set_contents(path, "# old\n", -1, NULL));
	g_assert_cmpint(g_chmod(path, 0644), ==, 0);
	mode_t old = umask(0);
	g_assert_cmpint(pp_pins_add(&p, "gw", &f1, false), ==, 0);
	g_assert_cmpint(pp_pins_save(&p, path, err, sizeof(err)), ==, 0);
	umask(old);
	g_assert_cmpint(stat(path, &st), ==, 0);
	g_assert_cmpint(st.st_mode & 07777, ==, 0600);
	char *ls = dir_listing(dir);
	g_assert_cmpstr(ls, ==, "pins"); /* no temporary file left */
	g_free(ls);

	/* A failed rename (target is a directory) leaves nothing behind. */
	char *sub = g_build_filename(dir, "sub", NULL);
	g_assert_cmpint(g_mkdir(sub, 0700), ==, 0);
	g_assert_cmpint(pp_pins_save(&p, sub, err, sizeof(err)), <, 0);
	g_assert_nonnull(strstr(err, "rename"));
	ls = dir_listing(dir);
	g_assert_cmpstr(ls, ==, "pins sub");
	g_free(ls);
	g_free(sub);

	/* A pins file that others may write is refused. */
	struct pp_pins q;
	g_assert_cmpint(g_chmod(path, 0620), ==, 0);
	g_assert_cmpint(pp_pins_load(path, &q, err, sizeof(err)), ==, PP_ERR_CONFIG);
	g_assert_nonnull(strstr(err, "writable by group or others"));

	pp_pins_free(&p);
	g_free(path);
	rm_dir(dir);
}

static void test_replace_rule(void)
{
	struct pp_pins p = { 0 };
	struct pp_fingerprint f1 = fp_of(1), f2 = fp_of(2), fp, sha1;

	g_assert_cmpint(pp_pins_add(&p, "gw", &f1, false), ==, 0);
	g_assert_cmpint(pp_pins_add(&p, "gw", &f1, false), ==, 0); /* same key: fine */
	g_assert_cmpint(pp_pins_add(&p, "gw", &f2, false), ==, PP_ERR_STATE);
	g_assert_cmpint(pp_pins_lookup(&p, "gw", &fp), ==, 0);
	g_assert_true(pp_fingerprint_equal(&fp, &f1)); /* unchanged */
	g_assert_cmpint(pp_pins_add(&p, "gw", &f2, true), ==, 0);
	g_assert_cmpint(pp_pins_lookup(&p, "gw", &fp), ==, 0);
	g_assert_true(pp_fingerprint_equal(&fp, &f2));
	g_assert_cmpuint(p.n, ==, 1);
	g_assert_cmpint(pp_pins_add(&p, "bad name", &f1, false), ==, PP_ERR_INVALID);
	g_assert_cmpint(pp_pins_add(&p, "", &f1, false), ==, PP_ERR_INVALID);
	const char *s1 = "sha-1 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33";
	g_assert_cmpint(pp_fingerprint_parse(s1, strlen(s1), &sha1), ==, 0);
	g_assert_cmpint(pp_pins_add(&p, "old", &sha1, false), ==, PP_ERR_INVALID);
	pp_pins_free(&p);

	/* bare hex, as `--pin AB:CD:...` takes it: sha-256 */
	g_assert_cmpint(pp_pins_parse_fp(fp_text(5) + 8, &fp), ==, 0);
	g_assert_cmpint(pp_pins_parse_fp(fp_text(5), &f1), ==, 0);
	g_assert_true(pp_fingerprint_equal(&fp, &f1));
	g_assert_cmpint(pp_pins_parse_fp("  AB:CD  ", &fp), ==, PP_ERR_INVALID); /* too short */
	g_assert_cmpint(pp_pins_parse_fp("sha-256", &fp), ==, PP_ERR_INVALID);
	g_assert_cmpint(pp_pins_parse_fp("", &fp), ==, PP_ERR_INVALID);
	char *spaced = g_strdup_printf("  sha-256 \t %s  ", fp_text(5) + 8);
	g_assert_cmpint(pp_pins_parse_fp(spaced, &fp), ==, 0);
	g_free(spaced);
	g_assert_cmpint(pp_pins_parse_fp(s1, &fp), ==, PP_ERR_INVALID);
}

static void expect_bad(const char *text, size_t len, const char *needle)
{
	struct pp_pins p;
	char err[256] = "";
	g_assert_cmpint(pp_pins_parse("pins", text, len, &p, err, sizeof(err)), ==, PP_ERR_CONFIG);
	g_assert_null(p.v);
	if (!strstr(err, needle))
		g_error("error \"%s\" lacks \"%s\"", err, needle);
}

static void test_bad_lines(void)
{
	char *t;
	struct pp_pins p;
	char err[256] = "";

	t = g_strdup_printf("# c\n\n  \r\ngw %s\r\n  other\t%s  \n", fp_text(1), fp_text(2));
	g_assert_cmpint(pp_pins_parse("pins", t, strlen(t), &p, err, sizeof(err)), ==, 0);
	g_assert_cmpuint(p.n, ==, 2);
	g_assert_cmpstr(p.v[1].name, ==, "other");
	pp_pins_free(&p);
	g_free(t);

	expect_bad("gw\n", 3, "pins:1: expected \"NAME sha-256 AB:CD:...\"");
	expect_bad("\n\ngw sha-256 AB:CD\n", 18, "pins:3: pin \"gw\": expected a sha-256 fingerprint");
	t = g_strdup_printf("#\nb@d %s\n", fp_text(1));
	expect_bad(t, strlen(t), "pins:2: \"b@d\" is not a valid name");
	g_free(t);
	t = g_strdup_printf("gw %s\ngw %s\n", fp_text(1), fp_text(2));
	expect_bad(t, strlen(t), "pins:2: \"gw\" is pinned twice");
	g_free(t);
	t = g_strdup_printf("gw %s extra\n", fp_text(1));
	expect_bad(t, strlen(t), "pins:1: pin \"gw\"");
	g_free(t);
	t = g_strnfill(PP_PINS_LINE_MAX + 1, '#');
	expect_bad(t, strlen(t), "pins:1: line longer than 512 bytes");
	g_free(t);
	expect_bad("gw\0x\n", 5, "pins: not a text file");

	GString *s = g_string_new(NULL);
	for (int i = 0; i <= PP_PINS_MAX; i++)
		g_string_append_printf(s, "g%d %s\n", i, fp_text(1));
	expect_bad(s->str, s->len, "pins:4097: more than 4096 pins");
	while (s->len <= PP_PINS_FILE_MAX)
		g_string_append(s, "# padding padding padding padding padding padding\n");
	expect_bad(s->str, s->len, "pins: larger than 1048576 bytes");
	g_string_free(s, TRUE);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/pins/round-trip", test_round_trip);
	g_test_add_func("/pins/atomic-and-mode", test_atomic_and_mode);
	g_test_add_func("/pins/replace-rule", test_replace_rule);
	g_test_add_func("/pins/bad-lines", test_bad_lines);
	return g_test_run();
}
