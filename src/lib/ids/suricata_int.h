/* SPDX-License-Identifier: Apache-2.0 */
/* Internal to src/lib/ids/suricata*.c: the EVE unix stream listener. */
#ifndef PEERPIPE_IDS_SURICATA_INT_H
#define PEERPIPE_IDS_SURICATA_INT_H

#include "peerpipe/ids/suricata.h"

struct pp_suricata_eve;

/* Binds and listens on path (a stale socket file is replaced, anything
 * else there is an error), mode 0600. Records of type alert/drop go to fn;
 * counters in *stats (owned by the caller, outlives the listener).
 * 0 or -errno/PP_ERR_*. */
int pp_suricata_eve_open(GMainContext *ctx, const char *path, struct pp_suricata_stats *stats,
                         void (*fn)(void *user, const struct pp_eve *e), void *user,
                         struct pp_suricata_eve **out);
/* Called (may be NULL) after every well-formed record of any type
 * (record true) and when a connection closes (record false), with the
 * number of connections still open. */
void pp_suricata_eve_on_activity(struct pp_suricata_eve *l,
                                 void (*fn)(void *user, bool record, unsigned open));
/* Closes every connection and the listener, unlinks the socket file. */
void pp_suricata_eve_close(struct pp_suricata_eve *l);

/* Where suricata.yaml points for rule file i: the copy in the work
 * directory (ips mode: rewritten; a sidecar: verbatim), or NULL for the
 * operator's file itself (ids mode, child). g_free() it. */
char *pp_suricata_rules_copy_path(const struct pp_suricata_config *cfg, size_t i);

/* Writes the copy of every rule file that pp_suricata_rules_copy_path
 * names. 0, or an error with reason (naming the file) filled. Blocking
 * file I/O, once per start. */
int pp_suricata_rules_copy(const struct pp_suricata_config *cfg, char *reason, size_t cap);

/* Sidecar: writes <work_dir>/sidecar.args, the command line the sidecar
 * runs (suricata_sidecar.c). 0 or an error with reason filled. */
int pp_suricata_sidecar_write_args(const struct pp_suricata_config *cfg, const char *yaml_path,
                                   char *reason, size_t cap);

#endif
