/* SPDX-License-Identifier: Apache-2.0 */
/* The gateway's audit log (audit_log in [gateway]): one JSON object per
 * line for every peer connection, refused or closed stream (and, later,
 * every IDS alert), for the security team's log pipeline. Appended with
 * O_APPEND (safe with logrotate copytruncate), reopened on SIGHUP. */
#ifndef PP_GATEWAY_AUDIT_H
#define PP_GATEWAY_AUDIT_H

#include <jansson.h>
#include <stdbool.h>

/* path NULL closes. 0 or -errno. */
int gw_audit_open(const char *path);
void gw_audit_close(void);
/* Adds "time" and "event", writes one line, takes the reference to obj.
 * A no-op when no audit log is configured. */
void gw_audit(const char *event, json_t *obj);
/* An audit log is open: callers on a hot path build no record otherwise. */
bool gw_audit_enabled(void);

#endif
