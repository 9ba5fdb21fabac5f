/* SPDX-License-Identifier: Apache-2.0 */
/* The text of ips mode's netfilter rules (nft and iptables-restore) and
 * the parser of iptables-save output that finds stale ones. Pure; running
 * the programs is nfq_rules_run.c. See peerpipe/ids/nfq_rules.h. */
#include "peerpipe/ids/nfq_rules.h"

#include "peerpipe/error.h"

#include <glib.h>
#include <string.h>

void pp_nfq_rules_names(uint16_t queue, char *table, char *chain_out, char *chain_in)
{
	if (table)
		g_snprintf(table, PP_NFQ_NAME_MAX, "peerpipe_gw_%u", (unsigned)queue);
	if (chain_out)
		g_snprintf(chain_out, PP_NFQ_NAME_MAX, "PEERPIPE_GW_%u_OUT", (unsigned)queue);
	if (chain_in)
		g_snprintf(chain_in, PP_NFQ_NAME_MAX, "PEERPIPE_GW_%u_IN", (unsigned)queue);
}

const char *pp_nfq_backend_name(enum pp_nfq_backend b)
{
	switch (b) {
	case PP_NFQ_NFT: return "nft";
	case PP_NFQ_IPTABLES: return "iptables";
	case PP_NFQ_NONE: break;
	}
	return "none";
}

/* ---- nft ---------------------------------------------------------------- */

/* The rules of one hook's chain after its header; in: skip lo (queued on
 * output already). */
static void nft_chain_body(GString *s, const struct pp_nfq_rules_config *cfg, bool in)
{
	const unsigned m = cfg->mark;

	if (in)
		g_string_append(s, "\t\tiif \"lo\" accept\n");
	else
		g_string_append_printf(s, "\t\tmeta mark & 0x%08x == 0x%08x ct mark set ct mark | 0x%08x\n",
		                       m, m, m);
	g_string_append_printf(s, "\t\tct mark & 0x%08x == 0x%08x tcp flags & rst == rst accept\n",
	                       m, m);
	g_string_append_printf(s, "\t\tct mark & 0x%08x == 0x%08x queue num %u%s\n", m, m,
	                       (unsigned)cfg->queue, cfg->fail_open ? " bypass" : "");
}

char *pp_nfq_rules_nft_script(const struct pp_nfq_rules_config *cfg)
{
	char t[PP_NFQ_NAME_MAX];
	GString *s;

	if (!cfg->mark)
		return NULL;
	pp_nfq_rules_names(cfg->queue, t, NULL, NULL);
	s = g_string_new(NULL);
	/* "table" adds it when missing, so the delete never fails: a stale
	 * table goes, in the same transaction as the new one comes. */
	g_string_append_printf(s,
		"# PeerPipe gateway, ips mode: its service connections to NFQUEUE %u\n"
		"table inet %s\n"
		"delete table inet %s\n"
		"table inet %s {\n"
		"\tchain output {\n"
		"\t\ttype filter hook output priority filter; policy accept;\n",
		(unsigned)cfg->queue, t, t, t);
	nft_chain_body(s, cfg, false);
	g_string_append(s,
		"\t}\n"
		"\tchain input {\n"
		"\t\ttype filter hook input priority filter; policy accept;\n");
	nft_chain_body(s, cfg, true);
	g_string_append(s, "\t}\n}\n");
	return g_string_free(s, FALSE);
}

char *pp_nfq_rules_nft_remove_script(uint16_t queue)
{
	char t[PP_NFQ_NAME_MAX];

	pp_nfq_rules_names(queue, t, NULL, NULL);
	return g_strdup_printf("table inet %s\ndelete table inet %s\n", t, t);
}

char *pp_nfq_rules_nft_probe_script(uint16_t queue)
{
	return g_strdup_printf(
		"table inet peerpipe_probe_%u {\n"
		"\tchain probe {\n"
		"\t\ttype filter hook output priority filter; policy accept;\n"
		"\t\tmeta mark 0x00000001 queue num %u bypass\n"
		"\t}\n"
		"}\n", (unsigned)queue, (unsigned)queue);
}

/* ---- iptables ----------------------------------------------------------- */

