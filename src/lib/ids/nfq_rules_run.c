/* SPDX-License-Identifier: Apache-2.0 */
/* Installing and removing ips mode's netfilter rules: nft (or iptables
 * where the kernel cannot queue from nftables) as a child with an argv,
 * the script on its stdin. See peerpipe/ids/nfq_rules.h. */
#include "peerpipe/ids/nfq_rules.h"

#include "peerpipe/error.h"
#include "peerpipe/log.h"

#include <errno.h>
#include <gio/gio.h>
#include <string.h>

#define LINE_MAX_SHOWN 200

/* The line of a program's stderr worth showing: the first with "Error"
 * (nft puts its location before it), else the first that is not empty. */
static void first_error_line(GBytes *b, char *out, size_t cap)
{
	gsize len = 0;
	const char *p = b ? g_bytes_get_data(b, &len) : NULL;
	const char *first = NULL, *pick = NULL;
	size_t first_n = 0, pick_n = 0;

	out[0] = '\0';
	for (const char *end = p + len; p && p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = (size_t)((nl ? nl : end) - p);
		if (n && !first) {
			first = p;
			first_n = n;
		}
		if (n && !pick && g_strstr_len(p, (gssize)n, "rror")) {
			pick = p;
			pick_n = n;
		}
		p = nl ? nl + 1 : end;
	}
	if (!pick) {
		pick = first;
		pick_n = first_n;
	}
	if (pick)
		g_snprintf(out, cap, "%.*s", (int)MIN(pick_n, LINE_MAX_SHOWN), pick);
	for (char *c = out; *c; c++)
		if ((unsigned char)*c < 0x20)
			*c = ' ';
}

/* Runs sbin_dir/prog args... with input on stdin. 0 when it exited 0;
 * -ENOENT when it is missing; else PP_ERR_CONFIG. err names the program
 * and says why. *out (if not NULL) gets stdout, NUL-terminated. */
static int run(const struct pp_nfq_rules_config *cfg, const char *prog,
               const char *const *args, const char *input, char **out, size_t *out_len,
               char *err, size_t errlen)
{
	g_autofree char *path = g_build_filename(cfg->sbin_dir ? cfg->sbin_dir : "/usr/sbin", prog,
	                                         NULL);
	g_autoptr(GSubprocessLauncher) l = NULL;
	g_autoptr(GSubprocess) sp = NULL;
	g_autoptr(GBytes) in = NULL, o = NULL, e = NULL;
	g_autoptr(GPtrArray) argv = g_ptr_array_new();
	GError *gerr = NULL;
	char line[LINE_MAX_SHOWN + 1];
	int rc = 0;

	g_ptr_array_add(argv, path);
	for (size_t i = 0; args[i]; i++)
		g_ptr_array_add(argv, (gpointer)args[i]);
	g_ptr_array_add(argv, NULL);
	l = g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE |
	                              G_SUBPROCESS_FLAGS_STDERR_PIPE);
	g_subprocess_launcher_setenv(l, "LC_ALL", "C", TRUE);
	sp = g_subprocess_launcher_spawnv(l, (const gchar *const *)argv->pdata, &gerr);
	if (!sp) {
		bool missing = g_error_matches(gerr, G_SPAWN_ERROR, G_SPAWN_ERROR_NOENT);
		g_snprintf(err, errlen, "%s %s: %s", path, missing ? "not found" : "cannot run",
		           gerr->message);
		g_error_free(gerr);
		return missing ? -ENOENT : PP_ERR_CONFIG;
	}
	in = g_bytes_new(input ? input : "", input ? strlen(input) : 0);
	if (!g_subprocess_communicate(sp, in, NULL, &o, &e, &gerr)) {
		g_snprintf(err, errlen, "%s: %s", path, gerr->message);
		g_error_free(gerr);
		return PP_ERR_CONFIG;
	}
	if (!g_subprocess_get_if_exited(sp) || g_subprocess_get_exit_status(sp) != 0) {
		first_error_line(e, line, sizeof(line));
		g_snprintf(err, errlen, "%s %s failed (%s %d): %s", prog, args[0] ? args[0] : "",
		           g_subprocess_get_if_exited(sp) ? "exit status" : "signal",
		           g_subprocess_get_if_exited(sp) ? g_subprocess_get_exit_status(sp)
		                                          : g_subprocess_get_term_sig(sp),
		           line[0] ? line : "no message");
		rc = PP_ERR_CONFIG;
	}
	if (rc == 0 && out) {
		gsize n = 0;
		const char *d = g_bytes_get_data(o, &n);
		*out = g_malloc(n + 1);
		if (n)
			memcpy(*out, d, n);
		(*out)[n] = '\0';
		*out_len = n;
	}
	return rc;
}

/* ---- nft ---------------------------------------------------------------- */

