/* SPDX-License-Identifier: Apache-2.0 */
/* peerpipe-signal: the signaling server. See docs/signal-server.md. */
#include "cluster.h"
#include "server.h"
#include "ws.h"

#include "peerpipe/error.h"
#include "peerpipe/log.h"

#include <arpa/inet.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SIG_JWT_SECRET_MIN 32 /* HS256 wants at least 256 bits of key */
#define SIG_DRAIN_MS 3000

static volatile int sig_stop;
static struct sig_server *sig_running;

static void sig_on_signal(int signo)
{
	(void)signo;
	sig_stop = 1;
	if (sig_running)
		sig_ws_wake(sig_running);
}

static bool sig_has_connections(const struct sig_server *srv)
{
	return srv->connections > 0;
}

static void sig_usage(FILE *f)
{
	fprintf(f,
	        "usage: peerpipe-signal [--config FILE] [--listen ADDR:PORT] [--insecure]\n"
	        "                       [--tls-cert FILE] [--tls-key FILE] [--jwt-secret-file FILE]\n"
	        "                       [--set SECTION.KEY=VALUE]... [--log-level LEVEL]\n"
	        "                       [--log-format text|json] [--check-config]\n");
}

/* "host:port" or "[v6]:port" */
static int sig_parse_listen(const char *s, char *host, size_t hostlen, int *port)
{
	const char *colon;
	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		if (!close || close[1] != ':' || (size_t)(close - s - 1) >= hostlen)
			return PP_ERR_INVALID;
		memcpy(host, s + 1, (size_t)(close - s - 1));
		host[close - s - 1] = '\0';
		colon = close + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon || (size_t)(colon - s) >= hostlen || colon == s)
			return PP_ERR_INVALID;
		memcpy(host, s, (size_t)(colon - s));
		host[colon - s] = '\0';
	}
	int64_t v;
	if (pp_cfg_parse_int(colon + 1, &v) < 0 || v < 0 || v > 65535)
		return PP_ERR_INVALID;
	*port = (int)v;
	return 0;
}

static bool sig_is_loopback(const char *host)
{
	struct in_addr a4;
	struct in6_addr a6;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, host, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6);
	return strcmp(host, "localhost") == 0;
}

/* --set section.key=value */
static int sig_set_override(struct sig_config *cfg, const char *arg, char *err, size_t errlen)
{
	char buf[512];
	snprintf(buf, sizeof(buf), "%s", arg);
	char *dot = strchr(buf, '.'), *eq = strchr(buf, '=');
	if (!dot || !eq || eq < dot) {
		snprintf(err, errlen, "--set %s: expected SECTION.KEY=VALUE", arg);
		return PP_ERR_CONFIG;
	}
	*dot = *eq = '\0';
	return pp_cfg_set(sig_config_keys, sig_config_nkeys, cfg, buf, dot + 1, eq + 1, "--set", err, errlen);
}

struct sig_args {
	const char *config;
	bool check;
};

