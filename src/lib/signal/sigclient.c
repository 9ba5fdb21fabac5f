/* SPDX-License-Identifier: Apache-2.0 */
/* Signaling client: the object, its configuration, states and the
 * reconnect backoff. The connection itself is in sigclient_conn.c, the
 * outgoing messages in sigclient_send.c. */
#include "sigclient_priv.h"

#include "peerpipe/error.h"
#include "peerpipe/log.h"
#include "peerpipe/source.h"

#include <openssl/crypto.h>
#include <string.h>

static const char *const pp_sigclient_state_names[] = {
	[PP_SIGCLIENT_CONNECTING] = "connecting",
	[PP_SIGCLIENT_JOINED] = "joined",
	[PP_SIGCLIENT_DISCONNECTED] = "disconnected",
	[PP_SIGCLIENT_FATAL] = "fatal",
};

static const char *const pp_sigclient_why_names[] = {
	[PP_SIGCLIENT_WHY_NONE] = "none",
	[PP_SIGCLIENT_WHY_NETWORK] = "network",
	[PP_SIGCLIENT_WHY_CLOSED] = "closed",
	[PP_SIGCLIENT_WHY_TIMEOUT] = "timeout",
	[PP_SIGCLIENT_WHY_TLS] = "tls",
	[PP_SIGCLIENT_WHY_UNAUTHORIZED] = "unauthorized",
	[PP_SIGCLIENT_WHY_PROTOCOL] = "protocol",
	[PP_SIGCLIENT_WHY_HTTP] = "http",
	[PP_SIGCLIENT_WHY_ROOM_FULL] = "room_full",
	[PP_SIGCLIENT_WHY_LEFT] = "left",
};

const char *pp_sigclient_state_name(enum pp_sigclient_state s)
{
	return (unsigned)s < G_N_ELEMENTS(pp_sigclient_state_names) ? pp_sigclient_state_names[s]
	                                                            : "?";
}

const char *pp_sigclient_why_name(enum pp_sigclient_why w)
{
	return (unsigned)w < G_N_ELEMENTS(pp_sigclient_why_names) ? pp_sigclient_why_names[w] : "?";
}

/* A host or path/query that goes into our request as it is: no spaces,
 * controls or line breaks (GUri lets some through in a host). */
static bool pp_sigclient_url_part_ok(const char *s, bool host)
{
	for (; s && *s; s++)
		if (host ? !g_ascii_isalnum(*s) && !strchr(".-_:%", *s) : *s <= 0x20 || *s >= 0x7f)
			return false;
	return true;
}

/* The URL as libsoup wants it (http/https), or NULL with *why. */
static GUri *pp_sigclient_parse_url(const char *url, bool allow_ws, const char **why)
{
	GUri *u = url ? g_uri_parse(url, G_URI_FLAGS_ENCODED, NULL) : NULL;
	GUri *out = NULL;
	const char *scheme, *path;

	if (!u) {
		*why = "url: not a valid URL";
		goto out;
	}
	scheme = g_uri_get_scheme(u);
	if (g_ascii_strcasecmp(scheme, "ws") != 0 && g_ascii_strcasecmp(scheme, "wss") != 0) {
		*why = "url: the scheme must be wss:// (or ws:// with allow_insecure_ws)";
		goto out;
	}
	if (g_ascii_strcasecmp(scheme, "ws") == 0 && !allow_ws) {
		*why = "url: plain ws:// is refused unless allow_insecure_ws is set";
		goto out;
	}
	if (!g_uri_get_host(u) || !*g_uri_get_host(u)) {
		*why = "url: no host";
		goto out;
	}
	if (g_uri_get_userinfo(u) || g_uri_get_fragment(u)) {
		*why = "url: user info and fragments are not allowed";
		goto out;
	}
	if (!pp_sigclient_url_part_ok(g_uri_get_host(u), true)) {
		*why = "url: the host is not a host name or an IP address";
		goto out;
	}
	if (!pp_sigclient_url_part_ok(g_uri_get_path(u), false) ||
	    !pp_sigclient_url_part_ok(g_uri_get_query(u), false)) {
		*why = "url: the path or query has spaces or control characters";
		goto out;
	}
	path = g_uri_get_path(u);
	if (!*path || strcmp(path, "/") == 0)
		path = PP_SIGCLIENT_DEFAULT_PATH;
	out = g_uri_build(G_URI_FLAGS_ENCODED,
	                  g_ascii_strcasecmp(scheme, "wss") == 0 ? "https" : "http", NULL,
	                  g_uri_get_host(u), g_uri_get_port(u), path, g_uri_get_query(u), NULL);
out:
	if (u)
		g_uri_unref(u);
	return out;
}

