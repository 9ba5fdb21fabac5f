/* SPDX-License-Identifier: Apache-2.0 */
/* peerpipe-rtc-echo: a data-channel echo peer for interop tests.
 *
 * Joins a signaling room (signaling.md), follows the offer rule (an
 * existing member offers on NEW_PEER, a newcomer answers), runs one
 * pp_peer per remote peer with the pins given, echoes every message on
 * every channel back on the same channel with the same kind, opens its own
 * channels on request, and prints one JSON object per event on stdout for
 * the harness. Library logs go to stderr. SIGTERM/SIGINT close every peer
 * connection, leave the room and exit 0.
 *
 * Events ("event" names; every object also has "t_ms" since start, and
 * "peer" where one is concerned):
 *   ready {fingerprint, pid}      signaling {state, why, detail}
 *   joined {peer_id, peers, ice_servers}   new_peer {name, role, fingerprint}
 *   sdp_sent / sdp_received {type, result, dtls_role}
 *   local_candidate / remote_candidate {type, address, port, mdns, end}
 *   ice_selected {local, remote, transport}   mdns {resolved: false, line}
 *   state {state}   connected {dtls_role, remote_fingerprint, offerer}
 *   channel_opening / channel_open {label, id, protocol, origin}
 *   message {label, id, kind: text|binary, size}
 *   channel_closed {label, id, messages, bytes, echoes_waited, low_events}
 *   echo_failed / open_failed / send_failed {reason}
 *   failed {reason}   closed {reason}   peer_left   peer_dropped {reason}
 *   signaling_error {code, message, ref}   fatal {reason}   stopping   exit {code} */
#include "rtc_echo.h"

#include "peerpipe/error.h"
#include "peerpipe/jwt.h"
#include "peerpipe/rtc/identity.h"
#include "peerpipe/secret.h"

#include <getopt.h>
#include <glib-unix.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define ECHO_TOKEN_MAX 8192
#define ECHO_SECRET_MIN 32

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: peerpipe-rtc-echo --url ws[s]://HOST:PORT[/v1/ws] --room ROOM\n"
	        "         (--token-file FILE | --secret-file FILE --role gateway|desktop --name NAME)\n"
	        "         (--pin 'sha-256 AB:..' ... | --allow-unpinned)\n"
	        "         [--local-address IP]... [--open-channel LABEL]... [--identity-dir DIR]\n"
	        "         [--insecure-ws] [--ca-file FILE] [--ice-from-joined] [--log-level L]\n"
	        "Echoes every data-channel message back; one JSON event per line on stdout.\n");
}

struct echo_opts {
	const char *url, *room, *token_file, *secret_file, *role, *name, *identity_dir;
	const char *ca_file, *log_level;
	bool insecure_ws;
	GPtrArray *pins, *addrs, *labels;
};

/* --- ICE servers from JOINED ------------------------------------------------- */

static void echo_take_ice_servers(struct echo_app *app, json_t *servers)
{
	if (app->use_joined_ice && json_is_array(servers))
		pp_ice_server_set_take(&app->ice, servers);
}

/* --- signaling callbacks ---------------------------------------------------- */

static void echo_sig_state(void *user, enum pp_sigclient_state st, enum pp_sigclient_why why,
                           const char *detail)
{
	struct echo_app *app = user;

	echo_emit("signaling", json_pack("{s:s, s:s, s:s}", "state", pp_sigclient_state_name(st),
	                                 "why", pp_sigclient_why_name(why), "detail",
	                                 detail ? detail : ""));
	if (st == PP_SIGCLIENT_FATAL && !app->stopping) {
		echo_emit("fatal", json_pack("{s:s}", "reason", "signaling refused us"));
		app->exit_code = 1;
		g_main_loop_quit(app->loop);
	}
}

static void echo_sig_joined(void *user, const char *peer_id, const struct pp_sigclient_peer *peers,
                            size_t n_peers, json_t *ice_servers)
{
	struct echo_app *app = user;
	json_t *list = json_array();

	for (size_t i = 0; i < n_peers; i++)
		json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:s}", "peer_id",
		                                      peers[i].peer_id, "name", peers[i].name, "role",
		                                      pp_role_name(peers[i].role), "fingerprint",
		                                      peers[i].fingerprint));
	echo_emit("joined", json_pack("{s:s, s:o, s:O}", "peer_id", peer_id, "peers", list,
	                              "ice_servers", ice_servers ? ice_servers : json_null()));
	echo_take_ice_servers(app, ice_servers);
	/* we are the newcomer towards everyone listed: they offer */
}

