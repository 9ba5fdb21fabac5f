/* SPDX-License-Identifier: Apache-2.0 */
/* Per-connection send queue and orderly close. */
#include "server.h"

#include "peerpipe/log.h"

#include <jansson.h>
#include <libwebsockets.h>
#include <stdlib.h>
#include <string.h>

#define SIG_CLOSE_GRACE_S 2 /* a peer that will not take its close is cut off */

static void sig_peer_drop_queue(struct sig_peer *p)
{
	struct sig_out *o = p->outq_head;
	while (o) {
		struct sig_out *next = o->next;
		free(o);
		o = next;
	}
	p->outq_head = p->outq_tail = NULL;
	p->outq_bytes = 0;
	p->relay_bytes = 0;
	if (p->relay_share)
		g_hash_table_remove_all(p->relay_share);
}

static size_t sig_relay_share(const struct sig_peer *p, const char *from)
{
	return p->relay_share ? GPOINTER_TO_SIZE(g_hash_table_lookup(p->relay_share, from)) : 0;
}

static void sig_relay_account(struct sig_peer *p, const char *from, size_t add, size_t sub)
{
	size_t now = sig_relay_share(p, from) + add - sub;

	p->relay_bytes += add - sub;
	if (!p->relay_share)
		p->relay_share = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	if (now)
		g_hash_table_insert(p->relay_share, g_strdup(from), GSIZE_TO_POINTER(now));
	else
		g_hash_table_remove(p->relay_share, from);
}

void sig_peer_close(struct sig_server *srv, struct sig_peer *p, uint16_t code, const char *why)
{
	if (p->close_code)
		return;
	pp_log(PP_LOG_INFO, p->joined ? p->id : p->addr, "closing (%u): %s", code, why);
	p->close_code = code;
	lws_callback_on_writable(p->wsi);
	lws_set_timeout(p->wsi, PENDING_TIMEOUT_USER_OK, SIG_CLOSE_GRACE_S);
	(void)srv;
}

void sig_peer_send(struct sig_server *srv, struct sig_peer *p, const char *text, size_t len)
{
	struct iovec iov = { .iov_base = (void *)text, .iov_len = len };
	sig_peer_sendv(srv, p, &iov, 1);
}

static size_t sig_iov_len(const struct iovec *iov, int n)
{
	size_t len = 0;
	for (int i = 0; i < n; i++)
		len += iov[i].iov_len;
	return len;
}

static void sig_peer_enqueue(struct sig_server *srv, struct sig_peer *p, const char *from,
                             const struct iovec *iov, int n, size_t len)
{
	struct sig_out *o = malloc(sizeof(*o) + LWS_PRE + len);
	if (!o) {
		sig_peer_close(srv, p, LWS_CLOSE_STATUS_UNEXPECTED_CONDITION, "out of memory");
		return;
	}
	o->next = NULL;
	o->len = len;
	g_strlcpy(o->from, from, sizeof(o->from));
	for (int i = 0, off = 0; i < n; off += (int)iov[i].iov_len, i++)
		memcpy(o->buf + LWS_PRE + off, iov[i].iov_base, iov[i].iov_len);
	if (p->outq_tail)
		p->outq_tail->next = o;
	else
		p->outq_head = o;
	p->outq_tail = o;
	p->outq_bytes += len;
	if (from[0])
		sig_relay_account(p, from, len, 0);
	lws_callback_on_writable(p->wsi);
}

/* sig_peer_defer with a copy already made (malloc'd, NUL-terminated,
 * taken; NULL: out of memory). */
static void sig_peer_hold(struct sig_server *srv, struct sig_peer *p, char *copy, size_t len)
{
	if (!copy) {
		sig_peer_close(srv, p, LWS_CLOSE_STATUS_UNEXPECTED_CONDITION, "out of memory");
		return;
	}
	if (g_slist_length(p->deferred) >= SIG_DEFERRED_MAX) {
		free(copy);
		sig_peer_close(srv, p, 1011, "the room changed too much while joining: join again");
		return;
	}
	p->deferred = g_slist_prepend(p->deferred, copy);
	p->deferred_bytes += len;
}

void sig_peer_defer(struct sig_server *srv, struct sig_peer *p, const char *text, size_t len)
{
	sig_peer_hold(srv, p, strndup(text, len), len);
}

/* Relays may fill half of send_queue_max, one sender an eighth of it.
 * Each limit applies once something is queued, so one message of any
 * allowed size always gets through to a recipient that reads. */
#define SIG_RELAY_PART 2
#define SIG_RELAY_SENDER_PART 8

/* A relay to a peer whose JOINED waits for Redis: held with its NEW_PEERs
 * (it must come after JOINED), within the relays' part of the queue and
 * never at the cost of the peer (over the count: refused). */
