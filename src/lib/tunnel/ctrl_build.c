/* SPDX-License-Identifier: Apache-2.0 */
/* Builders of control-channel and service-stream messages. Each result is
 * parsed back before it is returned: what we send passes our own parser,
 * and so the limits any peer applies. */
#include "ctrl_priv.h"

#include "peerpipe/error.h"
#include "peerpipe/tunnel/ctrl.h"
#include "peerpipe/tunnel/frame.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* s (NULL: "") cut to at most max bytes on a character boundary; NULL if
 * it is not UTF-8. */
static json_t *pp_ctrl_text(const char *s, size_t max)
{
	size_t len = s ? pp_ctrl_cut(s, strlen(s), max) : 0;

	return json_stringn(s ? s : "", len);
}

/* Adds v to o (both consumed); NULL if either is NULL or adding fails. */
static json_t *pp_ctrl_put(json_t *o, const char *key, json_t *v)
{
	if (json_object_set_new(o, key, v) < 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *pp_ctrl_new(const char *type)
{
	return pp_ctrl_put(json_object(), "type", json_string(type));
}

/* Dumps o (consumed) and checks the text parses back. */
static char *pp_ctrl_finish(json_t *o)
{
	char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	struct pp_ctrl_msg m;
	const char *why;

	json_decref(o);
	memset(&m, 0, sizeof(m));
	if (text && pp_ctrl_parse(text, strlen(text), &m, &why) < 0) {
		free(text);
		text = NULL;
	}
	pp_ctrl_msg_clear(&m);
	return text;
}

static json_t *pp_ctrl_formats(unsigned formats)
{
	json_t *a = json_array();

	/* Preference order, as in the spec's example. */
	if (a && (formats & PP_FRAME_FMT_ZSTD) && json_array_append_new(a, json_string("zstd")) < 0)
		goto fail;
	if (a && (formats & PP_FRAME_FMT_LZ4) && json_array_append_new(a, json_string("lz4")) < 0)
		goto fail;
	return a;
fail:
	json_decref(a);
	return NULL;
}

char *pp_ctrl_build_hello(enum pp_role role, const char *agent, unsigned formats,
                          const char *version, uint32_t max_datagram)
{
	if ((role != PP_ROLE_GATEWAY && role != PP_ROLE_DESKTOP) ||
	    (max_datagram && (max_datagram < PP_CTRL_MAX_DATAGRAM_MIN ||
	                      max_datagram > PP_CTRL_MAX_DATAGRAM_MAX)))
		return NULL;
	json_t *o = pp_ctrl_new("HELLO");
	o = pp_ctrl_put(o, "version", json_string(version ? version : "1.0"));
	o = pp_ctrl_put(o, "agent", pp_ctrl_text(agent, PP_CTRL_AGENT_MAX));
	o = pp_ctrl_put(o, "role", json_string(pp_role_name(role)));
	o = pp_ctrl_put(o, "compression", pp_ctrl_formats(formats));
	if (max_datagram)
		o = pp_ctrl_put(o, "max_datagram", json_integer(max_datagram));
	return pp_ctrl_finish(o);
}

static json_t *pp_ctrl_service_obj(const struct pp_ctrl_service *s)
{
	json_t *o = pp_ctrl_put(json_object(), "name", json_string(s->name ? s->name : ""));
	o = pp_ctrl_put(o, "proto", json_string(s->proto ? s->proto : "tcp"));
	return pp_ctrl_put(o, "description",
	                   pp_ctrl_text(s->description, PP_CTRL_DESCRIPTION_MAX));
}

char *pp_ctrl_build_services(const struct pp_ctrl_service *services, size_t n)
{
	if (n > PP_CTRL_SERVICES_MAX)
		return NULL;
	json_t *list = json_array();
	for (size_t i = 0; list && i < n; i++) {
		if (json_array_append_new(list, pp_ctrl_service_obj(&services[i])) < 0) {
			json_decref(list);
			list = NULL;
		}
	}
	return pp_ctrl_finish(pp_ctrl_put(pp_ctrl_new("SERVICES"), "services", list));
}

char *pp_ctrl_build_services_fit(const struct pp_ctrl_service *services, size_t n, size_t *sent)
{
	size_t lo = 0, hi = n < PP_CTRL_SERVICES_MAX ? n : PP_CTRL_SERVICES_MAX;
	char *text = pp_ctrl_build_services(services, hi), *t;

	*sent = hi;
	if (text)
		return text;
	/* Too long for one message: the longest prefix that fits (the empty
	 * list always does), found in log2(256) builds. */
	if (!(text = pp_ctrl_build_services(services, 0)))
		return NULL;
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if ((t = pp_ctrl_build_services(services, mid))) {
			free(text);
			text = t;
			lo = mid;
		} else {
			hi = mid;
		}
	}
	*sent = lo;
	return text;
}

char *pp_ctrl_build_alert(const char *stream, uint32_t signature_id,
                          const char *signature, enum pp_ctrl_action action)
{
	const char *name = action == PP_CTRL_ACTION_STREAM_CLOSED ? "stream_closed"
	                   : action == PP_CTRL_ACTION_PEER_BANNED ? "peer_banned"
	                                                          : NULL;
	if (!name || !stream)
		return NULL;
	json_t *o = pp_ctrl_new("ALERT");
	o = pp_ctrl_put(o, "stream", json_string(stream));
	o = pp_ctrl_put(o, "signature_id", json_integer(signature_id));
	o = pp_ctrl_put(o, "signature", pp_ctrl_text(signature, PP_CTRL_SIGNATURE_MAX));
	o = pp_ctrl_put(o, "action", json_string(name));
	return pp_ctrl_finish(o);
}

char *pp_ctrl_build_ping(int64_t t)
{
	return pp_ctrl_finish(pp_ctrl_put(pp_ctrl_new("PING"), "t", json_integer(t)));
}

char *pp_ctrl_build_pong(int64_t t)
{
	return pp_ctrl_finish(pp_ctrl_put(pp_ctrl_new("PONG"), "t", json_integer(t)));
}

static char *pp_ctrl_build_reason(const char *type, const char *reason)
{
	return pp_ctrl_finish(pp_ctrl_put(pp_ctrl_new(type), "reason",
	                                  pp_ctrl_text(reason, PP_CTRL_REASON_MAX)));
}

char *pp_ctrl_build_bye(const char *reason)
{
	return pp_ctrl_build_reason("BYE", reason);
}

char *pp_ctrl_build_denied(const char *reason)
{
	return pp_ctrl_build_reason("DENIED", reason);
}

char *pp_ctrl_build_failed(const char *reason)
{
	return pp_ctrl_build_reason("FAILED", reason);
}

/* Sent on every stream: the text pp_ctrl_finish() would give, without
 * jansson's dump and parse back (test_ctrl checks they agree). */
char *pp_ctrl_build_connected(void)
{
	return strdup(PP_CTRL_TEXT_CONNECTED);
}

char *pp_ctrl_build_eof(void)
{
	return strdup(PP_CTRL_TEXT_EOF);
}
