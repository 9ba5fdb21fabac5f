/* SPDX-License-Identifier: Apache-2.0 */
/* libwebsockets glue: HTTP (healthz, metrics, upgrade checks) and the
 * peerpipe.v1 WebSocket protocol. Translates lws callbacks into calls to
 * handler.c and peer.c; holds no protocol logic of its own. */
#include "ws.h"

#include "cluster.h"
#include "redis_link.h"
#include "server.h"

#include "peerpipe/log.h"

#include <ev.h>
#include <libwebsockets.h>
#include <openssl/ssl.h>
#include <stdlib.h>
#include <string.h>

#define SIG_WS_PATH "/v1/ws"
#define SIG_SUBPROTOCOL "peerpipe.v1"
#define SIG_RX_CHUNK 1024 /* lws keeps one per connection: messages are assembled in rx anyway */

struct sig_http {
	char *body;
	size_t len;
};

static struct sig_server *sig_srv(struct lws *wsi)
{
	return lws_context_user(lws_get_context(wsi));
}

/* Does the comma-separated Sec-WebSocket-Protocol list offer ours? */
static bool sig_offers_subprotocol(struct lws *wsi)
{
	char list[256];
	if (lws_hdr_copy(wsi, list, sizeof(list), WSI_TOKEN_PROTOCOL) <= 0)
		return false;
	char *save = NULL;
	for (char *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save))
		if (strcmp(g_strstrip(t), SIG_SUBPROTOCOL) == 0)
			return true;
	return false;
}

static int sig_http_reply(struct lws *wsi, struct sig_http *h, unsigned int status,
                          const char *type, char *body, size_t len)
{
	unsigned char buf[LWS_PRE + 512], *start = buf + LWS_PRE, *p = start, *end = buf + sizeof(buf) - 1;

	h->body = body;
	h->len = len;
	if (lws_add_http_common_headers(wsi, status, type, len, &p, end) ||
	    lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CACHE_CONTROL,
	                                 (const unsigned char *)"no-store", 8, &p, end) ||
	    lws_finalize_write_http_header(wsi, start, &p, end))
		return -1;
	lws_callback_on_writable(wsi);
	return 0;
}

static int sig_http_request(struct lws *wsi, struct sig_http *h, const char *uri)
{
	struct sig_server *srv = sig_srv(wsi);

	if (strcmp(uri, "/healthz") == 0) {
		char *body = strdup(srv->stopping ? "stopping\n" : "ok\n");
		return body ? sig_http_reply(wsi, h, srv->stopping ? 503 : 200, "text/plain", body, strlen(body)) : -1;
	}
	if (strcmp(uri, "/metrics") == 0) {
		size_t len = 0;
		char *body = sig_metrics_render(&srv->metrics, srv->connections, sig_room_count(srv), &len);
		return body ? sig_http_reply(wsi, h, 200, "text/plain; version=0.0.4", body, len) : -1;
	}
	bool ws_path = strcmp(uri, SIG_WS_PATH) == 0;
	char *body = strdup(ws_path ? "WebSocket upgrade with subprotocol peerpipe.v1 required\n" : "not found\n");
	return body ? sig_http_reply(wsi, h, ws_path ? 400 : 404, "text/plain", body, strlen(body)) : -1;
}

/* A plain-text HTTP/1.1 refusal written by hand: lws_return_http_status()
 * answers an upgrade request as HTTP/1.0, which strict clients reject. */
static int sig_http_refuse(struct lws *wsi, unsigned int status, const char *why)
{
	unsigned char buf[LWS_PRE + 512];
	char *start = (char *)buf + LWS_PRE;
	const char *text = status == 400 ? "Bad Request" : status == 404 ? "Not Found" : "Service Unavailable";
	int n = snprintf(start, sizeof(buf) - LWS_PRE,
	                 "HTTP/1.1 %u %s\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n"
	                 "Connection: close\r\n\r\n%s\n", status, text, strlen(why) + 1, why);
	if (n < 0 || (size_t)n >= sizeof(buf) - LWS_PRE)
		return -1;
	return lws_write(wsi, (unsigned char *)start, (size_t)n, LWS_WRITE_HTTP_HEADERS) == n ? 1 : -1;
}

static int sig_confirm_upgrade(struct lws *wsi)
{
	struct sig_server *srv = sig_srv(wsi);
	char uri[64];
	unsigned int status = 0;
	const char *why = NULL;

	if (lws_hdr_copy(wsi, uri, sizeof(uri), WSI_TOKEN_GET_URI) <= 0 || strcmp(uri, SIG_WS_PATH) != 0) {
		status = HTTP_STATUS_NOT_FOUND;
		why = "unknown path";
	} else if (!sig_offers_subprotocol(wsi)) {
		status = HTTP_STATUS_BAD_REQUEST;
		why = "subprotocol peerpipe.v1 not offered";
	} else if (srv->stopping || srv->connections >= srv->cfg.max_connections ||
	           !sig_cluster_ready(srv)) {
		status = HTTP_STATUS_SERVICE_UNAVAILABLE;
		why = srv->stopping ? "shutting down" : !sig_cluster_ready(srv) ? "redis unavailable"
		                                                                 : "max_connections reached";
	}
	if (!status)
		return 0;
	char addr[48] = "";
	lws_get_peer_simple(wsi, addr, sizeof(addr));
	pp_log(PP_LOG_INFO, addr, "upgrade refused (%u): %s", status, why);
	srv->metrics.http_rejected_total++;
	return sig_http_refuse(wsi, status, why);
}

