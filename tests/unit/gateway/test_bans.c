/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests: the ban store (src/gateway/bans.c, bans_json.c): the format
 * and its refusals, round trips, expiry, the lock between two processes,
 * and atomic writes that leave the old file when they fail. */
#include "bans.h"
#include "gw_test.h"

#include "peerpipe/error.h"
#include "tmptree.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define NOW 1767225600LL /* 2026-01-01T00:00:00Z */

static struct pp_fingerprint fp_of(unsigned b)
{
	struct pp_fingerprint fp;
	const char *t = gwt_fp(b);
	g_assert_cmpint(pp_fingerprint_parse(t, strlen(t), &fp), ==, 0);
	return fp;
}

static struct ban mk_ban(unsigned b, const char *name, int64_t since, int64_t until)
{
	struct ban e;
	struct pp_fingerprint fp = fp_of(b);
	g_assert_cmpint(bans_entry_set(&e, &fp, name, "Sentinel: 10 denied streams in 60 s", since,
	                               until), ==, 0);
	return e;
}

static char *tmpdir(void)
{
	GError *e = NULL;
	char *d = g_dir_make_tmp("pp-bans-XXXXXX", &e);
	g_assert_no_error(e);
	return d;
}

static void write_text(const char *path, const char *text)
{
	GError *e = NULL;
	g_assert_true(g_file_set_contents(path, text, -1, &e));
	g_assert_no_error(e);
}

static char *read_text(const char *path)
{
	char *t = NULL;
	g_assert_true(g_file_get_contents(path, &t, NULL, NULL));
	return t;
}

/* Entries in dir other than the store, its lock and allowed (no temporary
 * file left behind). */
static unsigned stray_files(const char *dir, const char *allowed)
{
	GDir *d = g_dir_open(dir, 0, NULL);
	const char *n;
	unsigned k = 0;

	g_assert_nonnull(d);
	while ((n = g_dir_read_name(d)))
		if (strcmp(n, "bans.json") != 0 && strcmp(n, "bans.json.lock") != 0 &&
		    (!allowed || strcmp(n, allowed) != 0))
			k++;
	g_dir_close(d);
	return k;
}

/* --- format ------------------------------------------------------------------------- */

static void test_times(void)
{
	char buf[BANS_TIME_TEXT_MAX];
	int64_t t;

	bans_time_format(NOW, buf);
	g_assert_cmpstr(buf, ==, "2026-01-01T00:00:00Z");
	g_assert_cmpint(bans_time_parse(buf, &t), ==, 0);
	g_assert_cmpint(t, ==, NOW);
	g_assert_cmpint(bans_time_parse("2024-02-29T23:59:59Z", &t), ==, 0);
	bans_time_format(t, buf);
	g_assert_cmpstr(buf, ==, "2024-02-29T23:59:59Z");
	g_assert_cmpint(bans_time_parse("1970-01-01T00:00:00Z", &t), ==, 0);
	g_assert_cmpint(t, ==, 0);
	static const char *const bad[] = {
		"2023-02-29T00:00:00Z", "2026-02-30T00:00:00Z", "2026-04-31T00:00:00Z",
		"2026-01-01T24:00:00Z", "2026-01-01T00:60:00Z", "2026-01-01T00:00:60Z",
		"2026-13-01T00:00:00Z", "2026-00-01T00:00:00Z", "1969-12-31T23:59:59Z",
		"2026-01-01T00:00:00z", "2026-01-01 00:00:00Z", "2026-01-01T00:00:00+00:00",
		"2026-01-01T00:00:00.5Z", " 2026-01-01T00:00:00Z", "2026-1-01T00:00:00Z",
		"+026-01-01T00:00:00Z", "", "1767225600",
	};
	for (size_t i = 0; i < G_N_ELEMENTS(bad); i++)
		g_assert_cmpint(bans_time_parse(bad[i], &t), ==, PP_ERR_INVALID);
	bans_time_format(-1, buf);
	g_assert_cmpstr(buf, ==, "");
}

