/* SPDX-License-Identifier: Apache-2.0 */
/* The gateway's own netfilter rules for ips mode (issue 5).
 *
 * They send the gateway's connections to its services, and only those, to
 * the NFQUEUE Suricata reads: a service socket carries SO_MARK = mark; the
 * first packet of its connection copies those bits into the conntrack
 * mark; every packet of a connection with that ct mark is queued, on the
 * output hook and on the input hook (not from `lo` there: a packet between
 * two local sockets was already queued on output; no packet is queued
 * twice). TCP RSTs of those connections are accepted before the queue
 * rule: rejectboth's resets (sent by Suricata) must not loop back into the
 * queue, and an aborted stream's reset must reach the service even while
 * nobody reads the queue. `bypass` (packets pass while no Suricata reads
 * the queue) only with fail_open.
 *
 * Two ways to install the same rules; the first that the kernel takes:
 * - nft: one table, `table inet peerpipe_gw_<queue>`, replaced in one
 *   transaction (a stale table of that name, left by a crash, is deleted
 *   in the same `nft -f -` run that adds the new one);
 * - iptables (kernels without the nftables queue expression, e.g. built
 *   without CONFIG_NFT_QUEUE but with xt_NFQUEUE): chains
 *   PEERPIPE_GW_<queue>_OUT and _IN in the filter table of iptables and
 *   ip6tables, jumped to first from OUTPUT and INPUT; stale jumps and
 *   chains (from iptables-save) are replaced in one iptables-restore
 *   transaction per family.
 * `nft -c` with a queue rule (checked by the kernel, never committed)
 * decides. Removing deletes exactly what installing added.
 *
 * Because every rule matches only marked sockets' connections, rules left
 * behind by a gateway killed with SIGKILL harm nobody, and the next start
 * replaces them.
 *
 * The programs run as children with an argv (no shell), the script on
 * their stdin, LC_ALL=C; they need CAP_NET_ADMIN. Install and remove block
 * for as long as nft or iptables runs (milliseconds): call them at start
 * and exit, not from a busy loop. */
#ifndef PEERPIPE_IDS_NFQ_RULES_H
#define PEERPIPE_IDS_NFQ_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PP_NFQ_NAME_MAX 32
/* iptables-save output read to find stale rules is refused past this */
#define PP_NFQ_SAVE_MAX (16u * 1024 * 1024)

enum pp_nfq_backend {
	PP_NFQ_NONE = 0,
	PP_NFQ_NFT,       /* table inet peerpipe_gw_<queue> */
	PP_NFQ_IPTABLES,  /* chains PEERPIPE_GW_<queue>_OUT/_IN (ip and ip6) */
};

struct pp_nfq_rules_config {
	uint16_t queue;
	uint32_t mark;        /* the bits a service socket's SO_MARK carries; not 0 */
	bool fail_open;       /* queue ... bypass */
	const char *sbin_dir; /* where nft and (ip6)tables-{save,restore} are;
	                       * NULL: /usr/sbin */
};

/* "peerpipe_gw_<queue>" (nft table), "PEERPIPE_GW_<queue>_OUT"/"_IN"
 * (iptables chains). Each buffer PP_NFQ_NAME_MAX bytes. */
void pp_nfq_rules_names(uint16_t queue, char *table, char *chain_out, char *chain_in);
const char *pp_nfq_backend_name(enum pp_nfq_backend b);

/* ---- the scripts (pure; g_free() the results) --------------------------- */

/* nft: deletes a table of that name if there is one and adds ours, one
 * transaction. NULL when mark is 0. */
char *pp_nfq_rules_nft_script(const struct pp_nfq_rules_config *cfg);
/* nft: deletes the table, and succeeds when there is none. */
char *pp_nfq_rules_nft_remove_script(uint16_t queue);
/* nft -c: whether the kernel takes a queue rule (never committed). */
char *pp_nfq_rules_nft_probe_script(uint16_t queue);

/* What of ours an iptables-save -t filter output holds. */
struct pp_nfq_ipt_state {
	unsigned jumps_out, jumps_in;   /* "-A OUTPUT -j <out>", "-A INPUT -j <in>" */
	bool chain_out, chain_in;       /* ":<chain> ..." declared */
};
/* 0, or PP_ERR_TOO_BIG over PP_NFQ_SAVE_MAX. */
int pp_nfq_rules_ipt_parse(const char *save, size_t len, uint16_t queue,
                           struct pp_nfq_ipt_state *st);
/* iptables-restore --noflush input. install: the stale jumps in *stale
 * deleted, our chains declared (an existing chain is flushed) and filled,
 * the jumps inserted first in OUTPUT and INPUT. !install: the jumps and
 * chains in *stale deleted; NULL when there is nothing to delete. The
 * same text serves ip and ip6. */
char *pp_nfq_rules_ipt_script(const struct pp_nfq_rules_config *cfg,
                              const struct pp_nfq_ipt_state *stale, bool install);

/* ---- doing it ------------------------------------------------------------ */

/* Installs the rules, replacing stale ones; *used says how. 0, or a
 * negative error with err filled (nft's or iptables' own first error line
 * included; "nft not found" when nft is missing). */
int pp_nfq_rules_install(const struct pp_nfq_rules_config *cfg, enum pp_nfq_backend *used,
                         char *err, size_t errlen);
/* Removes what pp_nfq_rules_install(cfg) installed with `used`; nothing
 * there is no error. 0 or a negative error with err filled. */
int pp_nfq_rules_remove(const struct pp_nfq_rules_config *cfg, enum pp_nfq_backend used,
                        char *err, size_t errlen);

#endif