static void echo_sig_new_peer(void *user, const struct pp_sigclient_peer *peer)
{
	struct echo_app *app = user;
	struct echo_peer *old = g_hash_table_lookup(app->peers, peer->peer_id);

	echo_emit("new_peer", json_pack("{s:s, s:s, s:s, s:s}", "peer", peer->peer_id, "name",
	                                peer->name, "role", pp_role_name(peer->role), "fingerprint",
	                                peer->fingerprint));
	if (app->stopping)
		return;
	if (old)
		g_hash_table_remove(app->peers, peer->peer_id);
	echo_peer_new(app, peer->peer_id, true); /* existing member: we offer */
}

static void echo_sig_sdp(void *user, const char *from, const char *type, const char *sdp)
{
	struct echo_app *app = user;
	struct echo_peer *p = g_hash_table_lookup(app->peers, from);

	if (app->stopping)
		return;
	if (!p && strcmp(type, "offer") == 0)
		p = echo_peer_new(app, from, false);
	if (!p) {
		echo_emit("sdp_ignored", json_pack("{s:s, s:s, s:s}", "peer", from, "type", type,
		                                   "reason", "answer from a peer we did not offer to"));
		return;
	}
	echo_peer_on_sdp(p, type, sdp);
}

static void echo_sig_ice(void *user, const char *from, const struct pp_sigclient_ice *cand)
{
	struct echo_app *app = user;
	struct echo_peer *p = g_hash_table_lookup(app->peers, from);

	if (app->stopping)
		return;
	/* candidates may come before the offer: the peer keeps them */
	if (!p)
		p = echo_peer_new(app, from, false);
	if (p)
		echo_peer_on_ice(p, cand);
}

static void echo_sig_peer_left(void *user, const char *peer_id)
{
	struct echo_app *app = user;
	struct echo_peer *p = g_hash_table_lookup(app->peers, peer_id);

	echo_emit("peer_left", json_pack("{s:s}", "peer", peer_id));
	/* a P2P path that is up does not depend on signaling: keep it */
	if (p && p->state != PP_PEER_CONNECTED)
		echo_peer_drop(p, "left the room while not connected");
}

static void echo_sig_error(void *user, const char *code, const char *message, const char *ref)
{
	(void)user;
	echo_emit("signaling_error", json_pack("{s:s, s:s, s:s}", "code", code, "message",
	                                       message ? message : "", "ref", ref ? ref : ""));
}

static const struct pp_sigclient_callbacks echo_sig_cb = {
	.on_state = echo_sig_state,
	.on_joined = echo_sig_joined,
	.on_new_peer = echo_sig_new_peer,
	.on_sdp = echo_sig_sdp,
	.on_ice = echo_sig_ice,
	.on_peer_left = echo_sig_peer_left,
	.on_error = echo_sig_error,
};

/* --- stop ------------------------------------------------------------------------ */

static gboolean echo_quit(gpointer data)
{
	struct echo_app *app = data;

	g_main_loop_quit(app->loop);
	return G_SOURCE_REMOVE;
}

static gboolean echo_on_signal(gpointer data)
{
	struct echo_app *app = data;
	GHashTableIter it;
	gpointer v;

	if (app->stopping) {
		g_main_loop_quit(app->loop);
		return G_SOURCE_CONTINUE;
	}
	app->stopping = true;
	echo_emit("stopping", NULL);
	g_hash_table_iter_init(&it, app->peers);
	while (g_hash_table_iter_next(&it, NULL, &v))
		echo_peer_drop(v, "stopping");
	if (app->sig && pp_sigclient_get_state(app->sig) == PP_SIGCLIENT_JOINED)
		pp_sigclient_leave(app->sig);
	/* the loop ends when the last peer is freed (orderly close done), or
	 * after the grace; short when there is none, for LEAVE_ROOM to go out */
	g_timeout_add(g_hash_table_size(app->peers) ? ECHO_CLOSE_GRACE_MS + 500 : 300, echo_quit, app);
	return G_SOURCE_CONTINUE;
}