static int nft_run(const struct pp_nfq_rules_config *cfg, const char *script, bool check,
                   char *err, size_t errlen)
{
	const char *args_check[] = {"-c", "-f", "-", NULL};
	const char *args[] = {"-f", "-", NULL};
	return run(cfg, "nft", check ? args_check : args, script, NULL, NULL, err, errlen);
}

/* ---- iptables: one family --------------------------------------------------- */

static int ipt_state(const struct pp_nfq_rules_config *cfg, bool v6, struct pp_nfq_ipt_state *st,
                     char *err, size_t errlen)
{
	const char *args[] = {"-t", "filter", NULL};
	g_autofree char *save = NULL;
	size_t len = 0;
	int rc = run(cfg, v6 ? "ip6tables-save" : "iptables-save", args, NULL, &save, &len, err,
	             errlen);

	if (rc != 0)
		return rc;
	rc = pp_nfq_rules_ipt_parse(save, len, cfg->queue, st);
	if (rc != 0)
		g_snprintf(err, errlen, "%s output over %u bytes", v6 ? "ip6tables-save" : "iptables-save",
		           PP_NFQ_SAVE_MAX);
	return rc;
}

static int ipt_apply(const struct pp_nfq_rules_config *cfg, bool v6, bool install, char *err,
                     size_t errlen)
{
	const char *args[] = {"--noflush", "--wait=5", NULL};
	struct pp_nfq_ipt_state st;
	g_autofree char *script = NULL;
	int rc = ipt_state(cfg, v6, &st, err, errlen);

	if (rc != 0)
		return rc;
	script = pp_nfq_rules_ipt_script(cfg, &st, install);
	if (!script)
		return install ? PP_ERR_INVALID : 0; /* removing: nothing there */
	return run(cfg, v6 ? "ip6tables-restore" : "iptables-restore", args, script, NULL, NULL, err,
	           errlen);
}

static int ipt_install(const struct pp_nfq_rules_config *cfg, char *err, size_t errlen)
{
	char ignored[256];
	int rc = ipt_apply(cfg, false, true, err, errlen);

	if (rc == 0) {
		rc = ipt_apply(cfg, true, true, err, errlen);
		if (rc != 0) /* all or nothing */
			ipt_apply(cfg, false, false, ignored, sizeof(ignored));
	}
	return rc;
}

/* ---- public ------------------------------------------------------------- */

int pp_nfq_rules_install(const struct pp_nfq_rules_config *cfg, enum pp_nfq_backend *used,
                         char *err, size_t errlen)
{
	g_autofree char *probe = pp_nfq_rules_nft_probe_script(cfg->queue);
	g_autofree char *script = pp_nfq_rules_nft_script(cfg);
	char nft_err[320], ipt_err[320];
	int rc;

	*used = PP_NFQ_NONE;
	if (!script) {
		g_snprintf(err, errlen, "the socket mark must not be 0");
		return PP_ERR_INVALID;
	}
	rc = nft_run(cfg, probe, true, nft_err, sizeof(nft_err));
	if (rc == -ENOENT) {
		g_snprintf(err, errlen, "%s (install the nftables package)", nft_err);
		return rc;
	}
	if (rc == 0) {
		rc = nft_run(cfg, script, false, nft_err, sizeof(nft_err));
		if (rc != 0) {
			g_snprintf(err, errlen, "%s", nft_err);
			return rc;
		}
		*used = PP_NFQ_NFT;
		return 0;
	}
	/* The kernel refused nftables' queue (no CONFIG_NFT_QUEUE) or
	 * anything else: the same rules through iptables' NFQUEUE target. */
	pp_info("nfq: nftables cannot queue here (%s): using iptables", nft_err);
	rc = ipt_install(cfg, ipt_err, sizeof(ipt_err));
	if (rc != 0) {
		g_snprintf(err, errlen, "nftables refused a queue rule (%s), and iptables failed too: %s",
		           nft_err, ipt_err);
		return rc;
	}
	*used = PP_NFQ_IPTABLES;
	return 0;
}

int pp_nfq_rules_remove(const struct pp_nfq_rules_config *cfg, enum pp_nfq_backend used,
                        char *err, size_t errlen)
{
	g_autofree char *script = NULL;
	int rc = 0, rc6;

	switch (used) {
	case PP_NFQ_NFT:
		script = pp_nfq_rules_nft_remove_script(cfg->queue);
		return nft_run(cfg, script, false, err, errlen);
	case PP_NFQ_IPTABLES:
		rc = ipt_apply(cfg, false, false, err, errlen);
		if (rc != 0) {
			char e6[256];
			ipt_apply(cfg, true, false, e6, sizeof(e6)); /* the other family anyway */
			return rc;
		}
		rc6 = ipt_apply(cfg, true, false, err, errlen);
		return rc6;
	case PP_NFQ_NONE:
		break;
	}
	return 0;
}
