/* SPDX-License-Identifier: Apache-2.0 */
/* peerpipe-rtc-echo: event lines for the test harness. */
#include "rtc_echo.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static gint64 echo_t0;

void echo_emit(const char *event, json_t *fields)
{
	json_t *o = fields ? fields : json_object();
	char *text;

	if (!echo_t0)
		echo_t0 = g_get_monotonic_time();
	json_object_set_new(o, "event", json_string(event));
	json_object_set_new(o, "t_ms", json_integer((g_get_monotonic_time() - echo_t0) / 1000));
	text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	if (!text)
		return;
	fputs(text, stdout);
	fputc('\n', stdout);
	fflush(stdout);
	free(text);
}

/* "[<peer>] " prefix of a text log line, or NULL. */
static const char *echo_log_peer(const char *line, char *out, size_t cap)
{
	const char *b = strstr(line, ": [");
	const char *e;

	if (!b)
		return NULL;
	b += 3;
	e = strchr(b, ']');
	if (!e || (size_t)(e - b) >= cap)
		return NULL;
	memcpy(out, b, (size_t)(e - b));
	out[e - b] = '\0';
	return out;
}

static void echo_log_events(const char *line)
{
	char peer[128], local[16], remote[16], transport[8];
	const char *m;
	json_t *o;

	if ((m = strstr(line, "ice: selected pair ")) &&
	    sscanf(m, "ice: selected pair %15[^/]/%15s %7s", local, remote, transport) == 3) {
		o = json_pack("{s:s, s:s, s:s}", "local", local, "remote", remote,
		              "transport", transport);
		if (echo_log_peer(line, peer, sizeof(peer)))
			json_object_set_new(o, "peer", json_string(peer));
		echo_emit("ice_selected", o);
	} else if ((m = strstr(line, "ice: mDNS name ")) && strstr(m, " not resolved")) {
		echo_emit("mdns", json_pack("{s:b, s:s}", "resolved", 0, "line", m));
	} else if ((m = strstr(line, "ice: dropping unresolved mDNS candidate")) ||
	           (m = strstr(line, "ice: skipping an mDNS candidate")) ||
	           (m = strstr(line, "ice: mDNS resolver unavailable"))) {
		echo_emit("mdns", json_pack("{s:b, s:s}", "resolved", 0, "line", m));
	}
}

void echo_log_sink(enum pp_log_level level, const char *line, void *user)
{
	size_t len = strlen(line);
	ssize_t w;

	(void)level, (void)user;
	/* one write per line, as the library does without a sink */
	char *buf = g_malloc(len + 1);
	memcpy(buf, line, len);
	buf[len] = '\n';
	do {
		w = write(STDERR_FILENO, buf, len + 1);
	} while (w < 0 && errno == EINTR);
	g_free(buf);
	echo_log_events(line);
}