/* --- options ---------------------------------------------------------------------- */

static char *echo_read_token(const char *path)
{
	struct pp_secret s = { 0 };
	int rc = pp_secret_read_file(path, 1, &s, NULL);
	char *tok;

	if (rc < 0) {
		fprintf(stderr, "peerpipe-rtc-echo: %s: %s\n", path, pp_strerror(rc));
		return NULL;
	}
	tok = strndup((const char *)s.data, s.len); /* free()d like pp_jwt_sign's */
	pp_secret_free(&s);
	if (tok)
		g_strstrip(tok);
	return tok;
}

static char *echo_mint_token(const struct echo_opts *o)
{
	struct pp_jwt_claims c = { 0 };
	struct pp_secret s = { 0 };
	char *tok = NULL;
	int rc;

	if (!o->role || !o->name || pp_role_parse(o->role, &c.role) < 0 ||
	    !pp_name_valid(o->name, strlen(o->name))) {
		fprintf(stderr, "peerpipe-rtc-echo: --secret-file needs --role gateway|desktop and --name\n");
		return NULL;
	}
	rc = pp_secret_read_file(o->secret_file, ECHO_SECRET_MIN, &s, NULL);
	if (rc < 0) {
		fprintf(stderr, "peerpipe-rtc-echo: %s: %s\n", o->secret_file, pp_strerror(rc));
		return NULL;
	}
	g_strlcpy(c.sub, o->name, sizeof(c.sub));
	g_strlcpy(c.room, o->room, sizeof(c.room));
	c.iat = (int64_t)time(NULL);
	c.exp = c.iat + 3600;
	rc = pp_jwt_sign(s.data, s.len, &c, &tok);
	pp_secret_free(&s);
	if (rc < 0) {
		fprintf(stderr, "peerpipe-rtc-echo: cannot sign a token: %s\n", pp_strerror(rc));
		return NULL;
	}
	return tok;
}

static int echo_parse_args(int argc, char **argv, struct echo_opts *o, struct echo_app *app)
{
	static const struct option opts[] = {
		{ "url", required_argument, NULL, 'u' },
		{ "room", required_argument, NULL, 'r' },
		{ "token-file", required_argument, NULL, 'T' },
		{ "secret-file", required_argument, NULL, 's' },
		{ "role", required_argument, NULL, 'R' },
		{ "name", required_argument, NULL, 'n' },
		{ "pin", required_argument, NULL, 'p' },
		{ "allow-unpinned", no_argument, NULL, 'A' },
		{ "local-address", required_argument, NULL, 'l' },
		{ "open-channel", required_argument, NULL, 'o' },
		{ "identity-dir", required_argument, NULL, 'i' },
		{ "insecure-ws", no_argument, NULL, 'k' },
		{ "ca-file", required_argument, NULL, 'c' },
		{ "ice-from-joined", no_argument, NULL, 'J' },
		{ "log-level", required_argument, NULL, 'L' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int opt;

	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 'u': o->url = optarg; break;
		case 'r': o->room = optarg; break;
		case 'T': o->token_file = optarg; break;
		case 's': o->secret_file = optarg; break;
		case 'R': o->role = optarg; break;
		case 'n': o->name = optarg; break;
		case 'p': g_ptr_array_add(o->pins, optarg); break;
		case 'A': app->allow_unpinned = true; break;
		case 'l': g_ptr_array_add(o->addrs, g_strdup(optarg)); break;
		case 'o': g_ptr_array_add(o->labels, g_strdup(optarg)); break;
		case 'i': o->identity_dir = optarg; break;
		case 'k': o->insecure_ws = true; break;
		case 'c': o->ca_file = optarg; break;
		case 'J': app->use_joined_ice = true; break;
		case 'L': o->log_level = optarg; break;
		case 'h': usage(stdout); exit(0);
		default: return -1;
		}
	}
	if (optind != argc || !o->url || !o->room || (!o->token_file == !o->secret_file)) {
		fprintf(stderr, "peerpipe-rtc-echo: need --url, --room and one of --token-file, --secret-file\n");
		return -1;
	}
	if (!o->pins->len && !app->allow_unpinned) {
		fprintf(stderr, "peerpipe-rtc-echo: give --pin (repeatable) or --allow-unpinned\n");
		return -1;
	}
	app->pins = g_new0(struct pp_fingerprint, o->pins->len ? o->pins->len : 1);
	for (guint i = 0; i < o->pins->len; i++) {
		const char *pin = g_ptr_array_index(o->pins, i);
		if (pp_fingerprint_parse(pin, strlen(pin), &app->pins[i]) < 0 ||
		    !pp_fingerprint_pinnable(&app->pins[i])) {
			fprintf(stderr, "peerpipe-rtc-echo: --pin '%s' is not 'sha-256 AB:CD:...'\n", pin);
			return -1;
		}
	}
	app->n_pins = o->pins->len;
	g_ptr_array_add(o->addrs, NULL);
	app->local_addresses = (char **)g_ptr_array_free(o->addrs, o->addrs->len <= 1);
	g_ptr_array_add(o->labels, NULL);
	app->open_labels = (char **)g_ptr_array_free(o->labels, FALSE);
	o->addrs = o->labels = NULL;
	return 0;
}

