/* SPDX-License-Identifier: Apache-2.0 */
#include "text.h"

#include "peerpipe/error.h"

#include <string.h>

int pp_rtc_text_token(struct pp_rtc_span *rest, struct pp_rtc_span *tok)
{
	if (rest->len == 0)
		return 0;
	const char *sp = memchr(rest->p, ' ', rest->len);
	size_t n = sp ? (size_t)(sp - rest->p) : rest->len;
	if (n == 0)
		return PP_ERR_INVALID;
	tok->p = rest->p;
	tok->len = n;
	if (sp) {
		if (n + 1 == rest->len) /* trailing space */
			return PP_ERR_INVALID;
		rest->p += n + 1;
		rest->len -= n + 1;
	} else {
		rest->p += n;
		rest->len = 0;
	}
	return 1;
}

int pp_rtc_text_u64(struct pp_rtc_span s, size_t max_digits, uint64_t max,
                    uint64_t *out)
{
	uint64_t v = 0;

	if (s.len == 0 || s.len > max_digits || max_digits > 19)
		return PP_ERR_INVALID;
	for (size_t i = 0; i < s.len; i++) {
		char c = s.p[i];
		if (c < '0' || c > '9')
			return PP_ERR_INVALID;
		v = v * 10 + (uint64_t)(c - '0'); /* 19 digits cannot overflow */
	}
	if (v > max)
		return PP_ERR_INVALID;
	*out = v;
	return 0;
}

bool pp_rtc_text_eq(struct pp_rtc_span s, const char *lit)
{
	size_t n = strlen(lit);
	return s.len == n && memcmp(s.p, lit, n) == 0;
}

static char pp_rtc_text_lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

bool pp_rtc_text_ieq(struct pp_rtc_span s, const char *lit)
{
	size_t n = strlen(lit);
	if (s.len != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (pp_rtc_text_lower(s.p[i]) != pp_rtc_text_lower(lit[i]))
			return false;
	return true;
}

bool pp_rtc_text_prefix(struct pp_rtc_span s, const char *lit,
                        struct pp_rtc_span *tail)
{
	size_t n = strlen(lit);
	if (s.len < n || memcmp(s.p, lit, n) != 0)
		return false;
	tail->p = s.p + n;
	tail->len = s.len - n;
	return true;
}

static bool pp_rtc_text_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9');
}

bool pp_rtc_text_ice_chars(struct pp_rtc_span s)
{
	for (size_t i = 0; i < s.len; i++)
		if (!pp_rtc_text_alnum(s.p[i]) && s.p[i] != '+' && s.p[i] != '/')
			return false;
	return true;
}

bool pp_rtc_text_token_chars(struct pp_rtc_span s)
{
	static const char extra[] = "!#$%&'*+-.^_`{|}~";
	for (size_t i = 0; i < s.len; i++)
		if (!pp_rtc_text_alnum(s.p[i]) &&
		    (s.p[i] == '\0' || !strchr(extra, s.p[i])))
			return false;
	return true;
}

int pp_rtc_text_copy(struct pp_rtc_span s, char *out, size_t cap)
{
	if (s.len >= cap)
		return PP_ERR_TOO_BIG;
	if (s.len)
		memcpy(out, s.p, s.len);
	out[s.len] = '\0';
	return 0;
}