#define ENTRY(fp, name, reason, since, until)                                               \
	"{\"fingerprint\":\"" fp "\",\"identity\":\"" name "\",\"reason\":\"" reason "\","    \
	"\"since\":\"" since "\",\"until\":\"" until "\"}"
#define FP1 "sha-256 01:01:01:01:01:01:01:01:01:01:01:01:01:01:01:01:01:01:01:01:01:01:01:01:01:01:01:01:01:01:01:01"
#define FP2 "sha-256 ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab"
#define T0 "2026-01-01T00:00:00Z"
#define T1 "2026-01-01T01:00:00Z"
#define GOOD_ENTRY ENTRY(FP1, "alice", "scan", T0, T1)

static int parse(const char *text, GArray *out, char *err)
{
	return bans_parse(text, strlen(text), out, err, 256);
}

static void test_parse_ok(void)
{
	GArray *v = g_array_new(FALSE, TRUE, sizeof(struct ban));
	char err[256] = "";
	const char *text = "{\"version\":1,\"bans\":[" GOOD_ENTRY "," ENTRY(FP2, "b.o-b_2", "r\u00e9ason", T0, T0) "]}";

	g_assert_cmpint(parse(text, v, err), ==, 0);
	g_assert_cmpuint(v->len, ==, 2);
	const struct ban *a = &g_array_index(v, struct ban, 0), *b = &g_array_index(v, struct ban, 1);
	g_assert_cmpstr(a->identity, ==, "alice");
	g_assert_cmpstr(a->reason, ==, "scan");
	g_assert_cmpint(a->since, ==, NOW);
	g_assert_cmpint(a->until, ==, NOW + 3600);
	g_assert_cmpstr(a->fp_text, ==, gwt_fp(1));
	/* lowercase hex in the file, canonical in memory */
	g_assert_true(g_str_has_prefix(b->fp_text, "sha-256 AB:AB:"));
	g_assert_cmpstr(b->reason, ==, "r\u00e9ason");

	/* format writes only what is active, and reads back the same */
	char *out = bans_format((const struct ban *)(void *)v->data, v->len, NOW);
	GArray *w = g_array_new(FALSE, TRUE, sizeof(struct ban));
	g_assert_cmpint(parse(out, w, err), ==, 0);
	g_assert_cmpuint(w->len, ==, 1); /* the second expired at T0 */
	g_assert_cmpstr(g_array_index(w, struct ban, 0).fp_text, ==, a->fp_text);
	g_assert_cmpint(g_array_index(w, struct ban, 0).until, ==, a->until);
	g_free(out);
	out = bans_format(NULL, 0, NOW);
	g_array_set_size(w, 0);
	g_assert_cmpint(parse(out, w, err), ==, 0);
	g_assert_cmpuint(w->len, ==, 0);
	g_free(out);
	g_array_free(w, TRUE);
	g_array_free(v, TRUE);
}