int pp_nfq_rules_ipt_parse(const char *save, size_t len, uint16_t queue,
                           struct pp_nfq_ipt_state *st)
{
	char out[PP_NFQ_NAME_MAX], in[PP_NFQ_NAME_MAX];
	char jump_out[PP_NFQ_NAME_MAX + 32], jump_in[PP_NFQ_NAME_MAX + 32];
	char decl_out[PP_NFQ_NAME_MAX + 2], decl_in[PP_NFQ_NAME_MAX + 2];
	const char *p = save, *end = save + len;

	memset(st, 0, sizeof(*st));
	if (len > PP_NFQ_SAVE_MAX)
		return PP_ERR_TOO_BIG;
	pp_nfq_rules_names(queue, NULL, out, in);
	g_snprintf(jump_out, sizeof(jump_out), "-A OUTPUT -j %s", out);
	g_snprintf(jump_in, sizeof(jump_in), "-A INPUT -j %s", in);
	g_snprintf(decl_out, sizeof(decl_out), ":%s ", out);
	g_snprintf(decl_in, sizeof(decl_in), ":%s ", in);
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = (size_t)((nl ? nl : end) - p);

		if (n && p[n - 1] == '\r')
			n--;
		if (n == strlen(jump_out) && memcmp(p, jump_out, n) == 0)
			st->jumps_out++;
		else if (n == strlen(jump_in) && memcmp(p, jump_in, n) == 0)
			st->jumps_in++;
		else if (n > strlen(decl_out) && memcmp(p, decl_out, strlen(decl_out)) == 0)
			st->chain_out = true;
		else if (n > strlen(decl_in) && memcmp(p, decl_in, strlen(decl_in)) == 0)
			st->chain_in = true;
		p = nl ? nl + 1 : end;
	}
	return 0;
}

static void ipt_delete_jumps(GString *s, const struct pp_nfq_ipt_state *st, const char *out,
                             const char *in)
{
	for (unsigned i = 0; i < st->jumps_out; i++)
		g_string_append_printf(s, "-D OUTPUT -j %s\n", out);
	for (unsigned i = 0; i < st->jumps_in; i++)
		g_string_append_printf(s, "-D INPUT -j %s\n", in);
}

static void ipt_chain(GString *s, const struct pp_nfq_rules_config *cfg, const char *chain, bool in)
{
	const unsigned m = cfg->mark;

	if (in)
		g_string_append_printf(s, "-A %s -i lo -j RETURN\n", chain);
	else
		g_string_append_printf(s, "-A %s -m mark --mark 0x%08x/0x%08x -j CONNMARK --or-mark 0x%08x\n",
		                       chain, m, m, m);
	g_string_append_printf(s, "-A %s -p tcp --tcp-flags RST RST -m connmark --mark 0x%08x/0x%08x "
	                          "-j RETURN\n", chain, m, m);
	g_string_append_printf(s, "-A %s -m connmark --mark 0x%08x/0x%08x -j NFQUEUE --queue-num %u%s\n",
	                       chain, m, m, (unsigned)cfg->queue, cfg->fail_open ? " --queue-bypass" : "");
}

char *pp_nfq_rules_ipt_script(const struct pp_nfq_rules_config *cfg,
                              const struct pp_nfq_ipt_state *stale, bool install)
{
	static const struct pp_nfq_ipt_state none;
	char out[PP_NFQ_NAME_MAX], in[PP_NFQ_NAME_MAX];
	GString *s;

	if (!stale)
		stale = &none;
	if (install && !cfg->mark)
		return NULL;
	if (!install && !stale->jumps_out && !stale->jumps_in && !stale->chain_out &&
	    !stale->chain_in)
		return NULL;
	pp_nfq_rules_names(cfg->queue, NULL, out, in);
	s = g_string_new("*filter\n");
	if (install) {
		/* with --noflush, declaring a chain that exists flushes it */
		g_string_append_printf(s, ":%s - [0:0]\n:%s - [0:0]\n", out, in);
		ipt_delete_jumps(s, stale, out, in);
		ipt_chain(s, cfg, out, false);
		ipt_chain(s, cfg, in, true);
		g_string_append_printf(s, "-I OUTPUT 1 -j %s\n-I INPUT 1 -j %s\n", out, in);
	} else {
		ipt_delete_jumps(s, stale, out, in);
		if (stale->chain_out)
			g_string_append_printf(s, "-F %s\n-X %s\n", out, out);
		if (stale->chain_in)
			g_string_append_printf(s, "-F %s\n-X %s\n", in, in);
	}
	g_string_append(s, "COMMIT\n");
	return g_string_free(s, FALSE);
}