static int sig_parse_args(int argc, char **argv, struct sig_config *cfg, struct sig_args *a,
                          char *err, size_t errlen)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "listen", required_argument, NULL, 'l' },
		{ "insecure", no_argument, NULL, 'I' },
		{ "tls-cert", required_argument, NULL, 'C' },
		{ "tls-key", required_argument, NULL, 'K' },
		{ "jwt-secret-file", required_argument, NULL, 'j' },
		{ "set", required_argument, NULL, 's' },
		{ "log-level", required_argument, NULL, 'L' },
		{ "log-format", required_argument, NULL, 'F' },
		{ "check-config", no_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static const struct {
		int opt;
		const char *section, *key;
	} direct[] = {
		{ 'l', "server", "listen" }, { 'C', "server", "tls_cert" }, { 'K', "server", "tls_key" },
		{ 'j', "auth", "jwt_secret_file" }, { 'L', "log", "level" }, { 'F', "log", "format" },
	};
	/* Pass 1 finds the config file, which flags then override. */
	int c, rc;
	while ((c = getopt_long(argc, argv, "c:th", opts, NULL)) != -1) {
		if (c == 'c')
			a->config = optarg;
		else if (c == 'h') {
			sig_usage(stdout);
			exit(0);
		} else if (c == '?') {
			sig_usage(stderr);
			exit(2);
		}
	}
	if (optind < argc) {
		snprintf(err, errlen, "unexpected argument \"%s\"", argv[optind]);
		return PP_ERR_CONFIG;
	}
	if (a->config && (rc = pp_cfg_load_file(sig_config_keys, sig_config_nkeys, cfg, a->config, err, errlen)) < 0)
		return rc;
	optind = 1;
	while ((c = getopt_long(argc, argv, "c:th", opts, NULL)) != -1) {
		rc = 0;
		if (c == 'I')
			cfg->insecure = true;
		else if (c == 't')
			a->check = true;
		else if (c == 's')
			rc = sig_set_override(cfg, optarg, err, errlen);
		for (size_t i = 0; i < sizeof(direct) / sizeof(direct[0]); i++)
			if (direct[i].opt == c)
				rc = pp_cfg_set(sig_config_keys, sig_config_nkeys, cfg, direct[i].section,
				                direct[i].key, optarg, opts[0].name, err, errlen);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* Everything --check-config validates: values, files, secrets. */
static int sig_prepare(struct sig_server *srv, char *host, size_t hostlen, int *port,
                       char *err, size_t errlen)
{
	struct sig_config *cfg = &srv->cfg;
	enum pp_log_level level;
	enum pp_log_format format;
	int rc;

	if (pp_log_level_parse(cfg->log_level, &level) < 0 || pp_log_format_parse(cfg->log_format, &format) < 0) {
		snprintf(err, errlen, "log: level must be error|warn|info|debug, format text|json");
		return PP_ERR_CONFIG;
	}
	pp_log_setup("peerpipe-signal", level, format);
	if (sig_parse_listen(cfg->listen, host, hostlen, port) < 0) {
		snprintf(err, errlen, "server.listen \"%s\": expected ADDR:PORT", cfg->listen);
		return PP_ERR_CONFIG;
	}
	if (cfg->insecure && !sig_is_loopback(host)) {
		snprintf(err, errlen, "refusing plain ws on non-loopback address %s: configure "
		         "tls_cert/tls_key, or bind to loopback behind a TLS proxy", host);
		return PP_ERR_CONFIG;
	}
	if (!cfg->insecure && (!cfg->tls_cert || !cfg->tls_key ||
	                       access(cfg->tls_cert, R_OK) != 0 || access(cfg->tls_key, R_OK) != 0)) {
		snprintf(err, errlen, "TLS is on by default: server.tls_cert and server.tls_key must name "
		         "readable PEM files (scripts/make-test-cert.sh makes a pair for tests), "
		         "or pass --insecure on loopback");
		return PP_ERR_CONFIG;
	}
	if (!cfg->jwt_secret_file) {
		snprintf(err, errlen, "auth.jwt_secret_file (--jwt-secret-file) is required");
		return PP_ERR_CONFIG;
	}
	if ((rc = sig_secret_load("auth.jwt_secret_file", cfg->jwt_secret_file, SIG_JWT_SECRET_MIN,
	                          &srv->jwt_secret, err, errlen)) < 0)
		return rc;
	if (cfg->ping_timeout_ms < 1000 && cfg->ping_interval_ms >= 1000)
		pp_warn("limits.ping_timeout under a second drops peers on slow links");
	if ((rc = sig_ice_load(srv, err, errlen)) < 0)
		return rc;
	if (cfg->redis_password_file &&
	    (rc = sig_secret_load("redis.password_file", cfg->redis_password_file, 1, &srv->redis_password,
	                          err, errlen)) < 0)
		return rc;
	return sig_cluster_start(srv, err, errlen); /* no context yet: checks redis.url */
}

static void sig_free(struct sig_server *srv)
{
	pp_secret_free(&srv->jwt_secret);
	pp_secret_free(&srv->turn_secret);
	pp_secret_free(&srv->redis_password);
	g_strfreev(srv->stun_urls);
	g_strfreev(srv->turn_urls);
	if (srv->peers)
		g_hash_table_destroy(srv->peers);
	if (srv->rooms)
		g_hash_table_destroy(srv->rooms);
	pp_cfg_free(sig_config_keys, sig_config_nkeys, &srv->cfg);
}

int main(int argc, char **argv)
{
	static struct sig_server srv;
	struct sig_args args = { 0 };
	char err[PP_CFG_ERR_MAX], host[256];
	int port = 0, status = 1;

	pp_log_setup("peerpipe-signal", PP_LOG_INFO, PP_LOG_TEXT);
	if (pp_cfg_defaults(sig_config_keys, sig_config_nkeys, &srv.cfg, err, sizeof(err)) < 0 ||
	    sig_parse_args(argc, argv, &srv.cfg, &args, err, sizeof(err)) < 0 ||
	    sig_prepare(&srv, host, sizeof(host), &port, err, sizeof(err)) < 0) {
		fprintf(stderr, "peerpipe-signal: %s\n", err);
		goto out;
	}
	if (args.check) {
		printf("peerpipe-signal: configuration OK\n");
		status = 0;
		goto out;
	}
	srv.rooms = g_hash_table_new(g_str_hash, g_str_equal);
	srv.peers = g_hash_table_new(g_str_hash, g_str_equal);
	signal(SIGPIPE, SIG_IGN);
	struct sigaction sa = { .sa_handler = sig_on_signal };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	int bound = sig_ws_start(&srv, host, port, err, sizeof(err));
	if (bound < 0) {
		fprintf(stderr, "peerpipe-signal: %s\n", err);
		goto out;
	}
	sig_running = &srv;
	if (sig_cluster_start(&srv, err, sizeof(err)) < 0) {
		fprintf(stderr, "peerpipe-signal: %s\n", err);
		goto out;
	}
	if (srv.cfg.insecure)
		pp_warn("INSECURE MODE: plain ws:// without TLS; tokens and SDP cross the wire in clear. "
		        "Use only for local tests.");
	const bool v6 = strchr(host, ':') != NULL;
	printf("peerpipe-signal: listening on %s://%s%s%s:%d/v1/ws\n", srv.cfg.insecure ? "ws" : "wss",
	       v6 ? "[" : "", host, v6 ? "]" : "", bound);
	fflush(stdout);

	sig_ws_run(&srv, &sig_stop);
	pp_info("stopping: closing %lld connections", (long long)srv.connections);
	sig_ws_shutdown(&srv);
	sig_ws_drain(&srv, pp_now_ms() + SIG_DRAIN_MS, sig_has_connections);
	sig_cluster_stop(&srv);
	sig_ws_drain(&srv, pp_now_ms() + 500, sig_cluster_busy); /* the last Redis commands */
	sig_running = NULL;
	sig_cluster_free(&srv);
	sig_ws_stop(&srv);
	pp_info("stopped");
	status = 0;
out:
	sig_free(&srv);
	return status;
}
