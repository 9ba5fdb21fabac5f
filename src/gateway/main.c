/* SPDX-License-Identifier: Apache-2.0 */
/* peerpipe-gateway: command line, signals (TERM/INT stop, HUP reloads),
 * the main loop; the `bans` command is in cmd_bans.c. See docs/gateway.md. */
#include "bans.h"
#include "cmd_bans.h"
#include "gateway.h"
#include "mem_limit.h"

#include "peerpipe/error.h"
#include "peerpipe/jwt.h"
#include "peerpipe/log.h"
#include "peerpipe/loop.h"
#include "peerpipe/sigclient.h"

#include <errno.h>
#include <getopt.h>
#include <glib-unix.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define GW_DRAIN_MS 3000 /* BYE and orderly closes before exiting */

struct gw_main {
	struct gw gw;
	struct pp_loop *loop;
	const char *config_path;
	guint drain_timer;
	int exit_code;
	bool started;      /* gw_start returned: signals act */
	bool term_pending; /* ... or wait for it */
	bool hup_pending;
};

static void gw_usage(FILE *f)
{
	fprintf(f, "usage: peerpipe-gateway --config FILE [--check-config] [--log-level LEVEL]\n"
	           "                        [--log-format text|json]\n"
	           "       peerpipe-gateway --config FILE bans list [--json]\n"
	           "       peerpipe-gateway --config FILE bans lift NAME|FINGERPRINT|--all\n"
	           "       peerpipe-gateway --version\n");
}

static gboolean gw_drain_check(gpointer data)
{
	struct gw_main *m = data;

	if (pp_tnode_link_count(m->gw.node) == 0 || g_get_monotonic_time() < 0) {
		pp_loop_quit(m->loop);
		return G_SOURCE_REMOVE;
	}
	return G_SOURCE_CONTINUE;
}

static gboolean gw_drain_deadline(gpointer data)
{
	struct gw_main *m = data;

	pp_log(PP_LOG_WARN, NULL, "shutdown: %u sessions did not close in time",
	       pp_tnode_link_count(m->gw.node));
	pp_loop_quit(m->loop);
	return G_SOURCE_REMOVE;
}

static gboolean gw_on_term(gpointer data)
{
	struct gw_main *m = data;

	if (!m->started) {
		m->term_pending = true;
		return G_SOURCE_CONTINUE;
	}
	if (m->gw.stopping) {
		pp_loop_quit(m->loop);
		return G_SOURCE_CONTINUE;
	}
	pp_log(PP_LOG_INFO, NULL, "shutting down: closing %u sessions", pp_tnode_link_count(m->gw.node));
	gw_stop(&m->gw);
	g_timeout_add(50, gw_drain_check, m);
	m->drain_timer = g_timeout_add(GW_DRAIN_MS, gw_drain_deadline, m);
	return G_SOURCE_CONTINUE;
}

static gboolean gw_on_hup(gpointer data)
{
	struct gw_main *m = data;
	struct gw_config *newc = NULL;
	char err[512];

	if (!m->started) {
		m->hup_pending = true;
		return G_SOURCE_CONTINUE;
	}
	if (gw_config_load(m->config_path, &newc, err, sizeof(err)) < 0) {
		pp_log(PP_LOG_ERROR, NULL, "reload refused, keeping the running configuration: %s", err);
		return G_SOURCE_CONTINUE;
	}
	gw_reload(&m->gw, newc);
	return G_SOURCE_CONTINUE;
}

/* Options first; what follows them is a command (`bans ...`): *cmd is its
 * index in argv, 0 for none. */
static int gw_parse_args(int argc, char **argv, struct gw_main *m, bool *check,
                         const char **level, const char **format, int *cmd)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check-config", no_argument, NULL, 't' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "log-format", required_argument, NULL, 'f' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	/* "+": stop at the command, whose own options (--json, --all) follow it */
	while ((c = getopt_long(argc, argv, "+c:th", opts, NULL)) != -1) {
		switch (c) {
		case 'c': m->config_path = optarg; break;
		case 't': *check = true; break;
		case 'l': *level = optarg; break;
		case 'f': *format = optarg; break;
		case 'V': printf("peerpipe-gateway %s\n", PEERPIPE_VERSION); exit(0);
		case 'h': gw_usage(stdout); exit(0);
		default: gw_usage(stderr); return 2;
		}
	}
	*cmd = optind < argc && strcmp(argv[optind], "bans") == 0 && !*check ? optind : 0;
	if ((optind != argc && !*cmd) || !m->config_path) {
		gw_usage(stderr);
		return 2;
	}
	return 0;
}

static int gw_setup_logging(const struct gw_config *cfg, const char *level, const char *format)
{
	enum pp_log_level lv = cfg->log_level;
	enum pp_log_format fmt = cfg->gw.log_json ? PP_LOG_JSON : PP_LOG_TEXT;

	if ((level && pp_log_level_parse(level, &lv) < 0) ||
	    (format && pp_log_format_parse(format, &fmt) < 0)) {
		fprintf(stderr, "peerpipe-gateway: bad --log-level or --log-format\n");
		return 2;
	}
	pp_log_setup("peerpipe-gateway", lv, fmt);
	return 0;
}

/* Whether the audit log can be opened for appending, without creating
 * it: the file writable, or its directory when there is none yet. */
