/* SPDX-License-Identifier: Apache-2.0 */
/* Server -> peer messages (signaling.md §3), parsed strictly and with
 * limits. Unknown types and unknown fields are ignored (extensions); a
 * malformed known message is refused as a whole, except single entries of
 * JOINED's lists, which are skipped so one bad roster entry cannot keep a
 * peer from joining. */
#include "peerpipe/sigclient.h"

#include "peerpipe/error.h"

#include <stdlib.h>
#include <string.h>

#define PP_SIGCLIENT_NESTING_MAX 32

static const struct {
	const char *name;
	enum pp_sigclient_msg_type type;
} pp_sigclient_types[] = {
	{ "JOINED", PP_SIGCLIENT_MSG_JOINED },
	{ "NEW_PEER", PP_SIGCLIENT_MSG_NEW_PEER },
	{ "FORWARD_SDP", PP_SIGCLIENT_MSG_FORWARD_SDP },
	{ "FORWARD_ICE", PP_SIGCLIENT_MSG_FORWARD_ICE },
	{ "PEER_LEFT", PP_SIGCLIENT_MSG_PEER_LEFT },
	{ "ERROR", PP_SIGCLIENT_MSG_ERROR },
};


/* A string member without embedded NUL, 1..max bytes (min 0 allowed). */
static const char *pp_sigclient_str(json_t *obj, const char *key, size_t min, size_t max)
{
	json_t *v = json_object_get(obj, key);
	if (!json_is_string(v))
		return NULL;
	const char *s = json_string_value(v);
	size_t len = json_string_length(v);
	if (len < min || len > max || strlen(s) != len)
		return NULL;
	return s;
}

static const char *pp_sigclient_id(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);
	if (!json_is_string(v) || !pp_peer_id_valid(json_string_value(v), json_string_length(v)))
		return NULL;
	return json_string_value(v);
}

static int pp_sigclient_peer_parse(json_t *o, struct pp_sigclient_peer *p)
{
	const char *id = pp_sigclient_id(o, "peer_id");
	const char *name = pp_sigclient_str(o, "name", 1, PP_NAME_MAX);
	const char *role = pp_sigclient_str(o, "role", 1, 16);

	if (!json_is_object(o) || !id || !name || !pp_name_valid(name, strlen(name)) || !role ||
	    pp_role_parse(role, &p->role) < 0)
		return PP_ERR_INVALID;
	memcpy(p->peer_id, id, PP_PEER_ID_LEN + 1);
	memcpy(p->name, name, strlen(name) + 1);
	/* informational only: a malformed one is dropped, not fatal */
	const char *fp = pp_sigclient_str(o, "fingerprint", 1, PP_FINGERPRINT_MAX);
	if (fp && pp_fingerprint_valid(fp, strlen(fp)))
		memcpy(p->fingerprint, fp, strlen(fp) + 1);
	else
		p->fingerprint[0] = '\0';
	return 0;
}

static bool pp_sigclient_url_ok(json_t *u)
{
	if (!json_is_string(u))
		return false;
	size_t len = json_string_length(u);
	const char *s = json_string_value(u);
	if (len == 0 || len > PP_SIGCLIENT_URL_MAX || strlen(s) != len)
		return false;
	return strncmp(s, "stun:", 5) == 0 || strncmp(s, "stuns:", 6) == 0 ||
	       strncmp(s, "turn:", 5) == 0 || strncmp(s, "turns:", 6) == 0;
}

/* One RTCIceServer -> {"urls":[...], "username"?, "credential"?}, or NULL. */
static json_t *pp_sigclient_ice_server(json_t *o)
{
	json_t *urls = json_object_get(o, "urls");
	json_t *out = NULL, *list = NULL;

	if (!json_is_object(o))
		return NULL;
	if (!(list = json_array()))
		return NULL;
	if (json_is_string(urls)) {
		if (!pp_sigclient_url_ok(urls) || json_array_append(list, urls) < 0)
			goto out;
	} else if (json_is_array(urls) && json_array_size(urls) >= 1 &&
	           json_array_size(urls) <= PP_SIGCLIENT_ICE_URLS_MAX) {
		size_t i;
		json_t *u;
		json_array_foreach(urls, i, u)
			if (!pp_sigclient_url_ok(u) || json_array_append(list, u) < 0)
				goto out;
	} else {
		goto out;
	}
	json_t *user = json_object_get(o, "username");
	json_t *cred = json_object_get(o, "credential");
	if ((user && !pp_sigclient_str(o, "username", 0, PP_SIGCLIENT_CRED_MAX)) ||
	    (cred && !pp_sigclient_str(o, "credential", 0, PP_SIGCLIENT_CRED_MAX)))
		goto out;
	if (!(out = json_object()))
		goto out;
	/* json_object_set_new() takes the reference even when it fails */
	int rc = json_object_set_new(out, "urls", list);
	list = NULL; /* transferred */
	if (rc < 0 || (user && json_object_set(out, "username", user) < 0) ||
	    (cred && json_object_set(out, "credential", cred) < 0)) {
		json_decref(out);
		out = NULL;
	}
out:
	json_decref(list);
	return out;
}

