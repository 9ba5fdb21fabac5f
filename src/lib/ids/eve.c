/* SPDX-License-Identifier: Apache-2.0 */
/* Parser of Suricata 7 EVE records (see include/peerpipe/ids/eve.h); the
 * line splitter is in eve_reader.c. */
#include "peerpipe/ids/eve.h"

#include "peerpipe/error.h"
#include "peerpipe/json.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <string.h>
#include <sys/socket.h>

static const char pp_eve_nomem[] = "out of memory";

static const char *const pp_eve_type_names[] = {
	[PP_EVE_OTHER] = "other", [PP_EVE_ALERT] = "alert", [PP_EVE_DROP] = "drop",
	[PP_EVE_FLOW] = "flow",   [PP_EVE_STATS] = "stats",
};

static const char *const pp_eve_action_names[] = {
	[PP_EVE_ACTION_NONE] = "none",       [PP_EVE_ACTION_ALLOWED] = "allowed",
	[PP_EVE_ACTION_BLOCKED] = "blocked", [PP_EVE_ACTION_OTHER] = "other",
};

#define PP_EVE_N(a) (sizeof(a) / sizeof((a)[0]))

const char *pp_eve_type_name(enum pp_eve_type t)
{
	return (size_t)t < PP_EVE_N(pp_eve_type_names) ? pp_eve_type_names[t] : "other";
}

const char *pp_eve_action_name(enum pp_eve_action a)
{
	return (size_t)a < PP_EVE_N(pp_eve_action_names) ? pp_eve_action_names[a] : "other";
}

enum pp_eve_text_kind {
	PP_EVE_TEXT_ANY,       /* any UTF-8 (jansson has checked it, no NUL) */
	PP_EVE_TEXT_TOKEN,     /* 1.. of [A-Za-z0-9._-] */
	PP_EVE_TEXT_PRINTABLE, /* 1.. of ASCII 0x21..0x7e */
};

static bool pp_eve_text_ok(const char *s, size_t len, enum pp_eve_text_kind kind)
{
	if (kind == PP_EVE_TEXT_ANY)
		return true;
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		bool ok = kind == PP_EVE_TEXT_PRINTABLE
		                  ? c > 0x20 && c < 0x7f
		                  : (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		                            (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		                            c == '-';
		if (!ok)
			return false;
	}
	return true;
}

/* Copies string member key of o into dst (cap = limit + 1). Absent: ""
 * unless required. Returns NULL or the reason bad. */
static const char *pp_eve_text(json_t *o, const char *key, char *dst, size_t cap,
                               enum pp_eve_text_kind kind, bool required, const char *bad)
{
	json_t *v = json_object_get(o, key);

	dst[0] = '\0';
	if (!v)
		return required ? bad : NULL;
	size_t len = json_string_length(v);
	if (!json_is_string(v) || len >= cap ||
	    !pp_eve_text_ok(json_string_value(v), len, kind))
		return bad;
	memcpy(dst, json_string_value(v), len + 1);
	return NULL;
}

/* Integer member key of o in 0..max into *dst; absent: *dst untouched,
 * *present false (present may be NULL). */
static const char *pp_eve_uint(json_t *o, const char *key, uint64_t max, bool required,
                               uint64_t *dst, bool *present, const char *bad)
{
	json_t *v = json_object_get(o, key);

	if (present)
		*present = v != NULL;
	if (!v)
		return required ? bad : NULL;
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    (uint64_t)json_integer_value(v) > max)
		return bad;
	*dst = (uint64_t)json_integer_value(v);
	return NULL;
}

static const char *pp_eve_u32(json_t *o, const char *key, uint32_t max, bool required,
                              uint32_t *dst, const char *bad)
{
	uint64_t v = 0;
	const char *r = pp_eve_uint(o, key, max, required, &v, NULL, bad);
	*dst = (uint32_t)v;
	return r;
}

/* "src_ip"/"src_port" style members of o (a record or its "flow") into ep. */
static const char *pp_eve_endpoint(json_t *o, const char *ip_key, const char *port_key,
                                   struct pp_eve_endpoint *ep, const char *bad_ip,
                                   const char *bad_port)
{
	json_t *ip = json_object_get(o, ip_key);
	uint64_t port = 0;

	if (ip) {
		const char *s = json_string_value(ip);
		if (!json_is_string(ip) || json_string_length(ip) > PP_EVE_IP_MAX)
			return bad_ip;
		if (inet_pton(AF_INET, s, &ep->addr.v4) == 1)
			ep->family = AF_INET;
		else if (inet_pton(AF_INET6, s, &ep->addr.v6) == 1)
			ep->family = AF_INET6;
		else
			return bad_ip;
		if (!inet_ntop(ep->family, &ep->addr, ep->ip, sizeof(ep->ip)))
			return bad_ip; /* cannot happen: the buffer fits any address */
		ep->has_ip = true;
	}
	const char *r = pp_eve_uint(o, port_key, 65535, false, &port, &ep->has_port, bad_port);
	ep->port = (uint16_t)port;
	return r;
}

