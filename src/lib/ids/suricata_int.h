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
/* Closes every connection and the listener, unlinks the socket file. */
void pp_suricata_eve_close(struct pp_suricata_eve *l);

#endif
