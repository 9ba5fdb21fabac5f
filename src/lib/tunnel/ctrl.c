/* SPDX-License-Identifier: Apache-2.0 */
/* Parser of control-channel and service-stream messages (tunnel.md §3-4);
 * the builders are in ctrl_build.c. */
#include "peerpipe/tunnel/ctrl.h"
#include "ctrl_priv.h"

#include "peerpipe/error.h"
#include "peerpipe/json.h"
#include "peerpipe/tunnel/frame.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char pp_ctrl_nomem[] = "out of memory";

static const char *const pp_ctrl_names[] = {
	[PP_CTRL_UNKNOWN] = "UNKNOWN",     [PP_CTRL_HELLO] = "HELLO",
	[PP_CTRL_SERVICES] = "SERVICES",   [PP_CTRL_ALERT] = "ALERT",
	[PP_CTRL_PING] = "PING",           [PP_CTRL_PONG] = "PONG",
	[PP_CTRL_BYE] = "BYE",             [PP_CTRL_GOST_KEY] = "GOST_KEY",
	[PP_CTRL_CONNECTED] = "CONNECTED", [PP_CTRL_DENIED] = "DENIED",
	[PP_CTRL_FAILED] = "FAILED",       [PP_CTRL_EOF] = "EOF",
};

const char *pp_ctrl_type_name(enum pp_ctrl_type t)
{
	if ((size_t)t >= sizeof(pp_ctrl_names) / sizeof(pp_ctrl_names[0]))
		return "UNKNOWN";
	return pp_ctrl_names[t];
}

static bool pp_ctrl_token_ok(const char *s, size_t len, size_t max)
{
	if (len == 0 || len > max)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}

bool pp_tunnel_service_name_valid(const char *name)
{
	return name && pp_ctrl_token_ok(name, strlen(name), PP_CTRL_NAME_MAX);
}

enum pp_tunnel_version pp_ctrl_session_version(const char *ours, const char *theirs)
{
	const char *g = pp_tunnel_version_name(PP_TUNNEL_V1_1G);
	return ours && theirs && strcmp(ours, g) == 0 && strcmp(theirs, g) == 0
	               ? PP_TUNNEL_V1_1G
	               : PP_TUNNEL_V1_0;
}

const char *pp_tunnel_version_name(enum pp_tunnel_version v)
{
	return v == PP_TUNNEL_V1_1G ? "1.1-G" : "1.0";
}

/* Copies member key of o into *dst: absent -> def (NULL: required), not a
 * string or over max bytes -> bad. token: also [A-Za-z0-9._-], non-empty.
 * Returns NULL or the reason. */
static const char *pp_ctrl_str(json_t *o, const char *key, size_t max, bool token,
                               const char *def, const char *bad, char **dst)
{
	json_t *v = json_object_get(o, key);
	const char *s = def;
	if (v) {
		if (!json_is_string(v))
			return bad;
		s = json_string_value(v);
		size_t len = json_string_length(v);
		if (len > max || (token && !pp_ctrl_token_ok(s, len, max)))
			return bad;
	} else if (!def) {
		return bad;
	}
	*dst = strdup(s);
	return *dst ? NULL : pp_ctrl_nomem;
}

static const char *pp_ctrl_formats(json_t *list, unsigned *formats)
{
	size_t i;
	json_t *v;

	if (!list)
		return NULL;
	if (!json_is_array(list) || json_array_size(list) > PP_CTRL_COMPRESSION_MAX)
		return "\"compression\" must be an array of at most 8 strings";
	json_array_foreach(list, i, v) {
		if (!json_is_string(v))
			return "\"compression\" must be an array of at most 8 strings";
		if (strcmp(json_string_value(v), "zstd") == 0)
			*formats |= PP_FRAME_FMT_ZSTD;
		else if (strcmp(json_string_value(v), "lz4") == 0)
			*formats |= PP_FRAME_FMT_LZ4;
	}
	return NULL;
}

