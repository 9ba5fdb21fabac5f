/* SPDX-License-Identifier: Apache-2.0 */
/* Control and service-stream messages: a refused input has a reason and
 * leaves the struct empty; an accepted one is rebuilt by our builders,
 * which must succeed (it passed every limit), and parses back equal. */
#include "fuzz.h"

#include "peerpipe/error.h"
#include "peerpipe/tunnel/ctrl.h"

#include <stdlib.h>
#include <string.h>

static char *rebuild(const struct pp_ctrl_msg *m)
{
	switch (m->type) {
	case PP_CTRL_HELLO:
		return pp_ctrl_build_hello(m->role, m->agent, m->formats, m->version, m->max_datagram);
	case PP_CTRL_SERVICES:
		return pp_ctrl_build_services(m->services, m->n_services);
	case PP_CTRL_ALERT:
		return pp_ctrl_build_alert(m->stream, m->signature_id, m->signature, m->action);
	case PP_CTRL_PING:
		return pp_ctrl_build_ping(m->t);
	case PP_CTRL_PONG:
		return pp_ctrl_build_pong(m->t);
	case PP_CTRL_BYE:
		return pp_ctrl_build_bye(m->reason);
	case PP_CTRL_DENIED:
		return pp_ctrl_build_denied(m->reason);
	case PP_CTRL_FAILED:
		return pp_ctrl_build_failed(m->reason);
	case PP_CTRL_CONNECTED:
		return pp_ctrl_build_connected();
	case PP_CTRL_EOF:
		return pp_ctrl_build_eof();
	default: /* UNKNOWN, GOST_KEY: nothing of ours to build */
		return NULL;
	}
}

static bool str_eq(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static bool same(const struct pp_ctrl_msg *a, const struct pp_ctrl_msg *b)
{
	if (a->type != b->type || a->role != b->role || a->formats != b->formats ||
	    a->n_services != b->n_services || a->signature_id != b->signature_id ||
	    a->action != b->action || a->t != b->t || !str_eq(a->version, b->version) ||
	    !str_eq(a->agent, b->agent) || !str_eq(a->stream, b->stream) ||
	    !str_eq(a->signature, b->signature) || !str_eq(a->action_name, b->action_name) ||
	    !str_eq(a->reason, b->reason))
		return false;
	for (size_t i = 0; i < a->n_services; i++)
		if (!str_eq(a->services[i].name, b->services[i].name) ||
		    !str_eq(a->services[i].proto, b->services[i].proto) ||
		    !str_eq(a->services[i].description, b->services[i].description))
			return false;
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pp_ctrl_msg m, back;
	const char *why = NULL;

	int rc = pp_ctrl_parse((const char *)data, size, &m, &why);
	if (rc < 0) {
		CHECK(rc == PP_ERR_INVALID || rc == PP_ERR_TOO_BIG || rc == PP_ERR_NOMEM);
		CHECK(why && m.type == PP_CTRL_UNKNOWN && !m.services && !m.version);
		pp_ctrl_msg_clear(&m);
		return 0;
	}
	char *text = rebuild(&m);
	bool rebuildable = m.type != PP_CTRL_UNKNOWN && m.type != PP_CTRL_GOST_KEY &&
	                   !(m.type == PP_CTRL_ALERT && m.action == PP_CTRL_ACTION_OTHER);
	CHECK(!!text == rebuildable);
	if (text) {
		CHECK(pp_ctrl_parse(text, strlen(text), &back, &why) == 0);
		CHECK(same(&m, &back));
		pp_ctrl_msg_clear(&back);
		free(text);
	}
	pp_ctrl_msg_clear(&m);
	return 0;
}
