/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz target: the signaling client's parser of server -> peer messages
 * (untrusted WebSocket text from the signaling server). */
#include "fuzz.h"

#include "peerpipe/error.h"
#include "peerpipe/sigclient.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void check_peer(const struct pp_sigclient_peer *p)
{
	enum pp_role r;
	if (!pp_peer_id_valid(p->peer_id, strlen(p->peer_id)) ||
	    !pp_name_valid(p->name, strlen(p->name)) ||
	    pp_role_parse(pp_role_name(p->role), &r) < 0 ||
	    (p->fingerprint[0] && !pp_fingerprint_valid(p->fingerprint, strlen(p->fingerprint))))
		__builtin_trap();
}

static void check_ice_servers(json_t *a)
{
	size_t i, j;
	json_t *s, *u;
	if (!json_is_array(a) || json_array_size(a) > PP_SIGCLIENT_ICE_SERVERS_MAX)
		__builtin_trap();
	json_array_foreach(a, i, s) {
		json_t *urls = json_object_get(s, "urls");
		if (!json_is_array(urls) || json_array_size(urls) == 0)
			__builtin_trap();
		json_array_foreach(urls, j, u)
			if (!json_is_string(u) || json_string_length(u) == 0)
				__builtin_trap();
	}
	char *t = json_dumps(a, JSON_COMPACT);
	if (!t)
		__builtin_trap();
	free(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* small limits so the size checks are reached as well */
	static const struct pp_sigclient_limits lim = { 2048, 8192 };
	struct pp_sigclient_msg m;
	const char *why = NULL;

	int rc = pp_sigclient_msg_parse((const char *)data, size, &lim, &m, &why);
	if (rc < 0) {
		if (!why || (rc != PP_ERR_INVALID && rc != PP_ERR_TOO_BIG))
			__builtin_trap();
		return 0;
	}
	if (!m.root || !m.type_name)
		__builtin_trap();
	if (m.type != PP_SIGCLIENT_MSG_JOINED && size > lim.max_message_size)
		__builtin_trap();
	switch (m.type) {
	case PP_SIGCLIENT_MSG_JOINED:
		if (!pp_peer_id_valid(m.peer_id, strlen(m.peer_id)) ||
		    !pp_name_valid(m.room, strlen(m.room)))
			__builtin_trap();
		for (size_t i = 0; i < m.n_peers; i++) {
			check_peer(&m.peers[i]);
			if (strcmp(m.peers[i].peer_id, m.peer_id) == 0)
				__builtin_trap();
		}
		check_ice_servers(m.ice_servers);
		break;
	case PP_SIGCLIENT_MSG_NEW_PEER:
		if (m.n_peers != 1)
			__builtin_trap();
		check_peer(m.peers);
		break;
	case PP_SIGCLIENT_MSG_FORWARD_SDP:
		if (!pp_peer_id_valid(m.from, strlen(m.from)) || !m.sdp[0] ||
		    (strcmp(m.sdp_type, "offer") != 0 && strcmp(m.sdp_type, "answer") != 0))
			__builtin_trap();
		break;
	case PP_SIGCLIENT_MSG_FORWARD_ICE:
		if (!pp_peer_id_valid(m.from, strlen(m.from)))
			__builtin_trap();
		if (m.has_candidate && (strlen(m.ice.candidate) > PP_SIGCLIENT_CANDIDATE_MAX ||
		                        m.ice.sdp_mline_index < -1 || m.ice.sdp_mline_index > 65535 ||
		                        (m.ice.sdp_mid && strlen(m.ice.sdp_mid) > PP_SIGCLIENT_MID_MAX)))
			__builtin_trap();
		break;
	case PP_SIGCLIENT_MSG_PEER_LEFT:
		if (!pp_peer_id_valid(m.peer_id, strlen(m.peer_id)))
			__builtin_trap();
		break;
	case PP_SIGCLIENT_MSG_ERROR:
		if (!m.code[0] || strlen(m.code) > PP_SIGCLIENT_CODE_MAX)
			__builtin_trap();
		break;
	case PP_SIGCLIENT_MSG_UNKNOWN:
		break;
	}
	pp_sigclient_msg_clear(&m);
	return 0;
}
