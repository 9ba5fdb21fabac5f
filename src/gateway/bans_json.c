/* SPDX-License-Identifier: Apache-2.0 */
/* The bans file's format (bans.h): a strict parser, the writer, and the
 * RFC 3339 times. No I/O: bans.c reads and writes the file; the fuzz
 * target gw_bans drives this alone. */
#include "bans.h"

#include "peerpipe/error.h"
#include "peerpipe/json.h"
#include "peerpipe/tunnel/ctrl.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define BANS_VERSION 1
#define BANS_NESTING_MAX 4 /* {"bans": [{...}]} is 3 */
#define BANS_MIN_TIME 0LL            /* 1970-01-01T00:00:00Z */
#define BANS_MAX_TIME 253402300799LL /* 9999-12-31T23:59:59Z */

_Static_assert(BANS_NAME_MAX == PP_CTRL_NAME_MAX, "identity names follow the config's rule");

int bans_fail(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return rc;
}

/* --- times ---------------------------------------------------------------------------- */

void bans_time_format(int64_t t, char out[BANS_TIME_TEXT_MAX])
{
	time_t tt = (time_t)t;
	struct tm tm;

	out[0] = '\0';
	if (t < BANS_MIN_TIME || t > BANS_MAX_TIME || !gmtime_r(&tt, &tm))
		return;
	strftime(out, BANS_TIME_TEXT_MAX, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static bool bans_digits(const char *s, int n, int *v)
{
	*v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		*v = *v * 10 + (s[i] - '0');
	}
	return true;
}

int bans_time_parse(const char *s, int64_t *t)
{
	struct tm tm = { 0 }, back;
	int y, mo, d, h, mi, se;
	time_t tt;

	if (strlen(s) != 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' ||
	    s[16] != ':' || s[19] != 'Z' || !bans_digits(s, 4, &y) || !bans_digits(s + 5, 2, &mo) ||
	    !bans_digits(s + 8, 2, &d) || !bans_digits(s + 11, 2, &h) ||
	    !bans_digits(s + 14, 2, &mi) || !bans_digits(s + 17, 2, &se))
		return PP_ERR_INVALID;
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 59)
		return PP_ERR_INVALID;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = se;
	tt = timegm(&tm);
	/* timegm normalizes 02-30 into March: such a date does not exist */
	if (tt == (time_t)-1 || !gmtime_r(&tt, &back) || back.tm_mday != d || back.tm_mon != mo - 1)
		return PP_ERR_INVALID;
	*t = (int64_t)tt;
	return 0;
}

/* --- entries -------------------------------------------------------------------------- */

/* Printable text: no control characters (it reaches logs and terminals). */
static bool bans_text_ok(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return false;
	return true;
}

/* Copies at most cap-1 bytes of UTF-8 s, never cutting a character. */
static void bans_copy_text(char *out, size_t cap, const char *s)
{
	size_t n = strlen(s);

	if (n >= cap) {
		n = cap - 1;
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
	}
	memcpy(out, s, n);
	out[n] = '\0';
}

int bans_entry_set(struct ban *b, const struct pp_fingerprint *fp, const char *identity,
                   const char *reason, int64_t since, int64_t until)
{
	memset(b, 0, sizeof(*b));
	if (!pp_fingerprint_pinnable(fp) || !pp_tunnel_service_name_valid(identity) ||
	    !reason || !bans_text_ok(reason) || since < BANS_MIN_TIME || until > BANS_MAX_TIME ||
	    since > until)
		return PP_ERR_INVALID;
	b->fp = *fp;
	if (pp_fingerprint_format(fp, b->fp_text, sizeof(b->fp_text)) < 0)
		return PP_ERR_INVALID;
	g_strlcpy(b->identity, identity, sizeof(b->identity));
	bans_copy_text(b->reason, sizeof(b->reason), reason);
	b->since = since;
	b->until = until;
	return 0;
}

/* One string member of an entry; NULL (err set) when absent or not a string. */
static const char *bans_member(json_t *o, const char *key, size_t idx, char *err, size_t errlen)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_string(v)) {
		bans_fail(err, errlen, PP_ERR_INVALID, "entry %zu: \"%s\" %s", idx, key,
		          v ? "must be a string" : "is missing");
		return NULL;
	}
	return json_string_value(v);
}

