/* SPDX-License-Identifier: Apache-2.0 */
/* `peerpipe-gateway bans`: see cmd_bans.h. Changes go through the store's
 * lock and atomic write, so a running gateway neither loses them nor
 * needs a restart (it re-reads the file when it changes). */
#include "bans.h"
#include "cmd_bans.h"
#include "gconfig.h"

#include "peerpipe/error.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define PROG "peerpipe-gateway"

static void bans_usage(FILE *f)
{
	fprintf(f, "usage: " PROG " --config FILE bans list [--json]\n"
	           "       " PROG " --config FILE bans lift NAME|FINGERPRINT\n"
	           "       " PROG " --config FILE bans lift --all\n");
}

/* The configuration without its token: managing bans needs no JWT. */
static struct gw_config *bans_load_config(const char *path)
{
	struct gw_config *cfg = NULL;
	char err[PP_CFG_ERR_MAX];
	gchar *text = NULL;
	gsize len = 0;
	GError *gerr = NULL;
	struct stat st;

	if (stat(path, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > GW_CONFIG_FILE_MAX) {
		fprintf(stderr, PROG ": %s: not a readable configuration file\n", path);
		return NULL;
	}
	if (!g_file_get_contents(path, &text, &len, &gerr)) {
		fprintf(stderr, PROG ": %s\n", gerr->message);
		g_error_free(gerr);
		return NULL;
	}
	if (gw_config_load_data(path, text, len, GW_CONFIG_SKIP_TOKEN, &cfg, err, sizeof(err)) < 0)
		fprintf(stderr, PROG ": %s\n", err);
	g_free(text);
	return cfg;
}

static void bans_remaining(int64_t s, char *out, size_t cap)
{
	if (s >= 86400)
		snprintf(out, cap, "%lldd%02lldh", (long long)(s / 86400), (long long)(s % 86400 / 3600));
	else if (s >= 3600)
		snprintf(out, cap, "%lldh%02lldm", (long long)(s / 3600), (long long)(s % 3600 / 60));
	else if (s >= 60)
		snprintf(out, cap, "%lldm%02llds", (long long)(s / 60), (long long)(s % 60));
	else
		snprintf(out, cap, "%llds", (long long)s);
}

static int bans_list_json(const struct bans *b, int64_t now)
{
	json_t *a = json_array();
	char t[2][BANS_TIME_TEXT_MAX];
	char *text;

	for (size_t i = 0; i < bans_count(b); i++) {
		const struct ban *e = bans_at(b, i);
		if (e->until <= now)
			continue;
		bans_time_format(e->since, t[0]);
		bans_time_format(e->until, t[1]);
		json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:s, s:s, s:I}", "identity",
		                                   e->identity, "fingerprint", e->fp_text, "reason",
		                                   e->reason, "since", t[0], "until", t[1],
		                                   "remaining_s", (json_int_t)(e->until - now)));
	}
	text = json_dumps(a, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(a);
	if (!text)
		return 1;
	printf("%s\n", text);
	free(text);
	return 0;
}

static int bans_list_table(const struct bans *b, int64_t now)
{
	static const char *const head[] = { "IDENTITY", "FINGERPRINT", "REASON", "UNTIL", "REMAINING" };
	size_t n = bans_count(b), shown = 0;
	int w[4];
	char rem[32], until[BANS_TIME_TEXT_MAX];

	for (int c = 0; c < 4; c++)
		w[c] = (int)strlen(head[c]);
	for (size_t i = 0; i < n; i++) {
		const struct ban *e = bans_at(b, i);
		if (e->until <= now)
			continue;
		w[0] = MAX(w[0], (int)strlen(e->identity));
		w[1] = MAX(w[1], (int)strlen(e->fp_text));
		w[2] = MAX(w[2], (int)g_utf8_strlen(e->reason, -1));
		w[3] = BANS_TIME_TEXT_MAX - 1;
		shown++;
	}
	if (!shown) {
		printf("no bans (%s)\n", bans_path(b));
		return 0;
	}
	printf("%-*s  %-*s  %-*s  %-*s  %s\n", w[0], head[0], w[1], head[1], w[2], head[2], w[3],
	       head[3], head[4]);
	for (size_t i = 0; i < n; i++) {
		const struct ban *e = bans_at(b, i);
		if (e->until <= now)
			continue;
		bans_time_format(e->until, until);
		bans_remaining(e->until - now, rem, sizeof(rem));
		/* the reason is UTF-8: pad by characters, not bytes */
		printf("%-*s  %-*s  %s%*s  %-*s  %s\n", w[0], e->identity, w[1], e->fp_text, e->reason,
		       w[2] - (int)g_utf8_strlen(e->reason, -1), "", w[3], until, rem);
	}
	return 0;
}

/* --- lift ------------------------------------------------------------------------------ */

struct bans_target {
	bool by_fp;
	struct pp_fingerprint fp;      /* by_fp, or the configured identity's */
	bool have_cfg_fp;
	const char *name;
	GString *lifted;               /* "alice (sha-256 ...)", one per line */
};