static const char *pp_eve_endpoints(json_t *o, struct pp_eve_endpoint *src,
                                    struct pp_eve_endpoint *dest, bool in_flow)
{
	const char *r;

	if (in_flow) {
		if ((r = pp_eve_endpoint(o, "src_ip", "src_port", src,
		                         "\"flow\".\"src_ip\" must be an IPv4 or IPv6 address",
		                         "\"flow\".\"src_port\" must be an integer 0..65535")))
			return r;
		return pp_eve_endpoint(o, "dest_ip", "dest_port", dest,
		                       "\"flow\".\"dest_ip\" must be an IPv4 or IPv6 address",
		                       "\"flow\".\"dest_port\" must be an integer 0..65535");
	}
	if ((r = pp_eve_endpoint(o, "src_ip", "src_port", src,
	                         "\"src_ip\" must be an IPv4 or IPv6 address",
	                         "\"src_port\" must be an integer 0..65535")))
		return r;
	return pp_eve_endpoint(o, "dest_ip", "dest_port", dest,
	                       "\"dest_ip\" must be an IPv4 or IPv6 address",
	                       "\"dest_port\" must be an integer 0..65535");
}

static enum pp_eve_action pp_eve_action_parse(const char *s)
{
	if (strcmp(s, "allowed") == 0)
		return PP_EVE_ACTION_ALLOWED;
	if (strcmp(s, "blocked") == 0)
		return PP_EVE_ACTION_BLOCKED;
	return PP_EVE_ACTION_OTHER;
}

static const char *pp_eve_alert(json_t *a, struct pp_eve_alert *al)
{
	json_t *action = json_object_get(a, "action");
	const char *r;

	if (!json_is_object(a))
		return "\"alert\" must be an object";
	if (!json_is_string(action))
		return "\"alert\".\"action\" must be a string";
	if ((r = pp_eve_u32(a, "signature_id", UINT32_MAX, true, &al->signature_id,
	                    "\"alert\".\"signature_id\" must be an integer 0..4294967295")) ||
	    (r = pp_eve_u32(a, "gid", UINT32_MAX, false, &al->gid,
	                    "\"alert\".\"gid\" must be an integer 0..4294967295")) ||
	    (r = pp_eve_u32(a, "rev", UINT32_MAX, false, &al->rev,
	                    "\"alert\".\"rev\" must be an integer 0..4294967295")) ||
	    (r = pp_eve_u32(a, "severity", 255, false, &al->severity,
	                    "\"alert\".\"severity\" must be an integer 0..255")) ||
	    (r = pp_eve_text(a, "signature", al->signature, sizeof(al->signature),
	                     PP_EVE_TEXT_ANY, false,
	                     "\"alert\".\"signature\" must be a string of at most 512 bytes")) ||
	    (r = pp_eve_text(a, "category", al->category, sizeof(al->category), PP_EVE_TEXT_ANY,
	                     false, "\"alert\".\"category\" must be a string of at most 256 bytes")))
		return r;
	al->action = pp_eve_action_parse(json_string_value(action));
	return NULL;
}

static enum pp_eve_type pp_eve_type_parse(const char *s)
{
	for (size_t t = PP_EVE_ALERT; t < PP_EVE_N(pp_eve_type_names); t++)
		if (strcmp(s, pp_eve_type_names[t]) == 0)
			return (enum pp_eve_type)t;
	return PP_EVE_OTHER;
}

static const char *pp_eve_direction(json_t *o, struct pp_eve *e)
{
	json_t *v = json_object_get(o, "direction");

	if (!v)
		return NULL;
	if (!json_is_string(v))
		return "\"direction\" must be a string";
	if (strcmp(json_string_value(v), "to_server") == 0)
		e->direction = PP_EVE_DIR_TO_SERVER;
	else if (strcmp(json_string_value(v), "to_client") == 0)
		e->direction = PP_EVE_DIR_TO_CLIENT;
	return NULL;
}