bool pp_sigclient_token_valid(const char *token)
{
	size_t len = token ? strlen(token) : 0;
	if (len == 0 || len > PP_JWT_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!g_ascii_isalnum(token[i]) && token[i] != '.' && token[i] != '-' && token[i] != '_')
			return false;
	return true;
}

int pp_sigclient_config_check(const struct pp_sigclient_config *cfg, const char **why)
{
	GUri *u = pp_sigclient_parse_url(cfg->url, cfg->allow_insecure_ws, why);
	if (!u)
		return PP_ERR_CONFIG;
	g_uri_unref(u);
	if (!cfg->room || !pp_name_valid(cfg->room, strlen(cfg->room))) {
		*why = "room: 1..64 characters of [A-Za-z0-9._-]";
		return PP_ERR_CONFIG;
	}
	if (!pp_sigclient_token_valid(cfg->token)) {
		*why = "token: must be a JWT (1..4096 characters of [A-Za-z0-9._-])";
		return PP_ERR_CONFIG;
	}
	if (cfg->fingerprint && !pp_fingerprint_valid(cfg->fingerprint, strlen(cfg->fingerprint))) {
		*why = "fingerprint: must look like \"sha-256 AB:CD:...\"";
		return PP_ERR_CONFIG;
	}
	if (cfg->backoff_min_ms && cfg->backoff_max_ms && cfg->backoff_min_ms > cfg->backoff_max_ms) {
		*why = "backoff: min is larger than max";
		return PP_ERR_CONFIG;
	}
	if ((cfg->max_message_size && cfg->max_message_size < 1024) ||
	    (cfg->max_joined_size && cfg->max_joined_size < 1024)) {
		*why = "message size limits below 1 KiB";
		return PP_ERR_CONFIG;
	}
	return 0;
}

static uint32_t pp_sigclient_or(uint32_t v, uint32_t dflt)
{
	return v ? v : dflt;
}

static void pp_sigclient_wipe_token(struct pp_sigclient *c)
{
	if (c->token) {
		OPENSSL_cleanse(c->token, c->token_len);
		g_free(c->token);
	}
	c->token = NULL;
	c->token_len = 0;
}

static gboolean pp_sigclient_on_retry(gpointer data)
{
	struct pp_sigclient *c = data;
	pp_source_clear(&c->retry_timer);
	pp_sigclient_enter(c);
	pp_sigclient_conn_start(c);
	pp_sigclient_exit(c);
	return G_SOURCE_REMOVE;
}