static bool bans_target_match(const struct ban *b, void *user)
{
	struct bans_target *t = user;
	bool hit = t->by_fp ? pp_fingerprint_equal(&b->fp, &t->fp)
	                    : strcmp(b->identity, t->name) == 0 ||
	                              (t->have_cfg_fp && pp_fingerprint_equal(&b->fp, &t->fp));

	if (hit)
		g_string_append_printf(t->lifted, "lifted the ban of %s (%s)\n", b->identity, b->fp_text);
	return hit;
}

/* NAME, or a fingerprint: "sha-256 AB:CD:..." or just the hex pairs. */
static int bans_target_parse(const struct gw_config *cfg, const char *arg, struct bans_target *t)
{
	const struct gw_identity *id;

	t->name = arg;
	if (strchr(arg, ':')) {
		gchar *text = strchr(arg, ' ') ? g_strdup(arg) : g_strconcat("sha-256 ", arg, NULL);
		int rc = pp_fingerprint_parse(text, strlen(text), &t->fp);
		g_free(text);
		if (rc < 0 || !pp_fingerprint_pinnable(&t->fp))
			return -1;
		t->by_fp = true;
		return 0;
	}
	/* A ban names the identity as it was called then; the configured
	 * name's fingerprint finds it after a rename too. */
	if ((id = gw_config_identity_by_name(cfg, arg))) {
		t->fp = id->fp;
		t->have_cfg_fp = true;
	}
	return 0;
}

static int bans_lift_all_corrupt(const char *path, const char *why)
{
	char aside[4096], err[512];

	if (bans_repair(path, aside, sizeof(aside), err, sizeof(err)) < 0) {
		fprintf(stderr, PROG ": %s\n", err);
		return 1;
	}
	printf("the bans file was unreadable (%s)\n", why);
	if (aside[0])
		printf("kept it as %s; %s now holds no bans\n", aside, path);
	else
		printf("%s now holds no bans\n", path);
	return 0;
}

static int bans_lift_cmd(const struct gw_config *cfg, struct bans *b, const char *arg, bool all)
{
	struct bans_target t = { .lifted = g_string_new(NULL) };
	char err[512];
	size_t n = 0;
	int rc;

	if (!all && bans_target_parse(cfg, arg, &t) < 0) {
		fprintf(stderr, PROG ": %s: not a sha-256 fingerprint\n", arg);
		g_string_free(t.lifted, TRUE);
		return 2;
	}
	if (all) {
		t.name = NULL;
		rc = bans_lift(b, NULL, NULL, g_get_real_time() / G_USEC_PER_SEC, &n, err, sizeof(err));
	} else {
		rc = bans_lift(b, bans_target_match, &t, g_get_real_time() / G_USEC_PER_SEC, &n, err,
		               sizeof(err));
	}
	if (rc < 0) {
		fprintf(stderr, PROG ": %s\n", err);
		g_string_free(t.lifted, TRUE);
		return 1;
	}
	fputs(t.lifted->str, stdout);
	g_string_free(t.lifted, TRUE);
	if (all) {
		printf("lifted %zu bans\n", n);
		return 0;
	}
	if (n == 0) {
		fprintf(stderr, PROG ": no ban for %s\n", arg);
		return 1;
	}
	return 0;
}

/* --- the command ----------------------------------------------------------------------- */

int gw_cmd_bans(const char *config_path, int argc, char **argv)
{
	const char *verb = argc > 1 ? argv[1] : NULL, *arg = argc > 2 ? argv[2] : NULL;
	bool list = verb && strcmp(verb, "list") == 0, lift = verb && strcmp(verb, "lift") == 0;
	bool json = list && arg && strcmp(arg, "--json") == 0;
	bool all = lift && arg && strcmp(arg, "--all") == 0;
	struct gw_config *cfg;
	struct bans *b = NULL;
	char err[512];
	int rc;

	if ((!list && !lift) || argc > 3 || (list && arg && !json) || (lift && !arg) ||
	    (lift && !all && arg[0] == '-')) {
		bans_usage(stderr);
		return 2;
	}
	if (!(cfg = bans_load_config(config_path)))
		return 1;
	if (bans_open(cfg->gw.bans_file, &b, err, sizeof(err)) < 0) {
		if (all) {
			rc = bans_lift_all_corrupt(cfg->gw.bans_file, err);
		} else {
			fprintf(stderr, PROG ": %s\n" PROG ": `bans lift --all` sets the file aside "
			        "and starts with no bans\n", err);
			rc = 1;
		}
	} else if (list) {
		int64_t now = g_get_real_time() / G_USEC_PER_SEC;
		rc = json ? bans_list_json(b, now) : bans_list_table(b, now);
	} else {
		rc = bans_lift_cmd(cfg, b, arg, all);
	}
	bans_free(b);
	gw_config_free(cfg);
	return rc;
}