static void test_parse_refused(void)
{
	static const struct {
		const char *text, *why;
	} cases[] = {
		{ "", "empty" },
		{ "{", "not JSON" },
		{ "[]", "not a JSON object" },
		{ "{\"version\":1,\"bans\":[]} x", "not JSON" },
		{ "{\"version\":2,\"bans\":[]}", "\"version\" must be 1" },
		{ "{\"version\":\"1\",\"bans\":[]}", "\"version\" must be 1" },
		{ "{\"bans\":[]}", "\"version\" must be 1" },
		{ "{\"version\":1}", "\"bans\" must be an array" },
		{ "{\"version\":1,\"bans\":{}}", "\"bans\" must be an array" },
		{ "{\"version\":1,\"bans\":[],\"extra\":0}", "unknown key \"extra\"" },
		{ "{\"version\":1,\"version\":1,\"bans\":[]}", "not JSON" }, /* duplicate key */
		{ "{\"version\":1,\"bans\":[1]}", "entry 1: not an object" },
		{ "{\"version\":1,\"bans\":[[[[[]]]]]}", "nested too deeply" },
		{ "{\"version\":1,\"bans\":[{\"fingerprint\":\"" FP1 "\",\"identity\":\"a\",\"reason\":\"r\",\"since\":\"" T0 "\"}]}",
		  "entry 1: \"until\" is missing" },
		{ "{\"version\":1,\"bans\":[" GOOD_ENTRY ",{\"fingerprint\":1,\"identity\":\"a\",\"reason\":\"r\",\"since\":\"" T0 "\",\"until\":\"" T1 "\"}]}",
		  "entry 2: \"fingerprint\" must be a string" },
		{ "{\"version\":1,\"bans\":[{\"fingerprint\":\"" FP1 "\",\"identity\":\"a\",\"reason\":\"r\",\"since\":\"" T0 "\",\"until\":\"" T1 "\",\"x\":1}]}",
		  "entry 1: unknown key \"x\"" },
		{ "{\"version\":1,\"bans\":[" ENTRY("sha-1 01:01:01:01:01:01:01:01:01:01:01:01:01:01:01:01:01:01:01:01", "a", "r", T0, T1) "]}",
		  "entry 1: \"fingerprint\": not" },
		{ "{\"version\":1,\"bans\":[" ENTRY("sha-256 01:02", "a", "r", T0, T1) "]}", "entry 1: \"fingerprint\"" },
		{ "{\"version\":1,\"bans\":[" ENTRY(FP1, "al ice", "r", T0, T1) "]}", "entry 1: \"identity\"" },
		{ "{\"version\":1,\"bans\":[" ENTRY(FP1, "", "r", T0, T1) "]}", "entry 1: \"identity\"" },
		{ "{\"version\":1,\"bans\":[" ENTRY(FP1, "a", "line\\nbreak", T0, T1) "]}", "entry 1: \"reason\"" },
		{ "{\"version\":1,\"bans\":[" ENTRY(FP1, "a", "r", "2026-01-01", T1) "]}", "entry 1: \"since\"/\"until\"" },
		{ "{\"version\":1,\"bans\":[" ENTRY(FP1, "a", "r", T1, T0) "]}", "entry 1: \"until\" is before \"since\"" },
		{ "{\"version\":1,\"bans\":[" GOOD_ENTRY "," ENTRY(FP1, "bob", "r", T0, T1) "]}",
		  "entry 2: fingerprint banned twice" },
		{ "{\"version\":1,\"bans\":[" ENTRY(FP1, "a", "\\u0000", T0, T1) "]}", "not JSON" },
	};
	GArray *v = g_array_new(FALSE, TRUE, sizeof(struct ban));

	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		char err[256] = "";
		int rc = parse(cases[i].text, v, err);
		if (rc >= 0 || !strstr(err, cases[i].why))
			g_error("case %zu: rc %d, err '%s', want '%s'", i, rc, err, cases[i].why);
		g_assert_cmpuint(v->len, ==, 0);
	}
	/* a reason of 257 bytes */
	char *reason = g_strnfill(BANS_REASON_MAX + 1, 'r');
	char *text = g_strdup_printf("{\"version\":1,\"bans\":[{\"fingerprint\":\"%s\",\"identity\":\"a\","
	                             "\"reason\":\"%s\",\"since\":\"%s\",\"until\":\"%s\"}]}",
	                             FP1, reason, T0, T1);
	char err[256];
	g_assert_cmpint(parse(text, v, err), ==, PP_ERR_INVALID);
	g_assert_nonnull(strstr(err, "\"reason\""));
	g_free(text);
	g_free(reason);
	/* an error keeps what the array held before */
	struct ban keep = mk_ban(9, "keep", NOW, NOW + 1);
	g_array_append_val(v, keep);
	g_assert_cmpint(parse("{\"version\":1,\"bans\":[" GOOD_ENTRY ",7]}", v, err), <, 0);
	g_assert_cmpuint(v->len, ==, 1);
	g_array_free(v, TRUE);
}