/* JOINED.limits, an optional extension: {"rate": n, "burst": n}, each an
 * integer 1..1000000 (what peerpipe-signal's configuration allows). Absent
 * or malformed: both 0, and the client keeps the defaults. */
static void pp_sigclient_parse_limits(struct pp_sigclient_msg *m, json_t *limits)
{
	json_t *rate = json_object_get(limits, "rate"), *burst = json_object_get(limits, "burst");

	if (!json_is_integer(rate) || !json_is_integer(burst) ||
	    json_integer_value(rate) < 1 || json_integer_value(rate) > 1000000 ||
	    json_integer_value(burst) < 1 || json_integer_value(burst) > 1000000)
		return;
	m->limit_rate = (uint32_t)json_integer_value(rate);
	m->limit_burst = (uint32_t)json_integer_value(burst);
}

static const char *pp_sigclient_parse_joined(struct pp_sigclient_msg *m)
{
	json_t *peers = json_object_get(m->root, "peers");
	json_t *ice = json_object_get(m->root, "ice_servers");
	size_t i;
	json_t *v;

	m->room = pp_sigclient_str(m->root, "room", 1, PP_NAME_MAX);
	if (!m->room || !pp_name_valid(m->room, strlen(m->room)))
		return "JOINED: \"room\" is not a room name";
	if (!(m->peer_id = pp_sigclient_id(m->root, "peer_id")))
		return "JOINED: \"peer_id\" is not 32 lowercase hex characters";
	if (!json_is_array(peers))
		return "JOINED: \"peers\" must be an array";
	if (json_array_size(peers) > PP_SIGCLIENT_PEERS_MAX)
		return "JOINED: too many peers";
	if (ice && !json_is_null(ice) &&
	    (!json_is_array(ice) || json_array_size(ice) > PP_SIGCLIENT_ICE_SERVERS_MAX))
		return "JOINED: \"ice_servers\" must be an array of at most 32 entries";
	if (json_array_size(peers) &&
	    !(m->peers = calloc(json_array_size(peers), sizeof(*m->peers))))
		return "out of memory";
	json_array_foreach(peers, i, v) {
		struct pp_sigclient_peer *p = &m->peers[m->n_peers];
		if (pp_sigclient_peer_parse(v, p) < 0 || strcmp(p->peer_id, m->peer_id) == 0)
			m->n_skipped++;
		else
			m->n_peers++;
	}
	pp_sigclient_parse_limits(m, json_object_get(m->root, "limits"));
	if (!(m->ice_servers = json_array()))
		return "out of memory";
	json_array_foreach(ice, i, v) {
		json_t *s = pp_sigclient_ice_server(v);
		if (!s)
			m->n_skipped++;
		else if (json_array_append_new(m->ice_servers, s) < 0)
			return "out of memory";
	}
	return NULL;
}

static const char *pp_sigclient_parse_sdp(struct pp_sigclient_msg *m)
{
	json_t *sdp = json_object_get(m->root, "sdp");
	if (!(m->from = pp_sigclient_id(m->root, "from")))
		return "FORWARD_SDP: \"from\" is not a peer_id";
	if (!json_is_object(sdp))
		return "FORWARD_SDP: \"sdp\" must be an object";
	m->sdp_type = pp_sigclient_str(sdp, "type", 5, 6);
	if (!m->sdp_type || (strcmp(m->sdp_type, "offer") != 0 && strcmp(m->sdp_type, "answer") != 0))
		return "FORWARD_SDP: \"sdp.type\" must be offer or answer";
	if (!(m->sdp = pp_sigclient_str(sdp, "sdp", 1, SIZE_MAX)))
		return "FORWARD_SDP: \"sdp.sdp\" must be a non-empty string without NUL";
	return NULL;
}

static const char *pp_sigclient_parse_ice(struct pp_sigclient_msg *m)
{
	json_t *c = json_object_get(m->root, "candidate");
	if (!(m->from = pp_sigclient_id(m->root, "from")))
		return "FORWARD_ICE: \"from\" is not a peer_id";
	if (json_is_null(c))
		return NULL;
	if (!json_is_object(c))
		return "FORWARD_ICE: \"candidate\" must be an object or null";
	m->has_candidate = true;
	if (!(m->ice.candidate = pp_sigclient_str(c, "candidate", 0, PP_SIGCLIENT_CANDIDATE_MAX)))
		return "FORWARD_ICE: \"candidate.candidate\" must be a string";
	json_t *mid = json_object_get(c, "sdpMid");
	json_t *idx = json_object_get(c, "sdpMLineIndex");
	m->ice.sdp_mid = NULL;
	m->ice.sdp_mline_index = -1;
	if (mid && !json_is_null(mid) &&
	    !(m->ice.sdp_mid = pp_sigclient_str(c, "sdpMid", 0, PP_SIGCLIENT_MID_MAX)))
		return "FORWARD_ICE: \"candidate.sdpMid\" must be a string or null";
	if (idx && !json_is_null(idx)) {
		if (!json_is_integer(idx) || json_integer_value(idx) < 0 ||
		    json_integer_value(idx) > 65535)
			return "FORWARD_ICE: \"candidate.sdpMLineIndex\" must be 0..65535 or null";
		m->ice.sdp_mline_index = (int)json_integer_value(idx);
	}
	return NULL;
}

