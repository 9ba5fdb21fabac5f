/* SPDX-License-Identifier: Apache-2.0 */
#include "peerpipe/config.h"

#include "peerpipe/error.h"

#include <errno.h>
#include <glib.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int pp_cfg_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return PP_ERR_CONFIG;
}

int pp_cfg_parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "true", "yes", "on", "1" };
	static const char *const no[] = { "false", "no", "off", "0" };
	for (size_t i = 0; i < 4; i++) {
		if (g_ascii_strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (g_ascii_strcasecmp(s, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return PP_ERR_INVALID;
}

/* Parses a decimal integer followed by an optional unit from units[];
 * the result is number * multiplier, checked for overflow. */
struct pp_cfg_unit {
	const char *name;
	int64_t mult;
};

static int pp_cfg_parse_scaled(const char *s, const struct pp_cfg_unit *units,
                               size_t nunits, int64_t bare_mult, int64_t *out)
{
	char *end;
	errno = 0;
	if (!g_ascii_isdigit(s[0]) && s[0] != '-')
		return PP_ERR_INVALID;
	long long v = strtoll(s, &end, 10);
	if (errno || end == s)
		return PP_ERR_INVALID;
	int64_t mult = bare_mult;
	if (*end) {
		size_t i;
		for (i = 0; i < nunits; i++)
			if (strcmp(end, units[i].name) == 0)
				break;
		if (i == nunits)
			return PP_ERR_INVALID;
		mult = units[i].mult;
	}
	if (v > INT64_MAX / mult || v < INT64_MIN / mult)
		return PP_ERR_TOO_BIG;
	*out = (int64_t)v * mult;
	return 0;
}

int pp_cfg_parse_int(const char *s, int64_t *out)
{
	return pp_cfg_parse_scaled(s, NULL, 0, 1, out);
}

int pp_cfg_parse_duration_ms(const char *s, int64_t *out)
{
	static const struct pp_cfg_unit units[] = {
		{ "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 },
		{ "d", 86400000 },
	};
	return pp_cfg_parse_scaled(s, units, G_N_ELEMENTS(units), 1000, out);
}

int pp_cfg_parse_size(const char *s, int64_t *out)
{
	static const struct pp_cfg_unit units[] = {
		{ "B", 1 }, { "KiB", 1024 }, { "MiB", 1024 * 1024 },
		{ "GiB", 1024 * 1024 * 1024 },
	};
	return pp_cfg_parse_scaled(s, units, G_N_ELEMENTS(units), 1, out);
}

static const struct pp_cfg_key *pp_cfg_find(const struct pp_cfg_key *table,
                                            size_t n, const char *section,
                                            const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(table[i].section, section) == 0 &&
		    strcmp(table[i].key, key) == 0)
			return &table[i];
	return NULL;
}

static bool pp_cfg_section_known(const struct pp_cfg_key *table, size_t n,
                                 const char *section)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(table[i].section, section) == 0)
			return true;
	return false;
}

/* Stores the text value of k into target, checking type and range. */
static int pp_cfg_store(const struct pp_cfg_key *k, void *target,
                        const char *value, const char *where, char *err,
                        size_t errlen)
{
	char *slot = (char *)target + k->offset;
	int64_t v = 0;
	int rc;

	switch (k->type) {
	case PP_CFG_BOOL:
		if (pp_cfg_parse_bool(value, (bool *)slot) < 0)
			return pp_cfg_fail(err, errlen, "%s: [%s] %s: expected true or false, got \"%s\"",
			                   where, k->section, k->key, value);
		return 0;
	case PP_CFG_STRING:
		if ((int64_t)strlen(value) > k->max || (int64_t)strlen(value) < k->min)
			return pp_cfg_fail(err, errlen, "%s: [%s] %s: length must be %" PRId64 "..%" PRId64,
			                   where, k->section, k->key, k->min, k->max);
		free(*(char **)slot);
		*(char **)slot = strdup(value);
		return *(char **)slot ? 0 : PP_ERR_NOMEM;
	case PP_CFG_INT:
		rc = pp_cfg_parse_int(value, &v);
		break;
	case PP_CFG_DURATION:
		rc = pp_cfg_parse_duration_ms(value, &v);
		break;
	case PP_CFG_SIZE:
		rc = pp_cfg_parse_size(value, &v);
		break;
	default:
		return PP_ERR_INVALID;
	}
	if (rc < 0)
		return pp_cfg_fail(err, errlen, "%s: [%s] %s: cannot parse \"%s\"%s",
		                   where, k->section, k->key, value,
		                   k->type == PP_CFG_DURATION ? " (use e.g. 500ms, 10s, 5m, 1h)" :
		                   k->type == PP_CFG_SIZE ? " (use e.g. 4096, 64KiB, 8MiB)" : "");
	if (v < k->min || v > k->max)
		return pp_cfg_fail(err, errlen, "%s: [%s] %s: %s is out of range (%" PRId64 "..%" PRId64 "%s)",
		                   where, k->section, k->key, value, k->min, k->max,
		                   k->type == PP_CFG_DURATION ? " ms" : "");
	*(int64_t *)slot = v;
	return 0;
}

int pp_cfg_defaults(const struct pp_cfg_key *table, size_t n, void *target,
                    char *err, size_t errlen)
{
	for (size_t i = 0; i < n; i++) {
		if (!table[i].def)
			continue;
		int rc = pp_cfg_store(&table[i], target, table[i].def, "default", err, errlen);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int pp_cfg_set(const struct pp_cfg_key *table, size_t n, void *target,
               const char *section, const char *key, const char *value,
               const char *origin, char *err, size_t errlen)
{
	const struct pp_cfg_key *k = pp_cfg_find(table, n, section, key);
	if (!k)
		return pp_cfg_fail(err, errlen, "%s: unknown setting [%s] %s", origin,
		                   section, key);
	return pp_cfg_store(k, target, value, origin, err, errlen);
}

/* GKeyFile does not keep line numbers: find where [section] key = stands. */
static int pp_cfg_line_of(const char *text, size_t len, const char *section,
                          const char *key)
{
	bool in_section = false;
	int line = 1;
	const char *p = text, *end = text + len;

	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		if (!eol)
			eol = end;
		const char *s = p;
		while (s < eol && (*s == ' ' || *s == '\t'))
			s++;
		size_t n = (size_t)(eol - s);
		if (n && *s == '[') {
			size_t sl = strlen(section);
			in_section = n >= sl + 2 && memcmp(s + 1, section, sl) == 0 && s[sl + 1] == ']';
			if (in_section && !key)
				return line;
		} else if (in_section && key) {
			size_t kl = strlen(key);
			if (n > kl && memcmp(s, key, kl) == 0 &&
			    (s[kl] == '=' || s[kl] == ' ' || s[kl] == '\t'))
				return line;
		}
		p = eol + 1;
		line++;
	}
	return 0;
}

int pp_cfg_load_data(const struct pp_cfg_key *table, size_t n, void *target,
                     const char *name, const char *text, size_t len,
                     char *err, size_t errlen)
{
	GKeyFile *kf = g_key_file_new();
	GError *gerr = NULL;
	gchar **groups = NULL;
	int rc = 0;

	if (!g_key_file_load_from_data(kf, text, len, G_KEY_FILE_NONE, &gerr)) {
		rc = pp_cfg_fail(err, errlen, "%s: %s", name, gerr->message);
		goto out;
	}
	groups = g_key_file_get_groups(kf, NULL);
	for (gchar **g = groups; *g && rc == 0; g++) {
		if (!pp_cfg_section_known(table, n, *g)) {
			rc = pp_cfg_fail(err, errlen, "%s:%d: unknown section [%s]", name,
			                 pp_cfg_line_of(text, len, *g, NULL), *g);
			break;
		}
		gchar **keys = g_key_file_get_keys(kf, *g, NULL, NULL);
		for (gchar **k = keys; k && *k && rc == 0; k++) {
			char where[256];
			int line = pp_cfg_line_of(text, len, *g, *k);
			const struct pp_cfg_key *def = pp_cfg_find(table, n, *g, *k);
			snprintf(where, sizeof(where), "%s:%d", name, line);
			if (!def) {
				rc = pp_cfg_fail(err, errlen, "%s: unknown key \"%s\" in [%s]",
				                 where, *k, *g);
				break;
			}
			gchar *v = g_key_file_get_string(kf, *g, *k, NULL);
			rc = v ? pp_cfg_store(def, target, g_strstrip(v), where, err, errlen)
			       : pp_cfg_fail(err, errlen, "%s: [%s] %s: invalid value", where, *g, *k);
			g_free(v);
		}
		g_strfreev(keys);
	}
out:
	if (gerr)
		g_error_free(gerr);
	g_strfreev(groups);
	g_key_file_free(kf);
	return rc;
}

int pp_cfg_load_file(const struct pp_cfg_key *table, size_t n, void *target,
                     const char *path, char *err, size_t errlen)
{
	gchar *text = NULL;
	gsize len = 0;
	GError *gerr = NULL;

	if (!g_file_get_contents(path, &text, &len, &gerr)) {
		int rc = pp_cfg_fail(err, errlen, "%s: %s", path, gerr->message);
		g_error_free(gerr);
		return rc;
	}
	int rc = pp_cfg_load_data(table, n, target, path, text, len, err, errlen);
	g_free(text);
	return rc;
}

void pp_cfg_free(const struct pp_cfg_key *table, size_t n, void *target)
{
	for (size_t i = 0; i < n; i++) {
		if (table[i].type != PP_CFG_STRING)
			continue;
		char **slot = (char **)((char *)target + table[i].offset);
		free(*slot);
		*slot = NULL;
	}
}