static const char *pp_ctrl_hello(json_t *o, struct pp_ctrl_msg *m)
{
	const char *r;
	json_t *role = json_object_get(o, "role");

	if ((r = pp_ctrl_str(o, "version", PP_CTRL_VERSION_MAX, true, NULL,
	                     "\"version\" must be 1..16 characters of [A-Za-z0-9._-]",
	                     &m->version)) ||
	    (r = pp_ctrl_str(o, "agent", PP_CTRL_AGENT_MAX, false, "",
	                     "\"agent\" must be a string of at most 128 bytes", &m->agent)))
		return r;
	if (!json_is_string(role) || pp_role_parse(json_string_value(role), &m->role) < 0)
		return "\"role\" must be \"gateway\" or \"desktop\"";
	if (json_object_get(o, "max_datagram")) {
		json_t *md = json_object_get(o, "max_datagram");
		if (!json_is_integer(md) || json_integer_value(md) < PP_CTRL_MAX_DATAGRAM_MIN ||
		    json_integer_value(md) > PP_CTRL_MAX_DATAGRAM_MAX)
			return "\"max_datagram\" must be an integer 1200..65507";
		m->max_datagram = (uint32_t)json_integer_value(md);
	}
	return pp_ctrl_formats(json_object_get(o, "compression"), &m->formats);
}

static const char *pp_ctrl_service(json_t *o, struct pp_ctrl_service *s)
{
	const char *r;

	if (!json_is_object(o))
		return "a service must be an object";
	if ((r = pp_ctrl_str(o, "name", PP_CTRL_NAME_MAX, true, NULL,
	                     "service \"name\" must be 1..64 characters of [A-Za-z0-9._-]",
	                     &s->name)) ||
	    (r = pp_ctrl_str(o, "proto", PP_CTRL_PROTO_MAX, true, "tcp",
	                     "service \"proto\" must be 1..16 characters of [A-Za-z0-9._-]",
	                     &s->proto)))
		return r;
	return pp_ctrl_str(o, "description", PP_CTRL_DESCRIPTION_MAX, false, "",
	                   "service \"description\" must be a string of at most 256 bytes",
	                   &s->description);
}

static const char *pp_ctrl_services(json_t *o, struct pp_ctrl_msg *m)
{
	json_t *list = json_object_get(o, "services");
	size_t n = json_array_size(list);

	if (!json_is_array(list) || n > PP_CTRL_SERVICES_MAX)
		return "\"services\" must be an array of at most 256 services";
	if (n && !(m->services = calloc(n, sizeof(*m->services))))
		return pp_ctrl_nomem;
	for (size_t i = 0; i < n; i++) {
		m->n_services = i + 1; /* so that clear frees a partial entry */
		const char *r = pp_ctrl_service(json_array_get(list, i), &m->services[i]);
		if (r)
			return r;
		for (size_t j = 0; j < i; j++)
			if (strcmp(m->services[j].name, m->services[i].name) == 0)
				return "duplicate service name";
	}
	return NULL;
}

static enum pp_ctrl_action pp_ctrl_action_parse(const char *s)
{
	if (strcmp(s, "stream_closed") == 0)
		return PP_CTRL_ACTION_STREAM_CLOSED;
	if (strcmp(s, "peer_banned") == 0)
		return PP_CTRL_ACTION_PEER_BANNED;
	return PP_CTRL_ACTION_OTHER;
}

static const char *pp_ctrl_alert(json_t *o, struct pp_ctrl_msg *m)
{
	json_t *id = json_object_get(o, "signature_id");
	json_t *action = json_object_get(o, "action");
	const char *r;

	if ((r = pp_ctrl_str(o, "stream", PP_CTRL_STREAM_MAX, false, NULL,
	                     "\"stream\" must be a string of at most 128 bytes", &m->stream)) ||
	    (r = pp_ctrl_str(o, "signature", PP_CTRL_SIGNATURE_MAX, false, "",
	                     "\"signature\" must be a string of at most 512 bytes",
	                     &m->signature)))
		return r;
	if (!json_is_integer(id) || json_integer_value(id) < 0 ||
	    json_integer_value(id) > UINT32_MAX)
		return "\"signature_id\" must be an integer 0..4294967295";
	m->signature_id = (uint32_t)json_integer_value(id);
	if (!json_is_string(action))
		return "\"action\" must be a string";
	m->action = pp_ctrl_action_parse(json_string_value(action));
	/* Kept to show, cut rather than refused: a future action with a
	 * longer name must not cost the session. */
	m->action_name = strndup(json_string_value(action),
	                         pp_ctrl_cut(json_string_value(action), json_string_length(action),
	                                     PP_CTRL_ACTION_MAX));
	return m->action_name ? NULL : pp_ctrl_nomem;
}

