/* SPDX-License-Identifier: Apache-2.0 */
/* JOINED.ice_servers: STUN URLs as configured, TURN URLs with TURN REST
 * credentials minted for the joining peer (coturn use-auth-secret). */
#include "server.h"

#include "peerpipe/error.h"
#include "peerpipe/turn_rest.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define SIG_TURN_SECRET_MIN 16

/* Splits a comma-separated list, trimming spaces; checks each scheme. */
static int sig_ice_urls(const char *list, const char *const *schemes, char ***out,
                        char *err, size_t errlen)
{
	*out = g_strsplit(list ? list : "", ",", -1);
	for (char **u = *out; *u; u++) {
		g_strstrip(*u);
		bool ok = false;
		for (const char *const *s = schemes; *s; s++)
			ok = ok || g_str_has_prefix(*u, *s);
		if (!ok || strlen(*u) < 6 || strpbrk(*u, "\"\\ ")) {
			snprintf(err, errlen, "ice: bad URL \"%s\" (expected %s...)", *u, schemes[0]);
			return PP_ERR_CONFIG;
		}
	}
	/* An empty list string yields one empty element: drop it. */
	if ((*out)[0] && !(*out)[0][0]) {
		g_strfreev(*out);
		*out = g_new0(char *, 1);
	}
	return 0;
}

int sig_ice_load(struct sig_server *srv, char *err, size_t errlen)
{
	static const char *const stun[] = { "stun:", "stuns:", NULL };
	static const char *const turn[] = { "turn:", "turns:", NULL };
	int rc;

	if ((rc = sig_ice_urls(srv->cfg.stun_urls, stun, &srv->stun_urls, err, errlen)) < 0 ||
	    (rc = sig_ice_urls(srv->cfg.turn_urls, turn, &srv->turn_urls, err, errlen)) < 0)
		return rc;
	if (srv->turn_urls[0] && !srv->cfg.turn_secret_file) {
		snprintf(err, errlen, "ice: turn_urls needs turn_secret_file");
		return PP_ERR_CONFIG;
	}
	if (srv->cfg.turn_secret_file)
		return sig_secret_load("ice.turn_secret_file", srv->cfg.turn_secret_file, SIG_TURN_SECRET_MIN,
		                       &srv->turn_secret, err, errlen);
	return 0;
}

static json_t *sig_url_array(char **urls)
{
	json_t *a = json_array();
	for (char **u = urls; a && *u; u++)
		json_array_append_new(a, json_string(*u));
	return a;
}

int sig_ice_servers(struct sig_server *srv, const struct sig_peer *p, void *json_obj)
{
	json_t *list = json_array();
	char user[PP_TURN_USER_MAX], cred[PP_TURN_CRED_MAX];

	if (!list)
		return PP_ERR_NOMEM;
	if (srv->stun_urls[0])
		json_array_append_new(list, json_pack("{s:o}", "urls", sig_url_array(srv->stun_urls)));
	if (srv->turn_urls[0]) {
		int64_t expiry = (int64_t)time(NULL) + srv->cfg.turn_ttl_ms / 1000;
		int rc = pp_turn_rest_credential(srv->turn_secret.data, srv->turn_secret.len, p->name,
		                                 expiry, user, cred);
		if (rc < 0) {
			json_decref(list);
			return rc;
		}
		json_array_append_new(list, json_pack("{s:o, s:s, s:s}", "urls",
		                                      sig_url_array(srv->turn_urls), "username", user,
		                                      "credential", cred));
	}
	return json_object_set_new(json_obj, "ice_servers", list) == 0 ? 0 : PP_ERR_NOMEM;
}