/* Fields every record may have. */
static const char *pp_eve_common(json_t *o, struct pp_eve *e)
{
	uint64_t id = 0;
	const char *r;

	if ((r = pp_eve_text(o, "event_type", e->event_type, sizeof(e->event_type),
	                     PP_EVE_TEXT_TOKEN, true,
	                     "\"event_type\" must be 1..32 characters of [A-Za-z0-9._-]")) ||
	    (r = pp_eve_text(o, "timestamp", e->timestamp, sizeof(e->timestamp),
	                     PP_EVE_TEXT_PRINTABLE, true,
	                     "\"timestamp\" must be 1..64 printable ASCII characters")) ||
	    (r = pp_eve_uint(o, "flow_id", INT64_MAX, false, &id, &e->has_flow_id,
	                     "\"flow_id\" must be a non-negative integer")) ||
	    (r = pp_eve_text(o, "proto", e->proto, sizeof(e->proto), PP_EVE_TEXT_TOKEN, false,
	                     "\"proto\" must be 1..16 characters of [A-Za-z0-9._-]")) ||
	    (r = pp_eve_text(o, "app_proto", e->app_proto, sizeof(e->app_proto),
	                     PP_EVE_TEXT_TOKEN, false,
	                     "\"app_proto\" must be 1..32 characters of [A-Za-z0-9._-]")) ||
	    (r = pp_eve_direction(o, e)) ||
	    (r = pp_eve_endpoints(o, &e->src, &e->dest, false)))
		return r;
	e->flow_id = id;
	return NULL;
}

static const char *pp_eve_fields(json_t *o, struct pp_eve *e)
{
	json_t *flow = json_object_get(o, "flow");
	json_t *alert = json_object_get(o, "alert");
	const char *r;

	if ((r = pp_eve_common(o, e)))
		return r;
	e->type = pp_eve_type_parse(e->event_type);
	if (flow) {
		if (!json_is_object(flow))
			return "\"flow\" must be an object";
		if ((r = pp_eve_endpoints(flow, &e->flow_src, &e->flow_dest, true)))
			return r;
	}
	if (e->type == PP_EVE_ALERT && !alert)
		return "an alert record must have an \"alert\" object";
	if (alert && (e->type == PP_EVE_ALERT || e->type == PP_EVE_DROP))
		return pp_eve_alert(alert, &e->alert);
	return NULL;
}

int pp_eve_parse(const char *line, size_t len, struct pp_eve *out, const char **why)
{
	const char *reason;
	json_error_t jerr;

	memset(out, 0, sizeof(*out));
	if (len > PP_EVE_LINE_MAX) {
		reason = "EVE record over 64 KiB";
		goto out;
	}
	/* Bound jansson's recursion before it starts. */
	if (!pp_json_nesting_ok(line, len, PP_EVE_NESTING_MAX)) {
		reason = "JSON nested too deeply";
		goto out;
	}
	json_t *root = json_loadb(line, len, 0, &jerr);
	if (!root) {
		reason = json_error_code(&jerr) == json_error_out_of_memory
		                 ? pp_eve_nomem
		                 : "not valid JSON (bad UTF-8, a NUL, or trailing data)";
		goto out;
	}
	reason = json_is_object(root) ? pp_eve_fields(root, out)
	                               : "an EVE record must be a JSON object";
	json_decref(root);
out:
	if (!reason)
		return 0;
	if (why)
		*why = reason;
	memset(out, 0, sizeof(*out));
	if (reason == pp_eve_nomem)
		return PP_ERR_NOMEM;
	return len > PP_EVE_LINE_MAX ? PP_ERR_TOO_BIG : PP_ERR_INVALID;
}

static bool pp_eve_full(const struct pp_eve_endpoint *ep)
{
	return ep->has_ip && ep->has_port;
}

bool pp_eve_initiator(const struct pp_eve *e, const struct pp_eve_endpoint **client,
                      const struct pp_eve_endpoint **server)
{
	const struct pp_eve_endpoint *c = NULL, *s = NULL;

	if (pp_eve_full(&e->flow_src) && pp_eve_full(&e->flow_dest)) {
		c = &e->flow_src;
		s = &e->flow_dest;
	} else if (e->type == PP_EVE_FLOW || e->direction == PP_EVE_DIR_TO_SERVER) {
		c = &e->src;
		s = &e->dest;
	} else if (e->direction == PP_EVE_DIR_TO_CLIENT) {
		c = &e->dest;
		s = &e->src;
	}
	if (!c || !pp_eve_full(c) || !pp_eve_full(s))
		return false;
	*client = c;
	*server = s;
	return true;
}
