/* SPDX-License-Identifier: Apache-2.0 */
/* See audit.h. */
#include "audit.h"

#include "peerpipe/log.h"

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int gw_audit_fd = -1;

int gw_audit_open(const char *path)
{
	int fd = -1;

	if (path && (fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600)) < 0)
		return -errno;
	gw_audit_close();
	gw_audit_fd = fd;
	return 0;
}

void gw_audit_close(void)
{
	if (gw_audit_fd >= 0)
		close(gw_audit_fd);
	gw_audit_fd = -1;
}

bool gw_audit_enabled(void)
{
	return gw_audit_fd >= 0;
}

void gw_audit(const char *event, json_t *obj)
{
	GDateTime *now;
	gchar *ts;
	char *line;

	if (gw_audit_fd < 0 || !obj) {
		json_decref(obj);
		return;
	}
	now = g_date_time_new_now_utc();
	ts = g_date_time_format_iso8601(now);
	json_object_set_new(obj, "time", json_string(ts));
	json_object_set_new(obj, "event", json_string(event));
	line = json_dumps(obj, JSON_COMPACT | JSON_SORT_KEYS);
	if (line) {
		gchar *nl = g_strconcat(line, "\n", NULL); /* one write: no interleaving */
		if (write(gw_audit_fd, nl, strlen(nl)) < 0)
			pp_log(PP_LOG_WARN, NULL, "audit log: %s", g_strerror(errno));
		g_free(nl);
		free(line);
	}
	g_free(ts);
	g_date_time_unref(now);
	json_decref(obj);
}