static void test_parse_limits(void)
{
	GArray *v = g_array_new(FALSE, TRUE, sizeof(struct ban));
	GString *s = g_string_new("{\"version\":1,\"bans\":[");
	char err[256] = "";

	/* BANS_MAX + 1 entries (distinct fingerprints would not matter: the
	 * count is refused first) */
	for (int i = 0; i <= BANS_MAX; i++)
		g_string_append_printf(s, "%s" GOOD_ENTRY, i ? "," : "");
	g_string_append(s, "]}");
	g_assert_cmpuint(s->len, <, BANS_FILE_MAX);
	g_assert_cmpint(bans_parse(s->str, s->len, v, err, sizeof(err)), ==, PP_ERR_TOO_BIG);
	g_assert_nonnull(strstr(err, "more than 4096 bans"));
	/* over the size limit: refused before parsing */
	char *big = g_malloc(BANS_FILE_MAX + 1);
	memset(big, ' ', BANS_FILE_MAX + 1);
	g_assert_cmpint(bans_parse(big, BANS_FILE_MAX + 1, v, err, sizeof(err)), ==, PP_ERR_TOO_BIG);
	g_assert_nonnull(strstr(err, "over 1048576 bytes"));
	g_free(big);
	g_string_free(s, TRUE);
	g_array_free(v, TRUE);
}

static void test_entry_set(void)
{
	struct pp_fingerprint fp = fp_of(3), sha1;
	struct ban b;
	/* 100 two-byte characters: cut to 256 bytes at a character boundary */
	GString *r = g_string_new(NULL);
	for (int i = 0; i < 200; i++)
		g_string_append(r, "\u00e9");
	g_assert_cmpint(bans_entry_set(&b, &fp, "alice", r->str, NOW, NOW), ==, 0);
	g_assert_cmpuint(strlen(b.reason), ==, 256);
	g_assert_true(g_utf8_validate(b.reason, -1, NULL));
	g_string_free(r, TRUE);
	g_assert_cmpint(bans_entry_set(&b, &fp, "al/ice", "r", NOW, NOW), ==, PP_ERR_INVALID);
	g_assert_cmpint(bans_entry_set(&b, &fp, "alice", "r\n", NOW, NOW), ==, PP_ERR_INVALID);
	g_assert_cmpint(bans_entry_set(&b, &fp, "alice", "r", NOW, NOW - 1), ==, PP_ERR_INVALID);
	const char *t = "sha-1 01:01:01:01:01:01:01:01:01:01:01:01:01:01:01:01:01:01:01:01";
	g_assert_cmpint(pp_fingerprint_parse(t, strlen(t), &sha1), ==, 0);
	g_assert_cmpint(bans_entry_set(&b, &sha1, "alice", "r", NOW, NOW), ==, PP_ERR_INVALID);
}

/* --- the store -------------------------------------------------------------------- */

static void test_store_roundtrip(void)
{
	char *dir = tmpdir(), *path = g_build_filename(dir, "bans.json", NULL);
	struct bans *a = NULL, *b = NULL;
	struct pp_fingerprint f1 = fp_of(1), f2 = fp_of(2);
	struct ban e1 = mk_ban(1, "alice", NOW, NOW + 3600);
	char err[512] = "";
	struct stat st;

	/* no file yet: an empty store */
	g_assert_cmpint(bans_open(path, &a, err, sizeof(err)), ==, 0);
	g_assert_cmpuint(bans_count(a), ==, 0);
	g_assert_null(bans_find(a, &f1, NOW));
	g_assert_cmpint(bans_add(a, &e1, NOW, err, sizeof(err)), ==, 0);
	g_assert_cmpint(bans_refresh(a, err, sizeof(err)), ==, 0); /* its own write */
	g_assert_nonnull(bans_find(a, &f1, NOW));
	g_assert_null(bans_find(a, &f2, NOW));
	g_assert_cmpint(stat(path, &st), ==, 0);
	g_assert_cmpint(st.st_mode & 07777, ==, 0600);
	char *lock = g_strconcat(path, ".lock", NULL);
	g_assert_cmpint(stat(lock, &st), ==, 0);
	g_assert_cmpint(st.st_mode & 07777, ==, 0600);
	g_free(lock);
	g_assert_cmpuint(stray_files(dir, NULL), ==, 0);

	/* another handle (a restart) sees it */
	g_assert_cmpint(bans_open(path, &b, err, sizeof(err)), ==, 0);
	const struct ban *got = bans_find(b, &f1, NOW + 10);
	g_assert_nonnull(got);
	g_assert_cmpstr(got->identity, ==, "alice");
	g_assert_cmpstr(got->reason, ==, "Sentinel: 10 denied streams in 60 s");
	g_assert_cmpint(got->since, ==, NOW);
	g_assert_cmpint(got->until, ==, NOW + 3600);
	g_assert_cmpstr(bans_path(b), ==, path);

	/* a second ban of the same fingerprint extends, never shortens */
	struct ban longer = mk_ban(1, "alice", NOW + 5, NOW + 7200), shorter = mk_ban(1, "alice", NOW + 6, NOW + 60);
	g_assert_cmpint(bans_add(b, &longer, NOW + 5, err, sizeof(err)), ==, 0);
	g_assert_cmpint(bans_add(b, &shorter, NOW + 6, err, sizeof(err)), ==, 0);
	g_assert_cmpuint(bans_count(b), ==, 1);
	g_assert_cmpint(bans_find(b, &f1, NOW)->until, ==, NOW + 7200);
	/* a refreshes: it sees b's write */
	g_assert_cmpint(bans_refresh(a, err, sizeof(err)), ==, 1);
	g_assert_cmpint(bans_refresh(a, err, sizeof(err)), ==, 0);
	g_assert_cmpint(bans_find(a, &f1, NOW)->until, ==, NOW + 7200);
	bans_free(a);
	bans_free(b);
	tmptree_remove(dir);
	g_free(path);
	g_free(dir);
}