static int bans_parse_entry(json_t *o, size_t idx, struct ban *b, char *err, size_t errlen)
{
	static const char *const keys[] = { "fingerprint", "identity", "reason", "since", "until" };
	const char *v[G_N_ELEMENTS(keys)];
	struct pp_fingerprint fp;
	int64_t since, until;
	const char *k;
	json_t *jv;

	if (!json_is_object(o))
		return bans_fail(err, errlen, PP_ERR_INVALID, "entry %zu: not an object", idx);
	json_object_foreach(o, k, jv) {
		bool known = false;
		for (size_t i = 0; i < G_N_ELEMENTS(keys); i++)
			known |= strcmp(k, keys[i]) == 0;
		if (!known)
			return bans_fail(err, errlen, PP_ERR_INVALID, "entry %zu: unknown key \"%.64s\"",
			                 idx, k);
	}
	for (size_t i = 0; i < G_N_ELEMENTS(keys); i++)
		if (!(v[i] = bans_member(o, keys[i], idx, err, errlen)))
			return PP_ERR_INVALID;
	if (pp_fingerprint_parse(v[0], strlen(v[0]), &fp) < 0 || !pp_fingerprint_pinnable(&fp))
		return bans_fail(err, errlen, PP_ERR_INVALID,
		                 "entry %zu: \"fingerprint\": not \"sha-256 AB:CD:...\"", idx);
	if (!pp_tunnel_service_name_valid(v[1]))
		return bans_fail(err, errlen, PP_ERR_INVALID,
		                 "entry %zu: \"identity\": not 1..64 of A-Z a-z 0-9 . _ -", idx);
	if (strlen(v[2]) > BANS_REASON_MAX || !bans_text_ok(v[2]))
		return bans_fail(err, errlen, PP_ERR_INVALID, "entry %zu: \"reason\": over %d bytes "
		                 "or control characters", idx, BANS_REASON_MAX);
	if (bans_time_parse(v[3], &since) < 0 || bans_time_parse(v[4], &until) < 0)
		return bans_fail(err, errlen, PP_ERR_INVALID, "entry %zu: \"since\"/\"until\": not "
		                 "YYYY-MM-DDTHH:MM:SSZ (UTC)", idx);
	if (since > until)
		return bans_fail(err, errlen, PP_ERR_INVALID, "entry %zu: \"until\" is before \"since\"",
		                 idx);
	return bans_entry_set(b, &fp, v[1], v[2], since, until) < 0
	               ? bans_fail(err, errlen, PP_ERR_INVALID, "entry %zu: invalid", idx)
	               : 0;
}

static int bans_check_top(json_t *root, json_t **list, char *err, size_t errlen)
{
	json_t *ver, *jv;
	const char *k;

	if (!json_is_object(root))
		return bans_fail(err, errlen, PP_ERR_INVALID, "not a JSON object");
	json_object_foreach(root, k, jv) {
		if (strcmp(k, "version") != 0 && strcmp(k, "bans") != 0)
			return bans_fail(err, errlen, PP_ERR_INVALID, "unknown key \"%.64s\"", k);
	}
	ver = json_object_get(root, "version");
	if (!json_is_integer(ver) || json_integer_value(ver) != BANS_VERSION)
		return bans_fail(err, errlen, PP_ERR_INVALID, "\"version\" must be %d", BANS_VERSION);
	*list = json_object_get(root, "bans");
	if (!json_is_array(*list))
		return bans_fail(err, errlen, PP_ERR_INVALID, "\"bans\" must be an array");
	if (json_array_size(*list) > BANS_MAX)
		return bans_fail(err, errlen, PP_ERR_TOO_BIG, "more than %d bans", BANS_MAX);
	return 0;
}

static bool bans_dup(const GArray *v, size_t from, const struct ban *b)
{
	for (size_t i = from; i < v->len; i++)
		if (pp_fingerprint_equal(&g_array_index(v, struct ban, i).fp, &b->fp))
			return true;
	return false;
}

int bans_parse(const char *text, size_t len, GArray *out, char *err, size_t errlen)
{
	json_error_t je;
	json_t *root, *list = NULL, *o;
	size_t base = out->len, idx;
	int rc;

	if (len > BANS_FILE_MAX)
		return bans_fail(err, errlen, PP_ERR_TOO_BIG, "over %d bytes", BANS_FILE_MAX);
	if (len == 0)
		return bans_fail(err, errlen, PP_ERR_INVALID, "empty (a truncated write?)");
	if (!pp_json_nesting_ok(text, len, BANS_NESTING_MAX))
		return bans_fail(err, errlen, PP_ERR_INVALID, "nested too deeply");
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	if (!root)
		return bans_fail(err, errlen, PP_ERR_INVALID, "not JSON: line %d: %s", je.line,
		                 je.text);
	if ((rc = bans_check_top(root, &list, err, errlen)) < 0)
		goto out;
	json_array_foreach(list, idx, o) {
		struct ban b;
		if ((rc = bans_parse_entry(o, idx + 1, &b, err, errlen)) < 0)
			goto out;
		if (bans_dup(out, base, &b)) {
			rc = bans_fail(err, errlen, PP_ERR_INVALID, "entry %zu: fingerprint banned twice",
			               idx + 1);
			goto out;
		}
		g_array_append_val(out, b);
	}
	rc = 0;
out:
	if (rc < 0)
		g_array_set_size(out, base);
	json_decref(root);
	return rc;
}

char *bans_format(const struct ban *v, size_t n, int64_t now)
{
	json_t *root = json_object(), *list = json_array();
	char since[BANS_TIME_TEXT_MAX], until[BANS_TIME_TEXT_MAX];
	char *text, *out;

	json_object_set_new(root, "version", json_integer(BANS_VERSION));
	for (size_t i = 0; i < n; i++) {
		if (v[i].until <= now)
			continue; /* expired: pruned */
		bans_time_format(v[i].since, since);
		bans_time_format(v[i].until, until);
		json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:s, s:s}", "fingerprint",
		                                      v[i].fp_text, "identity", v[i].identity, "reason",
		                                      v[i].reason, "since", since, "until", until));
	}
	json_object_set_new(root, "bans", list);
	text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(root);
	if (!text)
		return NULL;
	out = g_strconcat(text, "\n", NULL);
	free(text);
	return out;
}