int main(int argc, char **argv)
{
	struct echo_app app = { 0 };
	struct echo_opts o = { 0 };
	enum pp_log_level level = PP_LOG_INFO;
	const char *why = NULL;
	char *token = NULL;
	int rc;

	o.pins = g_ptr_array_new();
	o.addrs = g_ptr_array_new();
	o.labels = g_ptr_array_new();
	if (echo_parse_args(argc, argv, &o, &app) < 0) {
		usage(stderr);
		return 2;
	}
	if (o.log_level && pp_log_level_parse(o.log_level, &level) < 0) {
		fprintf(stderr, "peerpipe-rtc-echo: --log-level error|warn|info|debug\n");
		return 2;
	}
	pp_log_setup("peerpipe-rtc-echo", level, PP_LOG_TEXT);
	pp_log_set_sink(echo_log_sink, NULL);

	token = o.token_file ? echo_read_token(o.token_file) : echo_mint_token(&o);
	if (!token)
		return 1;
	rc = o.identity_dir ? pp_identity_load_or_create(o.identity_dir, &app.identity)
	                    : pp_identity_new_ephemeral(&app.identity);
	if (rc < 0) {
		fprintf(stderr, "peerpipe-rtc-echo: identity: %s\n", pp_strerror(rc));
		return 1;
	}

	app.ctx = g_main_context_default();
	app.loop = g_main_loop_new(app.ctx, FALSE);
	app.peers = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, echo_peer_destroy);
	struct pp_sigclient_config sc = {
		.url = o.url,
		.token = token,
		.room = o.room,
		.fingerprint = pp_identity_fingerprint_str(app.identity),
		.ca_file = o.ca_file,
		.allow_insecure_ws = o.insecure_ws,
		.tls_errors_fatal = true,
	};
	if (pp_sigclient_config_check(&sc, &why) < 0) {
		fprintf(stderr, "peerpipe-rtc-echo: signaling: %s\n", why ? why : "bad configuration");
		return 2;
	}
	app.sig = pp_sigclient_new(NULL, &sc, &echo_sig_cb, &app);
	OPENSSL_cleanse(token, strlen(token));
	free(token);
	if (!app.sig)
		return 1;
	echo_emit("ready", json_pack("{s:s, s:i}", "fingerprint",
	                             pp_identity_fingerprint_str(app.identity), "pid", (int)getpid()));
	g_unix_signal_add(SIGTERM, echo_on_signal, &app);
	g_unix_signal_add(SIGINT, echo_on_signal, &app);

	g_main_loop_run(app.loop);

	g_hash_table_destroy(app.peers);
	pp_sigclient_free(app.sig);
	/* let libsoup finish the close handshake it started */
	for (int i = 0; i < 20 && g_main_context_iteration(app.ctx, FALSE); i++)
		;
	echo_emit("exit", json_pack("{s:i}", "code", app.exit_code));
	pp_ice_server_set_clear(&app.ice);
	pp_identity_free(app.identity);
	g_strfreev(app.local_addresses);
	g_strfreev(app.open_labels);
	g_free(app.pins);
	g_ptr_array_free(o.pins, TRUE);
	g_main_loop_unref(app.loop);
	return app.exit_code;
}