struct pp_sigclient *pp_sigclient_new(GMainContext *ctx, const struct pp_sigclient_config *cfg,
                                      const struct pp_sigclient_callbacks *cbs, void *user)
{
	struct pp_sigclient *c = NULL, *ret = NULL;
	const char *why = NULL;

	if (pp_sigclient_config_check(cfg, &why) < 0) {
		pp_error("sigclient: configuration refused: %s", why);
		goto out;
	}
	c = g_new0(struct pp_sigclient, 1);
	c->ctx = g_main_context_ref(ctx ? ctx : g_main_context_default());
	if (cbs)
		c->cbs = *cbs;
	c->user = user;
	c->uri = pp_sigclient_parse_url(cfg->url, cfg->allow_insecure_ws, &why);
	c->where = g_strdup_printf("%s://%s:%d%s", strcmp(g_uri_get_scheme(c->uri), "https") == 0 ? "wss" : "ws",
	                           g_uri_get_host(c->uri), g_uri_get_port(c->uri) > 0 ? g_uri_get_port(c->uri)
	                           : (strcmp(g_uri_get_scheme(c->uri), "https") == 0 ? 443 : 80),
	                           g_uri_get_path(c->uri));
	c->room = g_strdup(cfg->room);
	c->fingerprint = g_strdup(cfg->fingerprint);
	c->token_len = strlen(cfg->token);
	c->token = g_strndup(cfg->token, c->token_len);
	c->tls_errors_fatal = cfg->tls_errors_fatal;
	c->backoff_min_ms = pp_sigclient_or(cfg->backoff_min_ms, 500);
	c->backoff_min_ms = MIN(c->backoff_min_ms, 3600000u);
	c->backoff_max_ms = CLAMP(pp_sigclient_or(cfg->backoff_max_ms, 30000), c->backoff_min_ms, 3600000u);
	c->connect_timeout_ms = pp_sigclient_or(cfg->connect_timeout_ms, 10000);
	c->keepalive_ms = pp_sigclient_or(cfg->keepalive_ms, 10000);
	c->cfg_rate = cfg->send_rate;
	c->cfg_burst = cfg->send_burst;
	pp_sigclient_pace(c, 0, 0);
	c->outq_max = MIN(pp_sigclient_or(cfg->send_queue_max, PP_SIGCLIENT_SEND_QUEUE_DEFAULT), 65536u);
	c->outq_bytes_max = MAX((size_t)c->outq_max * PP_SIGCLIENT_OUTQ_BYTES_EACH,
	                        (size_t)PP_SIGCLIENT_OUTQ_BYTES_MIN);
	c->lim.max_message_size = pp_sigclient_or(cfg->max_message_size, PP_SIGCLIENT_MAX_MESSAGE_DEFAULT);
	c->lim.max_joined_size = pp_sigclient_or(cfg->max_joined_size, PP_SIGCLIENT_MAX_JOINED_DEFAULT);
	c->state = PP_SIGCLIENT_DISCONNECTED;
	g_queue_init(&c->outq);
	if (cfg->ca_file && !(c->tls_db = pp_sigclient_tls_db_new(cfg->ca_file)))
		goto out;
	/* the first attempt starts from the context, never from here */
	c->retry_timer = pp_sigclient_timer(c, 0, pp_sigclient_on_retry);
	pp_info("sigclient: %s room %s", c->where, c->room);
	ret = c;
	c = NULL; /* transferred */
out:
	pp_sigclient_free(c);
	return ret;
}

static void pp_sigclient_destroy(struct pp_sigclient *c)
{
	pp_sigclient_conn_teardown(c);
	pp_sigclient_outq_clear(c);
	pp_source_clear(&c->retry_timer);
	pp_source_clear(&c->leave_timer);
	pp_sigclient_wipe_token(c);
	g_clear_object(&c->tls_db);
	if (c->uri)
		g_uri_unref(c->uri);
	g_free(c->where);
	g_free(c->room);
	g_free(c->fingerprint);
	g_main_context_unref(c->ctx);
	g_free(c);
}

void pp_sigclient_free(struct pp_sigclient *c)
{
	if (!c)
		return;
	if (c->depth > 0) {
		/* inside one of our callbacks: stop everything now, free when the
		 * outermost handler returns (pp_sigclient_exit) */
		c->dead = true;
		pp_sigclient_conn_teardown(c);
		pp_sigclient_outq_clear(c);
		pp_source_clear(&c->retry_timer);
		pp_source_clear(&c->leave_timer);
		pp_sigclient_wipe_token(c);
		return;
	}
	pp_sigclient_destroy(c);
}

void pp_sigclient_enter(struct pp_sigclient *c)
{
	c->depth++;
}

bool pp_sigclient_exit(struct pp_sigclient *c)
{
	if (--c->depth == 0 && c->dead) {
		pp_sigclient_destroy(c);
		return false;
	}
	return !c->dead;
}

GSource *pp_sigclient_timer(struct pp_sigclient *c, guint ms, GSourceFunc fn)
{
	GSource *s = ms ? g_timeout_source_new(ms) : g_idle_source_new();
	g_source_set_callback(s, fn, c, NULL);
	g_source_attach(s, c->ctx);
	return s;
}

