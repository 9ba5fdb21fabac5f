/* SPDX-License-Identifier: Apache-2.0 */
/* Locates a top-level member's raw value in JSON text, without recursion.
 * The text has been validated by jansson already; every step is still
 * bounds-checked, so malformed text yields PP_ERR_INVALID, never a read
 * past the end. */
#include "peerpipe/error.h"
#include "peerpipe/sigmsg.h"

#include <jansson.h>
#include <stdbool.h>
#include <string.h>

static size_t pp_json_ws(const char *t, size_t len, size_t i)
{
	while (i < len && (t[i] == ' ' || t[i] == '\t' || t[i] == '\r' || t[i] == '\n'))
		i++;
	return i;
}

/* i at the opening quote; returns the index after the closing quote, or 0. */
static size_t pp_json_skip_string(const char *t, size_t len, size_t i, bool *escaped)
{
	for (i++; i < len; i++) {
		if (t[i] == '\\') {
			if (escaped)
				*escaped = true;
			i++;
		} else if (t[i] == '"') {
			return i + 1;
		}
	}
	return 0;
}

/* i at the first byte of a value; returns the index after it, or 0. */
static size_t pp_json_skip_value(const char *t, size_t len, size_t i)
{
	if (i >= len)
		return 0;
	if (t[i] == '"')
		return pp_json_skip_string(t, len, i, NULL);
	if (t[i] == '{' || t[i] == '[') {
		size_t depth = 0;
		while (i < len) {
			char c = t[i];
			if (c == '"') {
				i = pp_json_skip_string(t, len, i, NULL);
				if (!i)
					return 0;
				continue;
			}
			if (c == '{' || c == '[')
				depth++;
			else if ((c == '}' || c == ']') && --depth == 0)
				return i + 1;
			i++;
		}
		return 0;
	}
	size_t start = i;
	while (i < len && !strchr(",}] \t\r\n", t[i]))
		i++;
	return i > start ? i : 0;
}

static bool pp_json_key_equals(const char *raw, size_t rawlen, bool escaped,
                               const char *key)
{
	if (!escaped)
		return rawlen == strlen(key) + 2 && memcmp(raw + 1, key, rawlen - 2) == 0;
	json_t *s = json_loadb(raw, rawlen, JSON_DECODE_ANY, NULL);
	bool eq = json_is_string(s) && json_string_length(s) == strlen(key) &&
	          memcmp(json_string_value(s), key, strlen(key)) == 0;
	json_decref(s);
	return eq;
}

int pp_json_member_span(const char *t, size_t len, const char *key, size_t *off,
                        size_t *vlen)
{
	size_t i = pp_json_ws(t, len, 0);
	if (i >= len || t[i] != '{')
		return PP_ERR_INVALID;
	i = pp_json_ws(t, len, i + 1);
	if (i < len && t[i] == '}')
		return PP_ERR_NOT_FOUND;
	while (i < len) {
		bool escaped = false;
		if (t[i] != '"')
			return PP_ERR_INVALID;
		size_t kstart = i;
		i = pp_json_skip_string(t, len, i, &escaped);
		if (!i)
			return PP_ERR_INVALID;
		size_t kend = i;
		i = pp_json_ws(t, len, i);
		if (i >= len || t[i] != ':')
			return PP_ERR_INVALID;
		size_t vstart = pp_json_ws(t, len, i + 1);
		size_t vend = pp_json_skip_value(t, len, vstart);
		if (!vend)
			return PP_ERR_INVALID;
		if (pp_json_key_equals(t + kstart, kend - kstart, escaped, key)) {
			*off = vstart;
			*vlen = vend - vstart;
			return 0;
		}
		i = pp_json_ws(t, len, vend);
		if (i >= len)
			return PP_ERR_INVALID;
		if (t[i] == '}')
			return PP_ERR_NOT_FOUND;
		if (t[i] != ',')
			return PP_ERR_INVALID;
		i = pp_json_ws(t, len, i + 1);
	}
	return PP_ERR_INVALID;
}
