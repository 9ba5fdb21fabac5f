/* SPDX-License-Identifier: Apache-2.0 */
/* See peerpipe/sigice.h. */
#include "peerpipe/sigice.h"

#include <string.h>

void pp_ice_server_set_clear(struct pp_ice_server_set *set)
{
	json_decref(set->json);
	memset(set, 0, sizeof(*set));
}

void pp_ice_server_set_take(struct pp_ice_server_set *set, json_t *servers)
{
	size_t i;
	json_t *s;

	pp_ice_server_set_clear(set);
	if (!json_is_array(servers))
		return;
	set->json = json_incref(servers);
	json_array_foreach(servers, i, s) {
		json_t *urls = json_object_get(s, "urls");
		struct pp_ice_server *is = &set->v[set->n];
		size_t j, n = 0;
		json_t *u;

		if (set->n >= PP_ICE_SERVERS_MAX)
			break;
		json_array_foreach(urls, j, u) {
			if (n < PP_ICE_URLS_MAX && json_is_string(u))
				set->urls[set->n][n++] = json_string_value(u);
		}
		if (!n)
			continue;
		is->urls = set->urls[set->n];
		is->n_urls = n;
		is->username = json_string_value(json_object_get(s, "username"));
		is->credential = json_string_value(json_object_get(s, "credential"));
		set->n++;
	}
}