static bool pp_sigclient_code_ok(const char *s)
{
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || *s == '_' || (*s >= '0' && *s <= '9')))
			return false;
	return true;
}

static const char *pp_sigclient_parse_error(struct pp_sigclient_msg *m)
{
	json_t *msg = json_object_get(m->root, "message");
	json_t *ref = json_object_get(m->root, "ref");

	m->code = pp_sigclient_str(m->root, "code", 1, PP_SIGCLIENT_CODE_MAX);
	if (!m->code || !pp_sigclient_code_ok(m->code))
		return "ERROR: \"code\" must be a short [a-z_] string";
	if (msg && !json_is_null(msg) && !(m->message = pp_sigclient_str(m->root, "message", 0, 4096)))
		return "ERROR: \"message\" must be a string";
	if (ref && !json_is_null(ref) && !(m->ref = pp_sigclient_str(m->root, "ref", 1, 64)))
		return "ERROR: \"ref\" must be a string or null";
	return NULL;
}

static const char *pp_sigclient_parse_body(struct pp_sigclient_msg *m)
{
	switch (m->type) {
	case PP_SIGCLIENT_MSG_JOINED:
		return pp_sigclient_parse_joined(m);
	case PP_SIGCLIENT_MSG_NEW_PEER:
		if (!(m->peers = calloc(1, sizeof(*m->peers))))
			return "out of memory";
		if (pp_sigclient_peer_parse(json_object_get(m->root, "peer"), m->peers) < 0)
			return "NEW_PEER: \"peer\" is not a valid peer object";
		m->n_peers = 1;
		return NULL;
	case PP_SIGCLIENT_MSG_FORWARD_SDP:
		return pp_sigclient_parse_sdp(m);
	case PP_SIGCLIENT_MSG_FORWARD_ICE:
		return pp_sigclient_parse_ice(m);
	case PP_SIGCLIENT_MSG_PEER_LEFT:
		if (!(m->peer_id = pp_sigclient_id(m->root, "peer_id")))
			return "PEER_LEFT: \"peer_id\" is not a peer_id";
		return NULL;
	case PP_SIGCLIENT_MSG_ERROR:
		return pp_sigclient_parse_error(m);
	case PP_SIGCLIENT_MSG_UNKNOWN:
		break;
	}
	return NULL;
}

int pp_sigclient_msg_parse(const char *text, size_t len, const struct pp_sigclient_limits *lim,
                           struct pp_sigclient_msg *out, const char **why)
{
	const char *reason = NULL;
	int rc = PP_ERR_INVALID;
	size_t hard = lim->max_joined_size > lim->max_message_size ? lim->max_joined_size
	                                                           : lim->max_message_size;

	memset(out, 0, sizeof(*out));
	if (len > hard) {
		reason = "message larger than the limit";
		rc = PP_ERR_TOO_BIG;
		goto out;
	}
	if (!pp_json_nesting_ok(text, len, PP_SIGCLIENT_NESTING_MAX)) {
		reason = "JSON nested too deeply";
		goto out;
	}
	out->root = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
	if (!out->root) {
		reason = "not valid JSON (or a duplicate key)";
		goto out;
	}
	if (!json_is_object(out->root)) {
		reason = "a message must be a JSON object";
		goto out;
	}
	json_t *type = json_object_get(out->root, "type");
	if (!json_is_string(type) || strlen(json_string_value(type)) != json_string_length(type)) {
		reason = "\"type\" must be a string";
		goto out;
	}
	out->type_name = json_string_value(type);
	for (size_t t = 0; t < sizeof(pp_sigclient_types) / sizeof(pp_sigclient_types[0]); t++)
		if (strcmp(out->type_name, pp_sigclient_types[t].name) == 0)
			out->type = pp_sigclient_types[t].type;
	if (out->type != PP_SIGCLIENT_MSG_JOINED && len > lim->max_message_size) {
		reason = "message larger than the limit";
		rc = PP_ERR_TOO_BIG;
		goto out;
	}
	if ((reason = pp_sigclient_parse_body(out)))
		goto out;
	rc = 0;
out:
	if (rc < 0) {
		*why = reason;
		pp_sigclient_msg_clear(out);
	}
	return rc;
}

void pp_sigclient_msg_clear(struct pp_sigclient_msg *m)
{
	json_decref(m->ice_servers);
	json_decref(m->root);
	free(m->peers);
	memset(m, 0, sizeof(*m));
}
