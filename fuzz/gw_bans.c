/* SPDX-License-Identifier: Apache-2.0 */
/* The gateway's bans file (src/gateway/bans_json.c), untrusted in the
 * sense that it is edited by hand and read at start:
 * - refused with a reason and the output array untouched, or
 * - accepted with every entry within its limits (a sha-256 fingerprint in
 *   canonical form, a valid name, a short printable reason, since <=
 *   until), and writing the entries and reading them back gives the same. */
#include "fuzz.h"

#include "bans.h"

#include "peerpipe/error.h"
#include "peerpipe/tunnel/ctrl.h"

#include <string.h>

static void check_entry(const struct ban *b)
{
	struct pp_fingerprint fp;
	char text[PP_FP_TEXT_MAX];

	CHECK(pp_fingerprint_pinnable(&b->fp));
	CHECK(pp_fingerprint_format(&b->fp, text, sizeof(text)) > 0);
	CHECK(strcmp(text, b->fp_text) == 0);
	CHECK(pp_fingerprint_parse(b->fp_text, strlen(b->fp_text), &fp) == 0);
	CHECK(pp_fingerprint_equal(&fp, &b->fp));
	CHECK(pp_tunnel_service_name_valid(b->identity));
	CHECK(strlen(b->reason) <= BANS_REASON_MAX);
	for (const unsigned char *p = (const unsigned char *)b->reason; *p; p++)
		CHECK(*p >= 0x20 && *p != 0x7f);
	CHECK(b->since >= 0 && b->since <= b->until);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	GArray *v = g_array_new(FALSE, TRUE, sizeof(struct ban));
	GArray *w = g_array_new(FALSE, TRUE, sizeof(struct ban));
	char err[256] = "";
	int rc = bans_parse((const char *)data, size, v, err, sizeof(err));

	if (rc < 0) {
		CHECK(rc == PP_ERR_INVALID || rc == PP_ERR_TOO_BIG);
		CHECK(err[0] && v->len == 0);
		goto out;
	}
	CHECK(rc == 0 && v->len <= BANS_MAX);
	for (guint i = 0; i < v->len; i++)
		check_entry(&g_array_index(v, struct ban, i));
	/* now = -1: nothing has expired, everything is written */
	char *text = bans_format((const struct ban *)(void *)v->data, v->len, -1);
	CHECK(text);
	CHECK(bans_parse(text, strlen(text), w, err, sizeof(err)) == 0);
	CHECK(w->len == v->len);
	for (guint i = 0; i < v->len; i++) {
		const struct ban *a = &g_array_index(v, struct ban, i), *b = &g_array_index(w, struct ban, i);
		CHECK(strcmp(a->fp_text, b->fp_text) == 0 && strcmp(a->identity, b->identity) == 0 &&
		      strcmp(a->reason, b->reason) == 0 && a->since == b->since && a->until == b->until);
	}
	g_free(text);
out:
	g_array_free(v, TRUE);
	g_array_free(w, TRUE);
	return 0;
}