void pp_sigclient_set_state(struct pp_sigclient *c, enum pp_sigclient_state st,
                            enum pp_sigclient_why why, const char *detail)
{
	if (c->dead || (c->reported && st == c->state && st != PP_SIGCLIENT_DISCONNECTED))
		return;
	c->state = st;
	c->reported = true;
	if (st != PP_SIGCLIENT_JOINED)
		c->peer_id[0] = '\0';
	if (c->cbs.on_state)
		c->cbs.on_state(c->user, st, why, detail);
}

static guint pp_sigclient_backoff(struct pp_sigclient *c, bool slow)
{
	guint64 d = c->backoff_min_ms;
	for (unsigned i = 0; i < c->failures && d < c->backoff_max_ms; i++)
		d *= 2;
	if (slow || d > c->backoff_max_ms)
		d = c->backoff_max_ms;
	if (c->failures < 64)
		c->failures++;
	/* jitter: uniform in [d/2, d] */
	return (guint)(d / 2 + (guint64)g_random_int_range(0, (gint32)(d / 2) + 1));
}

void pp_sigclient_retry(struct pp_sigclient *c, enum pp_sigclient_why why, const char *detail,
                        bool slow)
{
	gint64 now = g_get_monotonic_time();

	if (c->left) {
		/* a connection lost while leaving (the keepalive, a deadline):
		 * the leave is done, nothing is retried */
		pp_sigclient_left(c);
		return;
	}
	pp_sigclient_conn_teardown(c);
	pp_sigclient_outq_clear(c);
	pp_source_clear(&c->retry_timer);
	if (c->joined_at_us && now - c->joined_at_us >= (gint64)PP_SIGCLIENT_STABLE_MS * 1000)
		c->failures = 0;
	c->joined_at_us = 0;
	guint delay = pp_sigclient_backoff(c, slow);
	pp_log(why == PP_SIGCLIENT_WHY_TLS ? PP_LOG_ERROR : PP_LOG_WARN, NULL,
	       "sigclient: %s: %s (%s); reconnecting in %u ms", c->where, detail ? detail : "disconnected",
	       pp_sigclient_why_name(why), delay);
	c->retry_timer = pp_sigclient_timer(c, delay, pp_sigclient_on_retry);
	pp_sigclient_set_state(c, PP_SIGCLIENT_DISCONNECTED, why, detail);
}

void pp_sigclient_fatal(struct pp_sigclient *c, enum pp_sigclient_why why, const char *detail)
{
	pp_sigclient_conn_teardown(c);
	pp_sigclient_outq_clear(c);
	pp_source_clear(&c->retry_timer);
	pp_source_clear(&c->leave_timer);
	c->joined_at_us = 0;
	pp_error("sigclient: %s: %s (%s); not retrying", c->where, detail ? detail : "fatal",
	         pp_sigclient_why_name(why));
	pp_sigclient_set_state(c, PP_SIGCLIENT_FATAL, why, detail);
}

int pp_sigclient_set_token(struct pp_sigclient *c, const char *token)
{
	if (!pp_sigclient_token_valid(token))
		return PP_ERR_INVALID;
	pp_sigclient_wipe_token(c);
	c->token_len = strlen(token);
	c->token = g_strndup(token, c->token_len);
	return 0;
}

int pp_sigclient_reconnect(struct pp_sigclient *c)
{
	if (c->dead || (!c->left && (c->state == PP_SIGCLIENT_JOINED ||
	                             c->state == PP_SIGCLIENT_CONNECTING)))
		return PP_ERR_STATE;
	pp_sigclient_conn_teardown(c);
	pp_source_clear(&c->retry_timer);
	pp_source_clear(&c->leave_timer);
	c->left = false;
	c->failures = 0;
	c->retry_timer = pp_sigclient_timer(c, 0, pp_sigclient_on_retry);
	return 0;
}

enum pp_sigclient_state pp_sigclient_get_state(const struct pp_sigclient *c)
{
	return c->state;
}

const char *pp_sigclient_peer_id(const struct pp_sigclient *c)
{
	return c->state == PP_SIGCLIENT_JOINED && c->peer_id[0] ? c->peer_id : NULL;
}

uint32_t pp_sigclient_send_rate(const struct pp_sigclient *c)
{
	return c->send_rate;
}

unsigned pp_sigclient_attempts(const struct pp_sigclient *c)
{
	return c->attempts;
}