static int sig_http_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
                             void *in, size_t len)
{
	struct sig_http *h = user;

	switch (reason) {
	case LWS_CALLBACK_OPENSSL_LOAD_EXTRA_SERVER_VERIFY_CERTS:
		/* Idle TLS connections give their 16 KiB record buffers back, and
		 * keep no session for resumption: signaling connections live long
		 * and reconnect rarely, so a session cache or tickets would only
		 * cost memory (per connection) and CPU. */
		SSL_CTX_set_mode((SSL_CTX *)user, SSL_MODE_RELEASE_BUFFERS);
		SSL_CTX_set_session_cache_mode((SSL_CTX *)user, SSL_SESS_CACHE_OFF);
		SSL_CTX_set_num_tickets((SSL_CTX *)user, 0);
		return 0;
	case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
		return sig_confirm_upgrade(wsi);
	case LWS_CALLBACK_HTTP:
		return sig_http_request(wsi, h, in ? (const char *)in : "");
	case LWS_CALLBACK_HTTP_WRITEABLE:
		if (!h || !h->body)
			return 0;
		if (lws_write(wsi, (unsigned char *)h->body, h->len, LWS_WRITE_HTTP_FINAL) != (int)h->len)
			return -1;
		free(h->body);
		h->body = NULL;
		return lws_http_transaction_completed(wsi) ? -1 : 0;
	case LWS_CALLBACK_CLOSED_HTTP:
		if (h) {
			free(h->body);
			h->body = NULL;
		}
		return 0;
	default:
		return lws_callback_http_dummy(wsi, reason, user, in, len);
	}
}

static void sig_ws_established(struct sig_server *srv, struct lws *wsi, struct sig_peer *p)
{
	p->wsi = wsi;
	lws_get_peer_simple(wsi, p->addr, sizeof(p->addr));
	pp_buf_init(&p->rx, (size_t)srv->cfg.max_message_size);
	p->rate = (uint32_t)srv->cfg.rate;
	p->burst = (uint32_t)srv->cfg.burst;
	pp_bucket_init(&p->bucket, p->burst, pp_now_ms());
	p->counted = true;
	srv->connections++;
	srv->metrics.accepted_total++;
	sig_deadline_set(srv, p, SIG_WAIT_JOIN);
	pp_log(PP_LOG_DEBUG, p->addr, "connected");
}

static void sig_ws_receive(struct sig_server *srv, struct lws *wsi, struct sig_peer *p,
                           const char *in, size_t len)
{
	bool last = lws_is_final_fragment(wsi) && !lws_remaining_packet_payload(wsi);

	if (p->close_code)
		return; /* closing: input is ignored */
	if (lws_frame_is_binary(wsi)) {
		sig_peer_close(srv, p, LWS_CLOSE_STATUS_UNACCEPTABLE_OPCODE, "binary frames are not allowed");
		return;
	}
	if (pp_buf_append(&p->rx, in, len) < 0) {
		pp_buf_free(&p->rx);
		srv->metrics.refused_total[SIG_TOO_LARGE]++;
		sig_peer_close(srv, p, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, "message over max_message_size");
		return;
	}
	if (!last)
		return;
	sig_handle_message(srv, p, (const char *)p->rx.data, p->rx.len);
	pp_buf_free(&p->rx); /* idle connections hold no receive buffer */
}

static int sig_ws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
                           void *in, size_t len)
{
	struct sig_server *srv = sig_srv(wsi);
	struct sig_peer *p = user;

	switch (reason) {
	case LWS_CALLBACK_ESTABLISHED:
		sig_ws_established(srv, wsi, p);
		return 0;
	case LWS_CALLBACK_RECEIVE:
		sig_ws_receive(srv, wsi, p, in, len);
		return 0;
	case LWS_CALLBACK_RECEIVE_PONG:
		sig_handle_pong(srv, p);
		return 0;
	case LWS_CALLBACK_SERVER_WRITEABLE:
		if (srv->stopping && !p->close_code)
			sig_peer_close(srv, p, LWS_CLOSE_STATUS_GOINGAWAY, "server shutting down");
		return sig_peer_writeable(srv, p);
	case LWS_CALLBACK_CLOSED:
		if (p && p->counted) {
			sig_deadline_clear(srv, p);
			sig_peer_release(srv, p);
			p->counted = false;
			srv->connections--;
			pp_log(PP_LOG_DEBUG, p->addr, "disconnected");
		}
		return 0;
	default:
		return 0;
	}
}

static int sig_redis_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
                              void *in, size_t len)
{
	return sig_redis_raw_callback(wsi, (int)reason, user, in, len);
}

