/* SPDX-License-Identifier: Apache-2.0 */
/* Private helpers shared by the rtc text parsers (SDP, ICE candidates):
 * byte spans, single-space tokenizing and strict number parsing. Not part
 * of the public API; nothing here allocates. */
#ifndef PEERPIPE_RTC_TEXT_H
#define PEERPIPE_RTC_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PP_NELEM(a) (sizeof(a) / sizeof((a)[0]))

struct pp_rtc_span {
	const char *p;
	size_t len;
};

/* Next token of a single-space separated list. Returns 1 with *tok set, 0
 * at the end, PP_ERR_INVALID on an empty token (two spaces, or a leading or
 * trailing space). */
int pp_rtc_text_token(struct pp_rtc_span *rest, struct pp_rtc_span *tok);

/* Strict unsigned decimal: 1..max_digits ASCII digits, nothing else, value
 * at most max. 0 or PP_ERR_INVALID. */
int pp_rtc_text_u64(struct pp_rtc_span s, size_t max_digits, uint64_t max,
                    uint64_t *out);

bool pp_rtc_text_eq(struct pp_rtc_span s, const char *lit);
bool pp_rtc_text_ieq(struct pp_rtc_span s, const char *lit);
/* s starts with lit (case-sensitive); on success *tail is the rest. */
bool pp_rtc_text_prefix(struct pp_rtc_span s, const char *lit,
                        struct pp_rtc_span *tail);

/* RFC 8839 ice-char: ALPHA / DIGIT / "+" / "/". */
bool pp_rtc_text_ice_chars(struct pp_rtc_span s);
/* RFC 4566 token characters. */
bool pp_rtc_text_token_chars(struct pp_rtc_span s);

/* Copies s into a NUL-terminated buffer of cap bytes; PP_ERR_TOO_BIG if
 * it does not fit. */
int pp_rtc_text_copy(struct pp_rtc_span s, char *out, size_t cap);

#endif
