/* SPDX-License-Identifier: Apache-2.0 */
/* Logging: levels, an optional per-peer prefix, text or JSON lines.
 *
 * One call writes one whole line with a single write(2), so lines from
 * several processes sharing stderr never interleave. Never log secrets:
 * tokens, keys and credentials stay out of every message. */
#ifndef PEERPIPE_LOG_H
#define PEERPIPE_LOG_H

#include <stdbool.h>

enum pp_log_level {
	PP_LOG_ERROR = 0,
	PP_LOG_WARN = 1,
	PP_LOG_INFO = 2,
	PP_LOG_DEBUG = 3,
};

enum pp_log_format {
	PP_LOG_TEXT = 0,
	PP_LOG_JSON = 1, /* one JSON object per line, for log shippers */
};

/* A sink receives each finished line (without the newline); for tests and
 * for programs that forward logs elsewhere. NULL restores stderr. */
typedef void (*pp_log_sink_fn)(enum pp_log_level level, const char *line,
                               void *user);

void pp_log_setup(const char *program, enum pp_log_level level,
                  enum pp_log_format format);
void pp_log_set_level(enum pp_log_level level);
void pp_log_set_sink(pp_log_sink_fn sink, void *user);
bool pp_log_enabled(enum pp_log_level level);
/* In place: control characters (C0, DEL, and C1 encoded in UTF-8) become
 * '?', so text from the network cannot drive a terminal or split a line. */
void pp_log_sanitize(char *s);

/* "error", "warn", "info", "debug" -> level; 0 or PP_ERR_INVALID. */
int pp_log_level_parse(const char *name, enum pp_log_level *out);
/* "text", "json" -> format; 0 or PP_ERR_INVALID. */
int pp_log_format_parse(const char *name, enum pp_log_format *out);

/* peer may be NULL; otherwise it is shown as a prefix (text) or a "peer"
 * field (JSON). */
void pp_log(enum pp_log_level level, const char *peer, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define pp_error(...) pp_log(PP_LOG_ERROR, NULL, __VA_ARGS__)
#define pp_warn(...) pp_log(PP_LOG_WARN, NULL, __VA_ARGS__)
#define pp_info(...) pp_log(PP_LOG_INFO, NULL, __VA_ARGS__)
#define pp_debug(...)                                                   \
	do {                                                            \
		if (pp_log_enabled(PP_LOG_DEBUG))                       \
			pp_log(PP_LOG_DEBUG, NULL, __VA_ARGS__);        \
	} while (0)

#endif
