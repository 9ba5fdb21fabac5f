/* SPDX-License-Identifier: Apache-2.0 */
#include "peerpipe/sigmsg.h"

#include "peerpipe/error.h"
#include "peerpipe/jwt.h"

#include <stdbool.h>
#include <string.h>

#define PP_SIG_NESTING_MAX 32 /* deeper JSON is refused before parsing */

static const char *const pp_sig_names[] = {
	[PP_SIG_JOIN_ROOM] = "JOIN_ROOM",
	[PP_SIG_SEND_SDP] = "SEND_SDP",
	[PP_SIG_SEND_ICE] = "SEND_ICE",
	[PP_SIG_LEAVE_ROOM] = "LEAVE_ROOM",
};

bool pp_peer_id_valid(const char *s, size_t len)
{
	if (!s || len != PP_PEER_ID_LEN)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

const char *pp_sig_type_name(enum pp_sig_type t)
{
	return pp_sig_names[t];
}

int pp_fingerprint_valid(const char *s, size_t len)
{
	static const struct {
		const char *name;
		size_t bytes;
	} algs[] = { { "sha-1", 20 }, { "sha-224", 28 }, { "sha-256", 32 },
	             { "sha-384", 48 }, { "sha-512", 64 } };

	for (size_t a = 0; a < sizeof(algs) / sizeof(algs[0]); a++) {
		size_t nl = strlen(algs[a].name);
		if (len != nl + 1 + algs[a].bytes * 3 - 1 || memcmp(s, algs[a].name, nl) != 0 ||
		    s[nl] != ' ')
			continue;
		const char *h = s + nl + 1;
		for (size_t i = 0; i < algs[a].bytes * 3 - 1; i++) {
			char c = h[i];
			bool hex = (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F') ||
			           (c >= 'a' && c <= 'f');
			if (i % 3 == 2 ? c != ':' : !hex)
				return 0;
		}
		return 1;
	}
	return 0;
}

static const char *pp_sig_check_join(struct pp_sig_msg *m)
{
	json_t *room = json_object_get(m->root, "room");
	json_t *token = json_object_get(m->root, "token");
	json_t *fp = json_object_get(m->root, "fingerprint");

	if (!json_is_string(room) ||
	    !pp_name_valid(json_string_value(room), json_string_length(room)))
		return "\"room\" must be 1..64 characters of [A-Za-z0-9._-]";
	if (!json_is_string(token) || json_string_length(token) == 0)
		return "\"token\" must be a non-empty string";
	if (json_string_length(token) > PP_JWT_MAX)
		return "\"token\" is too long";
	if (fp && !json_is_null(fp)) {
		if (!json_is_string(fp) ||
		    !pp_fingerprint_valid(json_string_value(fp), json_string_length(fp)))
			return "\"fingerprint\" must look like \"sha-256 AB:CD:...\"";
		m->fingerprint = json_string_value(fp);
	}
	m->room = json_string_value(room);
	m->token = json_string_value(token);
	m->token_len = json_string_length(token);
	return NULL;
}

static const char *pp_sig_check_to(struct pp_sig_msg *m)
{
	json_t *to = json_object_get(m->root, "to");
	if (!json_is_string(to) || json_string_length(to) != PP_PEER_ID_LEN)
		return "\"to\" must be a peer_id (32 hex characters)";
	m->to = json_string_value(to);
	if (!pp_peer_id_valid(m->to, PP_PEER_ID_LEN))
		return "\"to\" must be a peer_id (32 hex characters)";
	return NULL;
}

static const char *pp_sig_check_sdp(struct pp_sig_msg *m)
{
	json_t *sdp = json_object_get(m->root, "sdp");
	if (!json_is_object(sdp))
		return "\"sdp\" must be an object {type, sdp}";
	json_t *type = json_object_get(sdp, "type");
	json_t *text = json_object_get(sdp, "sdp");
	if (!json_is_string(type) || (strcmp(json_string_value(type), "offer") != 0 &&
	                              strcmp(json_string_value(type), "answer") != 0))
		return "\"sdp.type\" must be \"offer\" or \"answer\"";
	if (!json_is_string(text) || json_string_length(text) == 0)
		return "\"sdp.sdp\" must be a non-empty string";
	return NULL;
}

static const char *pp_sig_check_ice(struct pp_sig_msg *m)
{
	json_t *c = json_object_get(m->root, "candidate");
	if (!c)
		return "\"candidate\" is required (null for end of candidates)";
	if (json_is_null(c))
		return NULL;
	if (!json_is_object(c))
		return "\"candidate\" must be an object or null";
	json_t *line = json_object_get(c, "candidate");
	json_t *mid = json_object_get(c, "sdpMid");
	json_t *idx = json_object_get(c, "sdpMLineIndex");
	if (!json_is_string(line))
		return "\"candidate.candidate\" must be a string";
	if (mid && !json_is_null(mid) && !json_is_string(mid))
		return "\"candidate.sdpMid\" must be a string or null";
	if (idx && !json_is_null(idx) &&
	    (!json_is_integer(idx) || json_integer_value(idx) < 0 || json_integer_value(idx) > 65535))
		return "\"candidate.sdpMLineIndex\" must be an integer 0..65535 or null";
	return NULL;
}

int pp_sig_parse(const char *text, size_t len, struct pp_sig_msg *out,
                 const char **why, const char **ref)
{
	const char *reason = NULL;
	json_error_t jerr;

	memset(out, 0, sizeof(*out));
	*ref = NULL;
	if (!pp_json_nesting_ok(text, len, PP_SIG_NESTING_MAX)) {
		*why = "JSON nested too deeply";
		return PP_ERR_INVALID;
	}
	out->root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!out->root) {
		*why = "not valid JSON (or a duplicate key)";
		return PP_ERR_INVALID;
	}
	if (!json_is_object(out->root)) {
		reason = "a message must be a JSON object";
		goto fail;
	}
	json_t *type = json_object_get(out->root, "type");
	if (!json_is_string(type)) {
		reason = "\"type\" must be a string";
		goto fail;
	}
	size_t t;
	for (t = 0; t < sizeof(pp_sig_names) / sizeof(pp_sig_names[0]); t++)
		if (strcmp(json_string_value(type), pp_sig_names[t]) == 0)
			break;
	if (t == sizeof(pp_sig_names) / sizeof(pp_sig_names[0])) {
		reason = "unknown message type";
		goto fail;
	}
	out->type = (enum pp_sig_type)t;
	*ref = pp_sig_names[t];

	const char *key = NULL;
	switch (out->type) {
	case PP_SIG_JOIN_ROOM:
		reason = pp_sig_check_join(out);
		break;
	case PP_SIG_SEND_SDP:
		if (!(reason = pp_sig_check_to(out)))
			reason = pp_sig_check_sdp(out);
		key = "sdp";
		break;
	case PP_SIG_SEND_ICE:
		if (!(reason = pp_sig_check_to(out)))
			reason = pp_sig_check_ice(out);
		key = "candidate";
		break;
	case PP_SIG_LEAVE_ROOM:
		break;
	}
	if (reason)
		goto fail;
	if (key && pp_json_member_span(text, len, key, &out->payload_off, &out->payload_len) < 0) {
		reason = "cannot locate the payload";
		goto fail;
	}
	return 0;
fail:
	*why = reason;
	pp_sig_msg_clear(out);
	return PP_ERR_INVALID;
}

const char *pp_sig_peek_type(const char *text, size_t len)
{
	size_t off, vlen;
	if (pp_json_member_span(text, len, "type", &off, &vlen) < 0 || vlen < 2 || text[off] != '"')
		return NULL;
	for (size_t t = 0; t < sizeof(pp_sig_names) / sizeof(pp_sig_names[0]); t++)
		if (vlen == strlen(pp_sig_names[t]) + 2 && memcmp(text + off + 1, pp_sig_names[t], vlen - 2) == 0)
			return pp_sig_names[t];
	return NULL;
}

void pp_sig_msg_clear(struct pp_sig_msg *m)
{
	json_decref(m->root);
	memset(m, 0, sizeof(*m));
}
