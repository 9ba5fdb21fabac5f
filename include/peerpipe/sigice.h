/* SPDX-License-Identifier: Apache-2.0 */
/* The ice_servers of a JOINED message (sigclient.h's normalized
 * RTCIceServer array) as pp_ice_server entries for a peer connection.
 * The set keeps a reference to the JSON, which owns the strings. */
#ifndef PEERPIPE_SIGICE_H
#define PEERPIPE_SIGICE_H

#include "peerpipe/rtc/ice.h"

#include <jansson.h>

struct pp_ice_server_set {
	json_t *json;
	struct pp_ice_server v[PP_ICE_SERVERS_MAX];
	const char *urls[PP_ICE_SERVERS_MAX][PP_ICE_URLS_MAX];
	size_t n;
};

/* Replaces the set's content with servers (NULL or not an array: empty).
 * Entries without a string URL are skipped; at most PP_ICE_SERVERS_MAX
 * servers and PP_ICE_URLS_MAX URLs each are kept. */
void pp_ice_server_set_take(struct pp_ice_server_set *set, json_t *servers);
void pp_ice_server_set_clear(struct pp_ice_server_set *set);

#endif