static const char *pp_ctrl_time(json_t *o, struct pp_ctrl_msg *m)
{
	json_t *t = json_object_get(o, "t");

	if (json_is_integer(t)) {
		m->t = json_integer_value(t);
		return NULL;
	}
	/* A browser may send performance.now(): keep its integer part. The
	 * bounds are exact doubles (+-2^63); INT64_MAX itself is not. */
	double d = json_is_real(t) ? json_real_value(t) : NAN;
	if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0))
		return "\"t\" must be a number";
	m->t = (int64_t)d;
	return NULL;
}

static const char *pp_ctrl_reason(json_t *o, struct pp_ctrl_msg *m)
{
	return pp_ctrl_str(o, "reason", PP_CTRL_REASON_MAX, false, "",
	                   "\"reason\" must be a string of at most 256 bytes", &m->reason);
}

static enum pp_ctrl_type pp_ctrl_type_parse(const char *s)
{
	for (size_t t = PP_CTRL_HELLO; t < sizeof(pp_ctrl_names) / sizeof(pp_ctrl_names[0]); t++)
		if (strcmp(s, pp_ctrl_names[t]) == 0)
			return (enum pp_ctrl_type)t;
	return PP_CTRL_UNKNOWN;
}

static const char *pp_ctrl_fields(json_t *o, struct pp_ctrl_msg *m)
{
	switch (m->type) {
	case PP_CTRL_HELLO:
		return pp_ctrl_hello(o, m);
	case PP_CTRL_SERVICES:
		return pp_ctrl_services(o, m);
	case PP_CTRL_ALERT:
		return pp_ctrl_alert(o, m);
	case PP_CTRL_PING:
	case PP_CTRL_PONG:
		return pp_ctrl_time(o, m);
	case PP_CTRL_BYE:
	case PP_CTRL_DENIED:
	case PP_CTRL_FAILED:
		return pp_ctrl_reason(o, m);
	default: /* UNKNOWN, GOST_KEY, CONNECTED, EOF: no fields we read */
		return NULL;
	}
}

int pp_ctrl_parse(const char *text, size_t len, struct pp_ctrl_msg *out,
                  const char **why)
{
	const char *reason;

	memset(out, 0, sizeof(*out));
	/* Every stream carries these two, in our builders' exact form. */
	if (len == sizeof(PP_CTRL_TEXT_EOF) - 1 && memcmp(text, PP_CTRL_TEXT_EOF, len) == 0) {
		out->type = PP_CTRL_EOF;
		return 0;
	}
	if (len == sizeof(PP_CTRL_TEXT_CONNECTED) - 1 &&
	    memcmp(text, PP_CTRL_TEXT_CONNECTED, len) == 0) {
		out->type = PP_CTRL_CONNECTED;
		return 0;
	}
	if (len > PP_CTRL_MSG_MAX) {
		*why = "control message over 64 KiB";
		return PP_ERR_TOO_BIG;
	}
	/* Bound jansson's recursion before it starts. */
	if (!pp_json_nesting_ok(text, len, PP_CTRL_NESTING_MAX)) {
		*why = "JSON nested too deeply";
		return PP_ERR_INVALID;
	}
	json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
	if (!root) {
		*why = "not valid JSON (bad UTF-8, a NUL or a duplicate key)";
		return PP_ERR_INVALID;
	}
	json_t *type = json_object_get(root, "type");
	if (!json_is_object(root) || !json_is_string(type)) {
		reason = "a message must be a JSON object with a string \"type\"";
	} else {
		out->type = pp_ctrl_type_parse(json_string_value(type));
		reason = pp_ctrl_fields(root, out);
	}
	json_decref(root);
	if (!reason)
		return 0;
	*why = reason;
	pp_ctrl_msg_clear(out);
	return reason == pp_ctrl_nomem ? PP_ERR_NOMEM : PP_ERR_INVALID;
}

void pp_ctrl_msg_clear(struct pp_ctrl_msg *m)
{
	for (size_t i = 0; i < m->n_services; i++) {
		free(m->services[i].name);
		free(m->services[i].proto);
		free(m->services[i].description);
	}
	free(m->services);
	free(m->version);
	free(m->agent);
	free(m->stream);
	free(m->signature);
	free(m->action_name);
	free(m->reason);
	memset(m, 0, sizeof(*m));
}