static const struct lws_protocols sig_protocols[] = {
	{ "pp-http-internal", sig_http_callback, sizeof(struct sig_http), 0, 0, NULL, 0 },
	{ SIG_SUBPROTOCOL, sig_ws_callback, sizeof(struct sig_peer), SIG_RX_CHUNK, 0, NULL, 0 },
	{ "pp-redis-raw", sig_redis_callback, 0, 0, 0, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 }
};

void sig_ws_shutdown(struct sig_server *srv)
{
	srv->stopping = true;
	lws_callback_on_writable_all_protocol(srv->ctx, &sig_protocols[1]);
}

static void sig_lws_log(int level, const char *line)
{
	size_t n = strlen(line);
	while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		n--;
	pp_log(level == LLL_ERR ? PP_LOG_WARN : PP_LOG_DEBUG, "lws", "%.*s", (int)n, line);
}

/* No lws validity timer: liveness is ours (deadline.c), and lws re-arming
 * its per-connection timer on every message costs O(connections). */
static const lws_retry_bo_t sig_no_validity = { .secs_since_valid_ping = 0, .secs_since_valid_hangup = 0 };

int sig_ws_start(struct sig_server *srv, const char *host, int port, char *err, size_t errlen)
{
	struct lws_context_creation_info info;

	/* libev with epoll: lws's default poll() loop walks every descriptor on
	 * every wake-up, which costs milliseconds at 20,000 connections. */
	srv->loop = ev_loop_new(EVBACKEND_EPOLL | EVFLAG_NOENV);
	if (!srv->loop) {
		snprintf(err, errlen, "cannot create the event loop (epoll)");
		return -1;
	}
	void *foreign_loops[] = { srv->loop };

	memset(&info, 0, sizeof(info));
	lws_set_log_level(LLL_ERR | (pp_log_enabled(PP_LOG_DEBUG) ? LLL_WARN : 0), sig_lws_log);
	info.port = port;
	info.iface = strcmp(host, "0.0.0.0") == 0 ? NULL : host;
	info.protocols = sig_protocols;
	info.user = srv;
	info.foreign_loops = foreign_loops;
	info.options = LWS_SERVER_OPTION_LIBEV | LWS_SERVER_OPTION_VALIDATE_UTF8 | LWS_SERVER_OPTION_DISABLE_IPV6 * (strchr(host, ':') == NULL);
	info.fd_limit_per_thread = (unsigned int)srv->cfg.max_connections + 64;
	info.timeout_secs = 10;       /* HTTP and TLS handshakes */
	info.max_http_header_pool = 64;
	info.max_http_header_data = 2048;
	info.alpn = "http/1.1";
	info.retry_and_idle_policy = &sig_no_validity;
	info.ka_time = 60;
	info.ka_probes = 3;
	info.ka_interval = 10;
	if (!srv->cfg.insecure) {
		info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
		info.ssl_cert_filepath = srv->cfg.tls_cert;
		info.ssl_private_key_filepath = srv->cfg.tls_key;
		info.ssl_options_set = SSL_OP_NO_TLSv1 | SSL_OP_NO_TLSv1_1 | SSL_OP_NO_RENEGOTIATION;
	}
	srv->ctx = lws_create_context(&info);
	if (!srv->ctx) {
		snprintf(err, errlen, "cannot listen on %s:%d%s", host, port,
		         srv->cfg.insecure ? "" : " (or cannot load the TLS certificate/key)");
		return -1;
	}
	sig_deadline_init(srv);
	struct lws_vhost *vh = lws_get_vhost_by_name(srv->ctx, "default");
	return vh ? lws_get_vhost_listen_port(vh) : port;
}

void sig_ws_run(struct sig_server *srv, volatile int *stop)
{
	while (!*stop)
		ev_run(srv->loop, EVRUN_ONCE);
}

static void sig_ws_wake_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop, (void)w, (void)revents;
}

void sig_ws_drain(struct sig_server *srv, int64_t deadline_ms, bool (*busy)(const struct sig_server *))
{
	ev_timer wake;
	int64_t now;

	ev_timer_init(&wake, sig_ws_wake_cb, 0.0, 0.0);
	while (busy(srv) && (now = pp_now_ms()) < deadline_ms) {
		/* ev_run() sleeps until the next event or timer: bound it. */
		ev_timer_stop(srv->loop, &wake);
		ev_timer_set(&wake, (double)(deadline_ms - now) / 1000.0, 0.0);
		ev_timer_start(srv->loop, &wake);
		ev_run(srv->loop, EVRUN_ONCE);
	}
	ev_timer_stop(srv->loop, &wake);
}

void sig_ws_stop(struct sig_server *srv)
{
	if (srv->ctx)
		sig_deadline_stop(srv);
	if (srv->ctx)
		lws_context_destroy(srv->ctx);
	srv->ctx = NULL;
	if (srv->loop)
		ev_loop_destroy(srv->loop);
	srv->loop = NULL;
}

void sig_ws_wake(struct sig_server *srv)
{
	if (srv->ctx)
		lws_cancel_service(srv->ctx);
}
