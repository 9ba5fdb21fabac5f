/* SPDX-License-Identifier: Apache-2.0 */
/* The structure of the gateway's INI text, with line numbers (see
 * gconfig_priv.h for why GKeyFile alone is not enough). The line rules are
 * GKeyFile's: leading blanks ignored, '#' starts a comment line, "[name]"
 * opens a section, "key = value" sets a key; values are left to GKeyFile. */
#include "gconfig_priv.h"

#include "peerpipe/error.h"

#include <string.h>

static void gw_scan_sect_free(gpointer p)
{
	struct gw_scan_sect *s = p;
	for (guint i = 0; i < s->keys->len; i++)
		g_free(g_array_index(s->keys, struct gw_scan_key, i).key);
	g_array_free(s->keys, TRUE);
	g_free(s->name);
	g_free(s);
}

void gw_scan_clear(struct gw_scan *s)
{
	if (s->sects)
		g_ptr_array_free(s->sects, TRUE);
	s->sects = NULL;
}

static struct gw_scan_sect *gw_scan_find(const struct gw_scan *s, const char *name)
{
	for (guint i = 0; i < s->sects->len; i++) {
		struct gw_scan_sect *x = g_ptr_array_index(s->sects, i);
		if (strcmp(x->name, name) == 0)
			return x;
	}
	return NULL;
}

static int gw_scan_header(struct gw_scan *s, const char *name, const char *p,
                          size_t n, int line, GHashTable *seen, char *err,
                          size_t errlen)
{
	const char *close = memchr(p, ']', n);
	if (!close)
		return pp_cfg_fail(err, errlen, "%s:%d: section header without ']'", name, line);
	for (const char *q = close + 1; q < p + n; q++)
		if (!g_ascii_isspace(*q))
			return pp_cfg_fail(err, errlen, "%s:%d: text after the section header", name, line);
	char *sect = g_strndup(p + 1, (size_t)(close - p - 1));
	gpointer first = g_hash_table_lookup(seen, sect);
	if (first) {
		int rc = pp_cfg_fail(err, errlen, "%s:%d: duplicate section [%s] (first at line %d)",
		                 name, line, sect, GPOINTER_TO_INT(first));
		g_free(sect);
		return rc;
	}
	g_hash_table_insert(seen, sect, GINT_TO_POINTER(line));
	struct gw_scan_sect *x = g_new0(struct gw_scan_sect, 1);
	x->name = g_strdup(sect);
	x->line = line;
	x->keys = g_array_new(FALSE, FALSE, sizeof(struct gw_scan_key));
	g_ptr_array_add(s->sects, x);
	return 0;
}

static int gw_scan_key(struct gw_scan *s, const char *name, const char *p,
                       size_t n, int line, char *err, size_t errlen)
{
	const char *eq = memchr(p, '=', n);
	if (!eq)
		return pp_cfg_fail(err, errlen, "%s:%d: expected \"key = value\", a [section] or a # comment",
		               name, line);
	if (s->sects->len == 0)
		return pp_cfg_fail(err, errlen, "%s:%d: key outside any section", name, line);
	size_t kl = (size_t)(eq - p);
	while (kl && g_ascii_isspace(p[kl - 1]))
		kl--;
	if (kl == 0)
		return pp_cfg_fail(err, errlen, "%s:%d: empty key", name, line);
	struct gw_scan_sect *x = g_ptr_array_index(s->sects, s->sects->len - 1);
	/* Sections hold a handful of keys: a linear search is enough. */
	for (guint i = 0; i < x->keys->len; i++) {
		struct gw_scan_key *k = &g_array_index(x->keys, struct gw_scan_key, i);
		if (strlen(k->key) == kl && memcmp(k->key, p, kl) == 0)
			return pp_cfg_fail(err, errlen, "%s:%d: duplicate key \"%s\" in [%s] (first at line %d)",
			               name, line, k->key, x->name, k->line);
	}
	if (x->keys->len >= 64)
		return pp_cfg_fail(err, errlen, "%s:%d: too many keys in [%s]", name, line, x->name);
	struct gw_scan_key k = { g_strndup(p, kl), line };
	g_array_append_val(x->keys, k);
	return 0;
}

int gw_scan_text(const char *name, const char *text, size_t len,
                 struct gw_scan *out, char *err, size_t errlen)
{
	GHashTable *seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	const char *p = text, *end = text + len;
	int line = 1, rc = 0;

	out->sects = g_ptr_array_new_with_free_func(gw_scan_sect_free);
	while (p < end && rc == 0) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		if (!eol)
			eol = end;
		const char *s = p, *e = eol;
		while (s < e && g_ascii_isspace(*s))
			s++;
		while (e > s && g_ascii_isspace(e[-1]))
			e--;
		if (s < e && *s == '[')
			rc = gw_scan_header(out, name, s, (size_t)(e - s), line, seen, err, errlen);
		else if (s < e && *s != '#')
			rc = gw_scan_key(out, name, s, (size_t)(e - s), line, err, errlen);
		p = eol + 1;
		line++;
	}
	g_hash_table_destroy(seen);
	if (rc < 0)
		gw_scan_clear(out);
	return rc;
}

int gw_scan_line(const struct gw_scan *s, const char *sect, const char *key)
{
	const struct gw_scan_sect *x = gw_scan_find(s, sect);
	if (!x)
		return 0;
	if (!key)
		return x->line;
	for (guint i = 0; i < x->keys->len; i++) {
		const struct gw_scan_key *k = &g_array_index(x->keys, struct gw_scan_key, i);
		if (strcmp(k->key, key) == 0)
			return k->line;
	}
	return 0;
}