static void test_expiry(void)
{
	char *dir = tmpdir(), *path = g_build_filename(dir, "bans.json", NULL);
	struct bans *b = NULL;
	struct pp_fingerprint f1 = fp_of(1), f2 = fp_of(2);
	struct ban e1 = mk_ban(1, "alice", NOW, NOW + 10), e2 = mk_ban(2, "bob", NOW + 20, NOW + 100);
	char err[512];

	g_assert_cmpint(bans_open(path, &b, err, sizeof(err)), ==, 0);
	g_assert_cmpint(bans_add(b, &e1, NOW, err, sizeof(err)), ==, 0);
	g_assert_nonnull(bans_find(b, &f1, NOW + 9));
	g_assert_null(bans_find(b, &f1, NOW + 10)); /* until is exclusive */
	/* the next write prunes it */
	g_assert_cmpint(bans_add(b, &e2, NOW + 20, err, sizeof(err)), ==, 0);
	g_assert_cmpuint(bans_count(b), ==, 1);
	char *text = read_text(path);
	g_assert_null(strstr(text, "\"alice\""));
	g_assert_nonnull(strstr(text, "\"bob\""));
	g_free(text);
	/* lifting what has expired lifts nothing */
	size_t n = 9;
	g_assert_cmpint(bans_lift(b, NULL, NULL, NOW + 100, &n, err, sizeof(err)), ==, 0);
	g_assert_cmpuint(n, ==, 0);
	g_assert_null(bans_find(b, &f2, NOW + 100));
	bans_free(b);
	tmptree_remove(dir);
	g_free(path);
	g_free(dir);
}

static bool match_name(const struct ban *b, void *user)
{
	return strcmp(b->identity, user) == 0;
}

