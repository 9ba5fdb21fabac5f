/* SPDX-License-Identifier: Apache-2.0 */
/* peerpipe connect / peerpipe services: options, identity, pin, token,
 * then the loop until SIGTERM/SIGINT (connect) or the service list
 * (services). */
#include "cli.h"
#include "connect.h"
#include "pins.h"

#include "peerpipe/error.h"
#include "peerpipe/fdlimit.h"
#include "peerpipe/jwt.h"
#include "peerpipe/log.h"
#include "peerpipe/secret.h"
#include "peerpipe/tunnel/frame.h"

#include <errno.h>
#include <getopt.h>
#include <glib-unix.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define CONN_TIMEOUT_MAX_S 3600 /* `services --timeout` */
#define CONN_TOKEN_MIN 16       /* bytes: shorter is no JWT */

struct conn_opts {
	const char *signal, *token, *token_file, *room, *gateway, *pin, *ca_file;
	const char *compression, *log_level;
	uint32_t max_datagram;   /* 0: the library's default (16384) */
	bool insecure_ws;
	unsigned timeout_s;
};

static void conn_usage(FILE *f, bool services)
{
	fprintf(f,
	        "usage: peerpipe [--config-dir DIR] %s --signal URL (--token JWT | --token-file FILE)\n"
	        "                --gateway NAME [--pin FINGERPRINT] [--room ROOM] [--ca-file FILE]\n"
	        "                [--insecure-ws] [--compression auto|off|lz4|zstd]%s\n"
	        "                [--max-datagram 1200..16384] [--log-level LEVEL]\n",
	        services ? "services" : "connect",
	        services ? " [--timeout SECONDS]" : "\n                [-L [BIND:]PORT:SERVICE]...");
}

/* A decimal number min..max, digits only (strtoul alone takes a sign,
 * spaces, and garbage after the digits). */
static int conn_number(const char *text, unsigned long min, unsigned long max, unsigned long *out)
{
	char *end;
	unsigned long v;

	if (!g_ascii_isdigit(text[0]))
		return PP_ERR_INVALID;
	errno = 0;
	v = strtoul(text, &end, 10);
	if (errno || *end || v < min || v > max)
		return PP_ERR_INVALID;
	*out = v;
	return 0;
}