static int gw_check_audit_log(const char *path)
{
	char *dir;
	int rc;

	if (access(path, W_OK) == 0)
		return 0;
	if (errno != ENOENT)
		return -errno;
	dir = g_path_get_dirname(path);
	rc = access(dir, W_OK | X_OK) == 0 ? 0 : -errno;
	g_free(dir);
	return rc;
}

/* --check-config, after the configuration loaded: what a start would
 * refuse beyond the file itself (the bans file, the room, the CA file,
 * the audit log), so that a check that passes is a start that does.
 * The exit code. */
static int gw_check(const char *path, const struct gw_config *cfg)
{
	const struct gw_settings *s = &cfg->gw;
	struct bans *b = NULL;
	char err[512], room[PP_NAME_MAX + 1], mem[GW_MEM_LINE_MAX], *over;
	int rc;

	if (bans_open(s->bans_file, &b, err, sizeof(err)) < 0) {
		fprintf(stderr, "peerpipe-gateway: bans file unreadable: %s\n", err);
		return 1;
	}
	bans_free(b);
	if ((!s->room || !s->room[0]) && pp_jwt_peek_room(cfg->token, room, sizeof(room)) < 0) {
		fprintf(stderr, "peerpipe-gateway: %s: no room configured and the token in %s names "
		        "none\n", path, s->token_file);
		return 1;
	}
	if (s->ca_file && pp_sigclient_trust_default(s->ca_file) < 0)
		return 1; /* the start's own call; it says why */
	if (s->audit_log && (rc = gw_check_audit_log(s->audit_log)) < 0) {
		fprintf(stderr, "peerpipe-gateway: audit_log %s: cannot be opened for writing: %s\n",
		        s->audit_log, pp_strerror(rc));
		return 1;
	}
	printf("%s: ok (%zu services, %zu identities)\n", path, cfg->n_services, cfg->n_identities);
	over = gw_mem_check(s, mem, sizeof(mem));
	printf("%s: %s\n", path, mem);
	if (over)
		printf("%s: warning: %s\n", path, over);
	g_free(over);
	return 0;
}

/* TERM, INT and HUP are handled from the first moment of a daemon's life:
 * one that comes while the gateway starts (Suricata, ips mode's netfilter
 * rules) acts once it has started, instead of killing it half-way with
 * the rules left behind (TERM) or stopping a gateway that was told to
 * reload (HUP, whose default action a supervisor takes for a clean exit).
 * A mask inherited from whoever started us must not keep them away. */
static void gw_signals_install(struct gw_main *m)
{
	sigset_t set;

	g_unix_signal_add(SIGTERM, gw_on_term, m);
	g_unix_signal_add(SIGINT, gw_on_term, m);
	g_unix_signal_add(SIGHUP, gw_on_hup, m);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
}

/* Started: what came meanwhile is done now, a stop before a reload. */
static void gw_signals_started(struct gw_main *m)
{
	m->started = true;
	if (m->term_pending)
		gw_on_term(m);
	else if (m->hup_pending)
		gw_on_hup(m);
}

int main(int argc, char **argv)
{
	struct gw_main m = { 0 };
	struct gw_config *cfg = NULL;
	struct pp_identity *id = NULL;
	const char *level = NULL, *format = NULL;
	enum pp_log_level cli_level;
	bool check = false;
	char err[512];
	int rc, cmd = 0;

	signal(SIGPIPE, SIG_IGN);
	if ((rc = gw_parse_args(argc, argv, &m, &check, &level, &format, &cmd)) != 0)
		return rc;
	if (cmd)
		return gw_cmd_bans(m.config_path, argc - cmd, argv + cmd);
	if (gw_config_load(m.config_path, &cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "peerpipe-gateway: %s\n", err);
		return 1;
	}
	if (check) {
		rc = gw_check(m.config_path, cfg);
		gw_config_free(cfg);
		return rc;
	}
	gw_signals_install(&m);
	if ((rc = gw_setup_logging(cfg, level, format)) != 0) {
		gw_config_free(cfg);
		return rc;
	}
	m.gw.log_level_cli = level && pp_log_level_parse(level, &cli_level) == 0 ? (int)cli_level : -1;
	if (cfg->token_world_readable)
		pp_log(PP_LOG_WARN, NULL, "%s: the token file is readable by others", cfg->gw.token_file);
	rc = pp_identity_load_or_create(cfg->gw.identity_dir, &id);
	if (rc < 0) {
		pp_log(PP_LOG_ERROR, NULL, "identity in %s: %s", cfg->gw.identity_dir, pp_strerror(rc));
		gw_config_free(cfg);
		return 1;
	}
	pp_log(PP_LOG_INFO, NULL, "identity %s; %zu services, %zu identities",
	       pp_identity_fingerprint_str(id), cfg->n_services, cfg->n_identities);
	m.gw.ctx = g_main_context_default();
	m.loop = pp_loop_new(m.gw.ctx);
	if (gw_start(&m.gw, cfg, id) < 0) {
		pp_log(PP_LOG_ERROR, NULL, "cannot start (see the errors above)");
		gw_free(&m.gw);
		pp_identity_free(id);
		pp_loop_free(m.loop);
		return 1;
	}
	gw_signals_started(&m);
	pp_loop_run(m.loop);
	gw_free(&m.gw);
	pp_identity_free(id);
	pp_loop_free(m.loop);
	pp_log(PP_LOG_INFO, NULL, "stopped");
	return m.exit_code;
}