static void test_lift_refresh(void)
{
	char *dir = tmpdir(), *path = g_build_filename(dir, "bans.json", NULL);
	struct bans *gw = NULL, *cli = NULL;
	struct pp_fingerprint f1 = fp_of(1), f2 = fp_of(2);
	struct ban e1 = mk_ban(1, "alice", NOW, NOW + 3600), e2 = mk_ban(2, "bob", NOW, NOW + 3600);
	char err[512];
	size_t n = 0;
	struct stat before, after;

	g_assert_cmpint(bans_open(path, &gw, err, sizeof(err)), ==, 0);
	g_assert_cmpint(bans_add(gw, &e1, NOW, err, sizeof(err)), ==, 0);
	g_assert_cmpint(bans_add(gw, &e2, NOW, err, sizeof(err)), ==, 0);

	g_assert_cmpint(bans_open(path, &cli, err, sizeof(err)), ==, 0);
	g_assert_cmpint(stat(path, &before), ==, 0);
	g_assert_cmpint(bans_lift(cli, match_name, (void *)"carol", NOW, &n, err, sizeof(err)), ==, 0);
	g_assert_cmpuint(n, ==, 0);
	g_assert_cmpint(stat(path, &after), ==, 0);
	g_assert_cmpuint(before.st_ino, ==, after.st_ino); /* not rewritten */
	g_assert_cmpint(bans_lift(cli, match_name, (void *)"alice", NOW, &n, err, sizeof(err)), ==, 0);
	g_assert_cmpuint(n, ==, 1);
	g_assert_null(bans_find(cli, &f1, NOW));

	/* the gateway's handle sees the lift at its next check */
	g_assert_nonnull(bans_find(gw, &f1, NOW));
	g_assert_cmpint(bans_refresh(gw, err, sizeof(err)), ==, 1);
	g_assert_null(bans_find(gw, &f1, NOW));
	g_assert_nonnull(bans_find(gw, &f2, NOW));

	/* a corrupt file appears: reported once, the bans in memory stay */
	write_text(path, "{\"version\":1,\"bans\":[");
	g_assert_cmpint(bans_refresh(gw, err, sizeof(err)), <, 0);
	g_assert_nonnull(strstr(err, "not JSON"));
	g_assert_cmpint(bans_refresh(gw, err, sizeof(err)), ==, 0);
	g_assert_nonnull(bans_find(gw, &f2, NOW));
	/* a change under a corrupt file is refused, memory still enforced */
	struct ban e3 = mk_ban(3, "carol", NOW, NOW + 60);
	g_assert_cmpint(bans_add(gw, &e3, NOW, err, sizeof(err)), <, 0);
	struct pp_fingerprint f3 = fp_of(3);
	g_assert_nonnull(bans_find(gw, &f3, NOW));
	/* lift --all fixes it; the gateway follows */
	char aside[4096];
	g_assert_cmpint(bans_repair(path, aside, sizeof(aside), err, sizeof(err)), ==, 0);
	g_assert_true(g_str_has_prefix(aside, path));
	g_assert_nonnull(strstr(aside, ".corrupt-"));
	char *kept = read_text(aside);
	g_assert_cmpstr(kept, ==, "{\"version\":1,\"bans\":[");
	g_free(kept);
	g_assert_cmpint(bans_refresh(gw, err, sizeof(err)), ==, 1);
	g_assert_null(bans_find(gw, &f2, NOW));
	/* the file removed by hand: no bans */
	g_assert_cmpint(bans_add(gw, &e1, NOW, err, sizeof(err)), ==, 0);
	g_assert_cmpint(unlink(path), ==, 0);
	g_assert_cmpint(bans_refresh(gw, err, sizeof(err)), ==, 1);
	g_assert_cmpuint(bans_count(gw), ==, 0);
	bans_free(gw);
	bans_free(cli);
	tmptree_remove(dir);
	g_free(path);
	g_free(dir);
}

/* A refresh that fails for want of fds is tried again at the next check:
 * the operator's change is not ignored until the file changes again. */
static void test_refresh_fd_shortage(void)
{
	char *dir = tmpdir(), *path = g_build_filename(dir, "bans.json", NULL);
	struct bans *gw = NULL, *cli = NULL;
	struct pp_fingerprint f1 = fp_of(1);
	struct ban e1 = mk_ban(1, "alice", NOW, NOW + 60);
	struct rlimit saved, low;
	char err[512];
	int fd;

	g_assert_cmpint(bans_open(path, &gw, err, sizeof(err)), ==, 0);
	g_assert_cmpint(bans_open(path, &cli, err, sizeof(err)), ==, 0);
	g_assert_cmpint(bans_add(cli, &e1, NOW, err, sizeof(err)), ==, 0);

	/* the next open() would get fd: allow fewer */
	fd = dup(0);
	g_assert_cmpint(fd, >=, 0);
	close(fd);
	g_assert_cmpint(getrlimit(RLIMIT_NOFILE, &saved), ==, 0);
	low = saved;
	low.rlim_cur = (rlim_t)fd;
	g_assert_cmpint(setrlimit(RLIMIT_NOFILE, &low), ==, 0);
	int rc = bans_refresh(gw, err, sizeof(err));
	g_assert_cmpint(setrlimit(RLIMIT_NOFILE, &saved), ==, 0);
	g_assert_cmpint(rc, ==, -EMFILE);
	g_assert_null(bans_find(gw, &f1, NOW));

	g_assert_cmpint(bans_refresh(gw, err, sizeof(err)), ==, 1);
	g_assert_nonnull(bans_find(gw, &f1, NOW));
	bans_free(gw);
	bans_free(cli);
	tmptree_remove(dir);
	g_free(path);
	g_free(dir);
}

