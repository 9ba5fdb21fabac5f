/* SPDX-License-Identifier: Apache-2.0 */
#include "peerpipe/log.h"

#include "peerpipe/error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PP_LOG_LINE_MAX 4096

static struct {
	const char *program;
	enum pp_log_level level;
	enum pp_log_format format;
	pp_log_sink_fn sink;
	void *sink_user;
} pp_log_state = { "peerpipe", PP_LOG_INFO, PP_LOG_TEXT, NULL, NULL };

static const char *const pp_log_names[] = { "error", "warn", "info", "debug" };

void pp_log_setup(const char *program, enum pp_log_level level,
                  enum pp_log_format format)
{
	pp_log_state.program = program;
	pp_log_state.level = level;
	pp_log_state.format = format;
}

void pp_log_set_level(enum pp_log_level level)
{
	pp_log_state.level = level;
}

void pp_log_set_sink(pp_log_sink_fn sink, void *user)
{
	pp_log_state.sink = sink;
	pp_log_state.sink_user = user;
}

bool pp_log_enabled(enum pp_log_level level)
{
	return level <= pp_log_state.level;
}

int pp_log_level_parse(const char *name, enum pp_log_level *out)
{
	for (size_t i = 0; i < sizeof(pp_log_names) / sizeof(pp_log_names[0]); i++) {
		if (strcmp(name, pp_log_names[i]) == 0) {
			*out = (enum pp_log_level)i;
			return 0;
		}
	}
	return PP_ERR_INVALID;
}

int pp_log_format_parse(const char *name, enum pp_log_format *out)
{
	if (strcmp(name, "text") == 0)
		*out = PP_LOG_TEXT;
	else if (strcmp(name, "json") == 0)
		*out = PP_LOG_JSON;
	else
		return PP_ERR_INVALID;
	return 0;
}

static size_t pp_log_timestamp(char *out, size_t cap)
{
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	size_t n = strftime(out, cap, "%Y-%m-%dT%H:%M:%S", &tm);
	int m = snprintf(out + n, cap - n, ".%03ldZ", ts.tv_nsec / 1000000L);
	return n + (m > 0 ? (size_t)m : 0);
}

/* Appends s to out[*len..cap) as JSON string content (no quotes). */
static void pp_log_json_escape(char *out, size_t *len, size_t cap, const char *s)
{
	for (; *s && *len + 7 < cap; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\') {
			out[(*len)++] = '\\';
			out[(*len)++] = (char)c;
		} else if (c == '\n') {
			out[(*len)++] = '\\';
			out[(*len)++] = 'n';
		} else if (c < 0x20 || c == 0x7f) {
			*len += (size_t)snprintf(out + *len, cap - *len, "\\u%04x", c);
		} else {
			out[(*len)++] = (char)c;
		}
	}
}

void pp_log_sanitize(char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c < 0x20 || c == 0x7f) {
			*s = '?';
		} else if (c == 0xc2 && (unsigned char)s[1] >= 0x80 && (unsigned char)s[1] <= 0x9f) {
			/* U+0080..U+009F in UTF-8: C1 controls (CSI is U+009B) */
			s[0] = '?';
			s[1] = '?';
			s++;
		}
	}
}

static void pp_log_emit(enum pp_log_level level, char *line, size_t len)
{
	if (pp_log_state.sink) {
		line[len] = '\0';
		pp_log_state.sink(level, line, pp_log_state.sink_user);
		return;
	}
	line[len++] = '\n';
	ssize_t w;
	do {
		w = write(STDERR_FILENO, line, len);
	} while (w < 0 && errno == EINTR);
}

void pp_log(enum pp_log_level level, const char *peer, const char *fmt, ...)
{
	char msg[PP_LOG_LINE_MAX / 2];
	char line[PP_LOG_LINE_MAX + 2];
	char ts[40];
	size_t len = 0;
	va_list ap;

	if (!pp_log_enabled(level))
		return;
	int saved_errno = errno;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pp_log_timestamp(ts, sizeof(ts));

	if (pp_log_state.format == PP_LOG_JSON) {
		len = (size_t)snprintf(line, PP_LOG_LINE_MAX,
		                       "{\"ts\":\"%s\",\"level\":\"%s\",\"prog\":\"",
		                       ts, pp_log_names[level]);
		pp_log_json_escape(line, &len, PP_LOG_LINE_MAX, pp_log_state.program);
		if (peer) {
			len += (size_t)snprintf(line + len, PP_LOG_LINE_MAX - len,
			                        "\",\"peer\":\"");
			pp_log_json_escape(line, &len, PP_LOG_LINE_MAX, peer);
		}
		len += (size_t)snprintf(line + len, PP_LOG_LINE_MAX - len, "\",\"msg\":\"");
		pp_log_json_escape(line, &len, PP_LOG_LINE_MAX, msg);
		len += (size_t)snprintf(line + len, PP_LOG_LINE_MAX - len, "\"}");
	} else {
		int n = snprintf(line, PP_LOG_LINE_MAX, "%s %s %s: %s%s%s%s", ts,
		                 pp_log_state.program, pp_log_names[level],
		                 peer ? "[" : "", peer ? peer : "", peer ? "] " : "", msg);
		len = n < 0 ? 0 : (size_t)n;
		pp_log_sanitize(line);
	}
	if (len > PP_LOG_LINE_MAX)
		len = PP_LOG_LINE_MAX;
	pp_log_emit(level, line, len);
	errno = saved_errno;
}