static int conn_parse(int argc, char **argv, struct conn_opts *o, struct conn_app *app)
{
	static const struct option opts[] = {
		{ "signal", required_argument, NULL, 's' }, { "token", required_argument, NULL, 't' },
		{ "token-file", required_argument, NULL, 'T' }, { "room", required_argument, NULL, 'r' },
		{ "gateway", required_argument, NULL, 'g' }, { "pin", required_argument, NULL, 'p' },
		{ "ca-file", required_argument, NULL, 'C' }, { "insecure-ws", no_argument, NULL, 'I' },
		{ "compression", required_argument, NULL, 'z' }, { "log-level", required_argument, NULL, 'l' },
		{ "timeout", required_argument, NULL, 'w' }, { "help", no_argument, NULL, 'h' },
		{ "max-datagram", required_argument, NULL, 'm' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long v;
	int c;

	while ((c = getopt_long(argc, argv, "L:h", opts, NULL)) != -1) {
		switch (c) {
		case 's': o->signal = optarg; break;
		case 't': o->token = optarg; break;
		case 'T': o->token_file = optarg; break;
		case 'r': o->room = optarg; break;
		case 'g': o->gateway = optarg; break;
		case 'p': o->pin = optarg; break;
		case 'C': o->ca_file = optarg; break;
		case 'I': o->insecure_ws = true; break;
		case 'z': o->compression = optarg; break;
		case 'l': o->log_level = optarg; break;
		case 'm':
			if (conn_number(optarg, 1200, 16384, &v) < 0) {
				pp_cli_fail("--max-datagram: a number of bytes, 1200..16384");
				return 2;
			}
			o->max_datagram = (uint32_t)v;
			break;
		case 'w':
			if (!app->services_only) {
				/* connect waits for its tunnel as long as it runs */
				pp_cli_fail("--timeout is an option of `peerpipe services`, not of connect");
				return 2;
			}
			if (conn_number(optarg, 1, CONN_TIMEOUT_MAX_S, &v) < 0) {
				pp_cli_fail("--timeout: a whole number of seconds, 1..%d", CONN_TIMEOUT_MAX_S);
				return 2;
			}
			o->timeout_s = (unsigned)v;
			break;
		case 'L':
			if (app->services_only || app->n_fwd >= CONN_FORWARDS_MAX ||
			    conn_forward_parse(optarg, &app->fwd[app->n_fwd]) < 0) {
				pp_cli_fail("bad forward '%s' (want [BIND:]PORT:SERVICE, an IPv4 bind "
				            "address)", optarg);
				return 2;
			}
			app->n_fwd++;
			break;
		case 'h': conn_usage(stdout, app->services_only); exit(0);
		default: conn_usage(stderr, app->services_only); return 2;
		}
	}
	if (optind != argc || !o->signal || !o->gateway || !(o->token || o->token_file)) {
		conn_usage(stderr, app->services_only);
		return 2;
	}
	return 0;
}

static int conn_policy(const char *name, int *out)
{
	static const char *const names[] = { "auto", "off", "lz4", "zstd" };
	static const int policies[] = { PP_FRAME_POLICY_AUTO, PP_FRAME_POLICY_OFF, PP_FRAME_POLICY_LZ4,
		                        PP_FRAME_POLICY_ZSTD_STREAM };

	for (size_t i = 0; i < G_N_ELEMENTS(names); i++)
		if (strcmp(name, names[i]) == 0) {
			*out = policies[i];
			return 0;
		}
	return PP_ERR_INVALID;
}

/* The gateway's fingerprint: --pin, else the pins file. */
static int conn_load_pin(const struct conn_opts *o, struct conn_app *app)
{
	struct pp_pins pins = { 0 };
	char err[512], *path;
	int rc;

	if (o->pin) {
		if (pp_pins_parse_fp(o->pin, &app->pin) < 0)
			return pp_cli_fail("--pin: not a sha-256 fingerprint: %s", o->pin);
		return 0;
	}
	path = g_build_filename(pp_cli_config_dir(), PP_PINS_FILE, NULL);
	rc = pp_pins_load(path, &pins, err, sizeof(err));
	if (rc == 0 && pp_pins_lookup(&pins, o->gateway, &app->pin) < 0)
		rc = pp_cli_fail("gateway '%s' is not pinned: run `peerpipe pin add %s FINGERPRINT` "
		                 "with the fingerprint its operator gave you", o->gateway, o->gateway);
	else if (rc < 0)
		rc = pp_cli_fail("%s", err);
	pp_pins_free(&pins);
	g_free(path);
	return rc;
}

/* Why the token file cannot be used, for the user. */
static const char *conn_token_error(const char *path, int rc)
{
	struct stat st;

	switch (rc) {
	case -ENOENT:
		return "no such file";
	case -ELOOP:
		return "it is a symbolic link, which is not followed (give the file itself)";
	case PP_ERR_TOO_BIG:
		return "over 4096 bytes: not a token";
	case PP_ERR_INVALID:
		if (stat(path, &st) == 0 && !S_ISREG(st.st_mode))
			return "not a regular file";
		return "empty or shorter than 16 bytes: not a token";
	default:
		return pp_strerror(rc);
	}
}

/* --token, else --token-file's content. NULL after saying why. */
static char *conn_token(const struct conn_opts *o)
{
	struct pp_secret sec;
	struct stat st;
	int rc;

	if (o->token)
		return g_strdup(o->token);
	rc = pp_secret_read_file(o->token_file, CONN_TOKEN_MIN, &sec, NULL);
	if (rc < 0) {
		pp_cli_fail("cannot read the token from %s: %s", o->token_file,
		            conn_token_error(o->token_file, rc));
		return NULL;
	}
	/* Whoever can read the token can join the room in this user's name.
	 * A warning, as the gateway gives (docs/client.md). */
	if (stat(o->token_file, &st) == 0 && (st.st_mode & (S_IRGRP | S_IROTH)))
		pp_log(PP_LOG_WARN, NULL, "%s: the token file is readable by %s (chmod 600 it)",
		       o->token_file, st.st_mode & S_IROTH ? "other users" : "its group");
	char *t = g_strstrip(g_strndup((const char *)sec.data, sec.len));
	pp_secret_free(&sec);
	return t;
}

/* Each forwarded connection holds a socket: the soft open-file limit
 * (often 1024) goes up to the hard one, as the gateway's does. */
static void conn_raise_fd_limit(void)
{
	rlim_t now = 0;
	int rc = pp_fdlimit_raise(&now);

	if (rc < 0)
		pp_log(PP_LOG_WARN, NULL, "open files: cannot raise the limit to the hard one: %s",
		       pp_strerror(rc));
	else
		pp_log(PP_LOG_DEBUG, NULL, "open files: limit %llu", (unsigned long long)now);
}

static gboolean conn_on_term(gpointer data)
{
	struct conn_app *app = data;
	pp_loop_quit(app->loop);
	return G_SOURCE_CONTINUE;
}

static gboolean conn_timeout(gpointer data)
{
	struct conn_app *app = data;
	conn_say("no answer from the gateway in time");
	app->exit_code = 1;
	pp_loop_quit(app->loop);
	return G_SOURCE_REMOVE;
}

static int conn_start(struct conn_app *app, const struct conn_opts *o, char *token)
{
	char room[PP_NAME_MAX + 1];
	int policy = PP_FRAME_POLICY_AUTO;
	struct pp_tnode_config nc = {
		.sig = {
			.url = o->signal,
			.token = token,
			.room = o->room,
			.fingerprint = pp_identity_fingerprint_str(app->identity),
			.ca_file = o->ca_file,
			.allow_insecure_ws = o->insecure_ws,
		},
		.session = {
			.peer = { .identity = app->identity },
			.our_formats = PP_FRAME_FMT_ALL,
		},
		.max_links = 4,
		.redial = true,
	};

	if (o->compression && conn_policy(o->compression, &policy) < 0)
		return pp_cli_fail("--compression: auto, off, lz4 or zstd");
	/* Larger datagrams to a gateway on this host or an attached link
	 * (HELLO "max_datagram"); 1200: never. */
	nc.session.max_datagram = o->max_datagram;
	nc.session.compression = policy;
	/* Off means off both ways: HELLO lists no format, so the gateway
	 * sends raw too (tunnel.md §3: a side sends only what the other
	 * listed). */
	if (policy == PP_FRAME_POLICY_OFF)
		nc.session.our_formats = 0;
	if (!o->room) {
		if (pp_jwt_peek_room(token, room, sizeof(room)) < 0)
			return pp_cli_fail("the token names no room; give --room");
		nc.sig.room = room;
	}
	g_snprintf(app->agent, sizeof(app->agent), "peerpipe/%s", PEERPIPE_VERSION);
	nc.session.agent = app->agent;
	for (size_t i = 0; i < app->n_fwd; i++) {
		int rc = conn_forward_listen(app, &app->fwd[i]);
		if (rc < 0)
			return pp_cli_fail("cannot listen on %s:%u: %s", app->fwd[i].bind,
			                   app->fwd[i].port, pp_strerror(rc));
		conn_say("listening %s:%u -> %s", app->fwd[i].bind, app->fwd[i].port,
		         app->fwd[i].service);
	}
	/* Signaling is this process's only TLS peer: its CA alone is trusted,
	 * and the system store is never parsed (40 ms of the start). */
	if (o->ca_file && pp_sigclient_trust_default(o->ca_file) < 0)
		return pp_cli_fail("--ca-file %s cannot be loaded", o->ca_file);
	app->node = pp_tnode_new(app->ctx, &nc, &conn_node_cb, app);
	if (!app->node)
		return pp_cli_fail("bad signaling settings (see the log above)");
	return 0;
}

static int conn_run(int argc, char **argv, bool services_only)
{
	struct conn_app app = { .services_only = services_only };
	struct conn_opts o = { .timeout_s = 20 };
	enum pp_log_level level = PP_LOG_WARN;
	char *token = NULL;
	char *iddir = NULL;
	int rc;

	g_queue_init(&app.waiting);
	if ((rc = conn_parse(argc, argv, &o, &app)) != 0)
		return rc;
	if (o.log_level && pp_log_level_parse(o.log_level, &level) < 0)
		return pp_cli_fail("--log-level: error, warn, info or debug");
	pp_log_setup("peerpipe", level, PP_LOG_TEXT);
	signal(SIGPIPE, SIG_IGN);
	if ((rc = conn_load_pin(&o, &app)) != 0)
		return rc;
	if (!(token = conn_token(&o)))
		return 1;
	conn_raise_fd_limit();
	iddir = g_build_filename(pp_cli_config_dir(), "identity", NULL);
	rc = pp_identity_load_or_create(iddir, &app.identity);
	if (rc < 0) {
		rc = pp_cli_fail("identity in %s: %s", iddir, pp_strerror(rc));
		goto out;
	}
	app.gateway = o.gateway;
	app.ctx = g_main_context_default();
	app.loop = pp_loop_new(app.ctx);
	if ((rc = conn_start(&app, &o, token)) != 0)
		goto out;
	g_unix_signal_add(SIGTERM, conn_on_term, &app);
	g_unix_signal_add(SIGINT, conn_on_term, &app);
	if (services_only)
		g_timeout_add_seconds(o.timeout_s, conn_timeout, &app);
	pp_loop_run(app.loop);
	rc = app.exit_code;
	if (app.node && pp_tnode_shutdown(app.node, "client closing") > 0) {
		/* A moment for BYE and the orderly close to leave. */
		gint64 end = g_get_monotonic_time() + 500 * 1000;
		while (pp_tnode_link_count(app.node) > 0 && g_get_monotonic_time() < end)
			g_main_context_iteration(app.ctx, TRUE);
	}
out:
	if (app.nag)
		g_source_remove(app.nag);
	for (size_t i = 0; i < app.n_fwd; i++)
		conn_forward_close(&app.fwd[i]);
	conn_drop_waiting(&app);
	pp_tnode_free(app.node);
	pp_identity_free(app.identity);
	if (app.loop)
		pp_loop_free(app.loop);
	if (token) {
		explicit_bzero(token, strlen(token));
		g_free(token);
	}
	g_free(iddir);
	return rc;
}

int pp_cli_connect(int argc, char **argv)
{
	return conn_run(argc, argv, false);
}

int pp_cli_services(int argc, char **argv)
{
	return conn_run(argc, argv, true);
}