static void test_open_refused(void)
{
	char *dir = tmpdir(), *path = g_build_filename(dir, "bans.json", NULL);
	struct bans *b = (void *)1;
	char err[512];

	write_text(path, "garbage");
	g_assert_cmpint(bans_open(path, &b, err, sizeof(err)), ==, PP_ERR_INVALID);
	g_assert_null(b);
	g_assert_true(g_str_has_prefix(err, path));
	g_assert_nonnull(strstr(err, "not JSON"));
	write_text(path, "");
	g_assert_cmpint(bans_open(path, &b, err, sizeof(err)), ==, PP_ERR_INVALID);
	g_assert_nonnull(strstr(err, "empty"));
	/* oversized: refused by its size */
	g_assert_cmpint(truncate(path, BANS_FILE_MAX + 1), ==, 0);
	g_assert_cmpint(bans_open(path, &b, err, sizeof(err)), ==, PP_ERR_TOO_BIG);
	g_assert_nonnull(strstr(err, "over 1048576 bytes"));
	/* not a regular file */
	g_assert_cmpint(unlink(path), ==, 0);
	g_assert_cmpint(mkdir(path, 0700), ==, 0);
	g_assert_cmpint(bans_open(path, &b, err, sizeof(err)), ==, PP_ERR_INVALID);
	g_assert_nonnull(strstr(err, "not a regular file"));
	/* a missing directory is an empty store; adding fails but holds */
	char *missing = g_build_filename(dir, "nodir", "bans.json", NULL);
	g_assert_cmpint(bans_open(missing, &b, err, sizeof(err)), ==, 0);
	struct ban e = mk_ban(4, "dave", NOW, NOW + 60);
	struct pp_fingerprint f4 = fp_of(4);
	g_assert_cmpint(bans_add(b, &e, NOW, err, sizeof(err)), <, 0);
	g_assert_nonnull(bans_find(b, &f4, NOW));
	bans_free(b);
	g_free(missing);
	tmptree_remove(dir);
	g_free(path);
	g_free(dir);
}

/* A write that fails half-way (the file size limit: EFBIG, which root
 * cannot bypass) leaves the old file byte for byte, and no temporary. */
static void test_atomic_failure(void)
{
	char *dir = tmpdir(), *path = g_build_filename(dir, "bans.json", NULL);
	struct bans *b = NULL;
	char err[512];
	struct rlimit old, small;
	struct ban e1 = mk_ban(1, "alice", NOW, NOW + 3600);

	g_assert_cmpint(bans_open(path, &b, err, sizeof(err)), ==, 0);
	g_assert_cmpint(bans_add(b, &e1, NOW, err, sizeof(err)), ==, 0);
	char *before = read_text(path);

	g_assert_cmpint(getrlimit(RLIMIT_FSIZE, &old), ==, 0);
	small = old;
	small.rlim_cur = strlen(before) + 10; /* the new file needs more */
	signal(SIGXFSZ, SIG_IGN);
	g_assert_cmpint(setrlimit(RLIMIT_FSIZE, &small), ==, 0);
	struct ban e2 = mk_ban(2, "bob", NOW, NOW + 3600);
	int rc = bans_add(b, &e2, NOW, err, sizeof(err));
	g_assert_cmpint(setrlimit(RLIMIT_FSIZE, &old), ==, 0);
	signal(SIGXFSZ, SIG_DFL);
	g_assert_cmpint(rc, ==, -EFBIG);
	g_assert_nonnull(strstr(err, "writing"));

	char *after = read_text(path);
	g_assert_cmpstr(after, ==, before);
	g_assert_cmpuint(stray_files(dir, NULL), ==, 0);
	/* this handle still enforces the unsaved ban; a new one does not know it */
	struct pp_fingerprint f2 = fp_of(2);
	g_assert_nonnull(bans_find(b, &f2, NOW));
	struct bans *fresh = NULL;
	g_assert_cmpint(bans_open(path, &fresh, err, sizeof(err)), ==, 0);
	g_assert_null(bans_find(fresh, &f2, NOW));
	g_assert_cmpuint(bans_count(fresh), ==, 1);
	bans_free(fresh);
	g_free(before);
	g_free(after);
	bans_free(b);
	tmptree_remove(dir);
	g_free(path);
	g_free(dir);
}