static int sig_peer_relay_held(struct sig_server *srv, struct sig_peer *p, const char *from,
                               const struct iovec *iov, int n, size_t len)
{
	char *text, *w;

	if ((p->deferred_bytes &&
	     p->deferred_bytes + len > (size_t)srv->cfg.send_queue_max / SIG_RELAY_PART) ||
	    g_slist_length(p->deferred) >= SIG_DEFERRED_MAX) {
		pp_log(PP_LOG_INFO, p->id, "relay from %s refused while joining: %zu bytes held", from,
		       p->deferred_bytes);
		return -1;
	}
	text = w = malloc(len + 1);
	for (int i = 0; text && i < n; w += iov[i].iov_len, i++)
		memcpy(w, iov[i].iov_base, iov[i].iov_len);
	if (text)
		*w = '\0';
	sig_peer_hold(srv, p, text, len);
	return 0;
}

int sig_peer_relay(struct sig_server *srv, struct sig_peer *p, const char *from,
                   const struct iovec *iov, int n)
{
	size_t len = sig_iov_len(iov, n), max = (size_t)srv->cfg.send_queue_max;
	size_t mine = sig_relay_share(p, from);

	if (p->close_code)
		return 0; /* closing: nothing more goes out, as for any message */
	if (!p->joined)
		return sig_peer_relay_held(srv, p, from, iov, n, len);
	if ((mine && mine + len > max / SIG_RELAY_SENDER_PART) ||
	    (p->relay_bytes && p->relay_bytes + len > max / SIG_RELAY_PART) ||
	    p->outq_bytes + len > max) {
		pp_log(PP_LOG_INFO, p->id, "relay from %s refused: %zu bytes queued here, %zu of them "
		       "relays, %zu from that sender (reading slower than it is sent to)", from,
		       p->outq_bytes, p->relay_bytes, mine);
		return -1;
	}
	sig_peer_enqueue(srv, p, from, iov, n, len);
	return 0;
}

void sig_peer_sendv(struct sig_server *srv, struct sig_peer *p, const struct iovec *iov, int n)
{
	size_t len = sig_iov_len(iov, n);
	if (p->close_code)
		return; /* closing: nothing more goes out */
	if (p->outq_bytes + len > (size_t)srv->cfg.send_queue_max) {
		/* The peer does not read: its messages must not pile up here. */
		sig_peer_drop_queue(p);
		srv->metrics.peers_dropped_total++;
		pp_log(PP_LOG_WARN, p->joined ? p->id : p->addr,
		       "send queue over %lld bytes: peer is not reading, dropping it",
		       (long long)srv->cfg.send_queue_max);
		sig_peer_close(srv, p, LWS_CLOSE_STATUS_POLICY_VIOLATION, "send queue overflow");
		return;
	}
	sig_peer_enqueue(srv, p, "", iov, n, len);
}

char *sig_error_text(enum sig_refusal code, const char *message, const char *ref)
{
	json_t *j = json_pack("{s:s, s:s, s:s}", "type", "ERROR", "code",
	                      sig_refusal_code(code), "message", message);
	if (!j)
		return NULL;
	if (ref)
		json_object_set_new(j, "ref", json_string(ref));
	char *text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	return text;
}

void sig_peer_send_error(struct sig_server *srv, struct sig_peer *p, enum sig_refusal code,
                         const char *message, const char *ref)
{
	srv->metrics.refused_total[code]++;
	char *text = sig_error_text(code, message, ref);
	if (text)
		sig_peer_send(srv, p, text, strlen(text));
	free(text);
}

int sig_peer_writeable(struct sig_server *srv, struct sig_peer *p)
{
	if (p->ping_due && !p->close_code) {
		/* lws 4.1 drops empty pongs before the callback: ping with a payload. */
		unsigned char buf[LWS_PRE + 4] = { [LWS_PRE] = 'p', 'p', 'v', '1' };
		p->ping_due = false;
		if (lws_write(p->wsi, buf + LWS_PRE, 4, LWS_WRITE_PING) < 0)
			return -1;
		if (p->outq_head)
			lws_callback_on_writable(p->wsi);
		return 0;
	}
	struct sig_out *o = p->outq_head;
	if (o) {
		p->outq_head = o->next;
		if (!p->outq_head)
			p->outq_tail = NULL;
		p->outq_bytes -= o->len;
		if (o->from[0])
			sig_relay_account(p, o->from, 0, o->len);
		int n = lws_write(p->wsi, o->buf + LWS_PRE, o->len, LWS_WRITE_TEXT);
		free(o);
		if (n < 0)
			return -1;
		if (p->outq_head || p->close_code)
			lws_callback_on_writable(p->wsi);
		return 0;
	}
	if (p->close_code) {
		lws_close_reason(p->wsi, (enum lws_close_status)p->close_code, NULL, 0);
		return -1;
	}
	(void)srv;
	return 0;
}

void sig_peer_release(struct sig_server *srv, struct sig_peer *p)
{
	sig_room_leave(srv, p);
	sig_peer_drop_queue(p);
	if (p->relay_share)
		g_hash_table_destroy(p->relay_share);
	p->relay_share = NULL;
	pp_buf_free(&p->rx);
	free(p->fingerprint);
	p->fingerprint = NULL;
}