/* Two processes at once through the lock: one adds 40 bans (the gateway),
 * the other adds 40 and lifts half of its own (an operator). Without the
 * lock, read-modify-write would lose some of either. */
static bool match_fp(const struct ban *b, void *user)
{
	return pp_fingerprint_equal(&b->fp, user);
}

static void worker(const char *path, unsigned from, unsigned to, unsigned lift_to)
{
	struct bans *b = NULL;
	char err[512], name[16];

	if (bans_open(path, &b, err, sizeof(err)) < 0)
		_exit(10);
	for (unsigned i = from; i < to; i++) {
		struct pp_fingerprint fp = fp_of(i);
		struct ban e;
		size_t n = 0;
		snprintf(name, sizeof(name), "id%u", i);
		if (bans_entry_set(&e, &fp, name, "r", NOW, NOW + 3600) < 0 ||
		    bans_add(b, &e, NOW, err, sizeof(err)) < 0)
			_exit(11);
		if (i < lift_to && (bans_lift(b, match_fp, &fp, NOW, &n, err, sizeof(err)) < 0 || n != 1))
			_exit(12);
	}
	bans_free(b);
	_exit(0);
}

static void test_concurrent(void)
{
	char *dir = tmpdir(), *path = g_build_filename(dir, "bans.json", NULL);
	struct bans *b = NULL;
	char err[512];
	pid_t p[2];
	int st;

	p[0] = fork();
	if (p[0] == 0)
		worker(path, 1, 41, 0);
	p[1] = fork();
	if (p[1] == 0)
		worker(path, 41, 81, 61);
	for (int i = 0; i < 2; i++) {
		g_assert_cmpint(waitpid(p[i], &st, 0), ==, p[i]);
		g_assert_true(WIFEXITED(st));
		g_assert_cmpint(WEXITSTATUS(st), ==, 0);
	}
	g_assert_cmpint(bans_open(path, &b, err, sizeof(err)), ==, 0);
	g_assert_cmpuint(bans_count(b), ==, 60);
	for (unsigned i = 1; i < 81; i++) {
		struct pp_fingerprint fp = fp_of(i);
		bool want = i < 41 || i >= 61;
		if ((bans_find(b, &fp, NOW) != NULL) != want)
			g_error("ban %u: %s", i, want ? "lost" : "not lifted");
	}
	g_assert_cmpuint(stray_files(dir, NULL), ==, 0);
	bans_free(b);
	tmptree_remove(dir);
	g_free(path);
	g_free(dir);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/bans/times", test_times);
	g_test_add_func("/bans/parse-ok", test_parse_ok);
	g_test_add_func("/bans/parse-refused", test_parse_refused);
	g_test_add_func("/bans/parse-limits", test_parse_limits);
	g_test_add_func("/bans/entry-set", test_entry_set);
	g_test_add_func("/bans/store-roundtrip", test_store_roundtrip);
	g_test_add_func("/bans/expiry", test_expiry);
	g_test_add_func("/bans/lift-refresh", test_lift_refresh);
	g_test_add_func("/bans/refresh-fd-shortage", test_refresh_fd_shortage);
	g_test_add_func("/bans/open-refused", test_open_refused);
	g_test_add_func("/bans/atomic-failure", test_atomic_failure);
	g_test_add_func("/bans/concurrent", test_concurrent);
	return g_test_run();
}
