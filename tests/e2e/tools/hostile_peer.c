/* SPDX-License-Identifier: Apache-2.0 */
/* hostile_peer: a desktop tunnel node (libpeerpipe's pp_tnode, like
 * `peerpipe connect` without forwards) that misbehaves on purpose, for
 * the end-to-end suite (tests/e2e/e2e-tunnel.sh, cases j and k).
 *
 * Stream attacks (--attack bomb|bomb-sized|bomb-stream|lz4-len|oversized|
 * badflags|sealed|empty|garbage-text): once the session with the gateway
 * is READY, two streams to --service, each on a socketpair end we hold:
 *   - healthy: --bytes (4 MiB) of seeded data, SHUT_WR, then the service's
 *     answer, which must be the hex SHA-256 of what we sent (the e2e sha
 *     service answers after FIN);
 *   - attacked: opened when the healthy stream has sent 1 MiB (the healthy
 *     writer waits there); after CONNECTED one raw message is injected on
 *     its channel (pp_sctp_channel_send), the healthy writer goes on at
 *     once, and its FIN waits until the attacked stream has ended.
 * Exit 0 only when the gateway closed the attacked stream (we never close
 * it ourselves: its end is "reset by peer"), the healthy stream ended
 * "done" with the right hash, and the session is still READY afterwards.
 *
 * --attack spoof: declares --declare-fingerprint (someone else's) in
 * JOIN_ROOM while our DTLS certificate is our own identity's. Exit 0 when
 * no session becomes READY: either the gateway offered and the handshake
 * failed (layer "dtls"), or it never offered within --timeout (layer
 * "signaling").
 *
 * One JSON line on stdout; the library's log on stderr. */
#include "zstd_bomb.h"

#include "peerpipe/error.h"
#include "peerpipe/jwt.h"
#include "peerpipe/log.h"
#include "peerpipe/rtc/fingerprint.h"
#include "peerpipe/rtc/identity.h"
#include "peerpipe/tunnel/ctrl.h"
#include "peerpipe/tunnel/frame.h"
#include "peerpipe/tunnel/node.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <glib-unix.h>
#include <jansson.h>
#include <lz4.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define HP_CHUNK (64 * 1024)
#define HP_PAUSE_AT (1u << 20)   /* the attack starts here */
#define HP_SETTLE_MS 500         /* after both streams: is the session still up? */

enum hp_attack {
	HP_BOMB,        /* flag 2, a zstd frame of 16 MiB of zeros, no content size */
	HP_BOMB_SIZED,  /* the same with the content size in the frame header */
	HP_BOMB_STREAM, /* flag 3, a zstd stream piece of 16 MiB of zeros */
	HP_LZ4_LEN,     /* flag 1, a block declaring (and holding) 65,537 bytes */
	HP_OVERSIZED,   /* 66,561 bytes, raw */
	HP_BADFLAGS,    /* flags 0x04 */
	HP_SEALED,      /* flags 0x80, no v1.1-G */
	HP_EMPTY,       /* a 0-byte binary message */
	HP_GARBAGE,     /* "{nope" as text */
	HP_SPOOF,       /* declares another identity's fingerprint */
};

static const char *const hp_attack_names[] = {
	"bomb", "bomb-sized", "bomb-stream", "lz4-len", "oversized",
	"badflags", "sealed", "empty", "garbage-text", "spoof",
};

struct hp_side {
	const char *label;
	int fd;                  /* our end of the socketpair */
	GSource *src;
	gpointer tag;
	struct pp_tstream *st;
	bool connected;          /* CONNECTED seen */
	bool closed;             /* on_stream_closed seen */
	char reason[128];
	char answer[128];        /* DENIED/FAILED reason */
	/* our socket */
	bool sock_eof;
	int sock_err;
	uint64_t received;
	/* healthy writer */
	uint64_t sent, total, rng;
	GChecksum *sha;
	char sent_hex[65];
	bool shut;
	GString *reply;
};

struct hp {
	GMainContext *ctx;
	GMainLoop *loop;
	struct pp_tnode *node;
	struct pp_identity *identity;
	struct pp_fingerprint pin;
	const char *gateway, *service, *declared;
	enum hp_attack attack;
	unsigned timeout_s;
	uint64_t bytes;
	gint64 t0;
	struct pp_tlink *link;
	bool offered;            /* want_peer said yes: the gateway offered */
	bool ready_seen;
	bool link_closed;
	char link_reason[256];
	bool finished;
	bool timed_out;
	/* stream attacks */
	struct hp_side healthy, attacked;
	bool attack_opened, injected;
	int inject_rc;
	size_t inject_len;
	bool healthy_open_at_inject; /* the healthy stream was mid-transfer */
	bool healthy_open_at_close;  /* ... and still open when the attacked one closed */
	bool session_ready_after;
	char error[256];
	int exit_code;
};

static void hp_finish(struct hp *hp);

static double hp_elapsed(const struct hp *hp)
{
	return (double)(g_get_monotonic_time() - hp->t0) / 1e6;
}

static void hp_error(struct hp *hp, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static void hp_error(struct hp *hp, const char *fmt, ...)
{
	va_list ap;

	if (hp->error[0])
		return; /* the first error is the one that counts */
	va_start(ap, fmt);
	g_vsnprintf(hp->error, sizeof(hp->error), fmt, ap);
	va_end(ap);
	pp_log(PP_LOG_WARN, NULL, "hostile_peer: %s", hp->error);
}

/* --- the hostile messages --------------------------------------------------- */

static GByteArray *hp_msg(const void *data, size_t len)
{
	GByteArray *m = g_byte_array_new();
	g_byte_array_append(m, data, (guint)len);
	return m;
}

/* A data message of one zstd frame of 16 MiB of zeros. */
static GByteArray *hp_zstd_bomb(uint8_t flags, bool content_size)
{
	return pp_test_zstd_bomb(flags, 16u << 20, content_size);
}

static GByteArray *hp_lz4_len(void)
{
	const int n = PP_FRAME_DATA_MAX + 1;
	char *src = g_malloc0(n);
	int cap = LZ4_compressBound(n);
	uint8_t *m = g_malloc(5 + (size_t)cap);
	int len = LZ4_compress_default(src, (char *)m + 5, n, cap);
	GByteArray *a = NULL;

	if (len > 0) {
		m[0] = PP_FRAME_LZ4;
		m[1] = (uint8_t)(n >> 24);
		m[2] = (uint8_t)(n >> 16);
		m[3] = (uint8_t)(n >> 8);
		m[4] = (uint8_t)n;
		a = hp_msg(m, 5 + (size_t)len);
	}
	g_free(src);
	g_free(m);
	return a;
}

/* The message for an attack, and whether it goes as text. */
static GByteArray *hp_build(enum hp_attack a, bool *text)
{
	GByteArray *m;
	uint8_t sealed[64] = { PP_FRAME_SEALED };

	*text = false;
	switch (a) {
	case HP_BOMB: return hp_zstd_bomb(PP_FRAME_ZSTD, false);
	case HP_BOMB_SIZED: return hp_zstd_bomb(PP_FRAME_ZSTD, true);
	case HP_BOMB_STREAM: return hp_zstd_bomb(PP_FRAME_ZSTD_STREAM, false);
	case HP_LZ4_LEN: return hp_lz4_len();
	case HP_OVERSIZED:
		m = g_byte_array_sized_new(PP_FRAME_MSG_MAX + 1);
		g_byte_array_set_size(m, PP_FRAME_MSG_MAX + 1);
		memset(m->data, 'z', m->len);
		m->data[0] = PP_FRAME_RAW;
		return m;
	case HP_BADFLAGS: return hp_msg("\x04hello", 6);
	case HP_SEALED: return hp_msg(sealed, sizeof(sealed));
	case HP_EMPTY: return g_byte_array_new();
	case HP_GARBAGE: *text = true; return hp_msg("{nope", 5);
	default: return NULL;
	}
}

/* --- our socket ends ------------------------------------------------------------- */

static uint8_t hp_rand_byte(uint64_t *s)
{
	/* xorshift64*: fast, seeded, incompressible enough */
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return (uint8_t)((*s * 0x2545F4914F6CDD1DULL) >> 56);
}

static void hp_side_watch(struct hp_side *sd, GIOCondition cond)
{
	if (sd->tag)
		g_source_modify_unix_fd(sd->src, sd->tag, cond);
}

static bool hp_healthy_may_write(const struct hp *hp)
{
	const struct hp_side *h = &hp->healthy;

	if (h->sent >= h->total)
		return false;
	/* Wait at 1 MiB until the attack went out (or failed). */
	return h->sent < HP_PAUSE_AT || hp->injected || hp->error[0] || hp->attacked.closed;
}

/* FIN once everything is written and the attacked stream has ended (so
 * that the healthy stream is open during the whole attack). */
static void hp_healthy_maybe_shut(struct hp *hp)
{
	struct hp_side *h = &hp->healthy;

	if (h->shut || h->fd < 0 || h->sent < h->total)
		return;
	if (!hp->attacked.closed && !hp->error[0])
		return;
	h->shut = true;
	shutdown(h->fd, SHUT_WR);
	g_strlcpy(h->sent_hex, g_checksum_get_string(h->sha), sizeof(h->sent_hex));
}

static void hp_healthy_update(struct hp *hp)
{
	struct hp_side *h = &hp->healthy;

	hp_healthy_maybe_shut(hp);
	if (h->fd >= 0)
		hp_side_watch(h, G_IO_IN | (hp_healthy_may_write(hp) ? G_IO_OUT : 0));
}

static void hp_open_attacked(struct hp *hp);

static void hp_healthy_write(struct hp *hp)
{
	struct hp_side *h = &hp->healthy;
	uint8_t buf[HP_CHUNK];

	while (hp_healthy_may_write(hp)) {
		uint64_t stop = h->sent < HP_PAUSE_AT && !hp->injected ? HP_PAUSE_AT : h->total;
		size_t n = (size_t)MIN((uint64_t)sizeof(buf), stop - h->sent);
		uint64_t rng = h->rng;

		for (size_t i = 0; i < n; i++)
			buf[i] = hp_rand_byte(&rng);
		ssize_t w = send(h->fd, buf, n, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno != EAGAIN && errno != EINTR) {
				h->sock_err = errno;
				hp_error(hp, "healthy stream: write: %s", g_strerror(errno));
			}
			break;
		}
		g_checksum_update(h->sha, buf, (gssize)w);
		/* the generator moves on by what was really taken */
		for (ssize_t i = 0; i < w; i++)
			(void)hp_rand_byte(&h->rng);
		h->sent += (uint64_t)w;
	}
	if (h->sent >= HP_PAUSE_AT && !hp->attack_opened)
		hp_open_attacked(hp);
	hp_healthy_update(hp);
}

static void hp_side_read(struct hp *hp, struct hp_side *sd)
{
	char buf[HP_CHUNK];

	for (;;) {
		ssize_t r = recv(sd->fd, buf, sizeof(buf), 0);
		if (r > 0) {
			sd->received += (uint64_t)r;
			if (sd->reply && sd->reply->len < 4096)
				g_string_append_len(sd->reply, buf, r);
			continue;
		}
		if (r == 0) {
			sd->sock_eof = true;
		} else if (errno == EAGAIN || errno == EINTR) {
			return;
		} else {
			sd->sock_err = errno;
		}
		/* ended: stop watching; the fd stays open until the end */
		if (sd->tag) {
			g_source_remove_unix_fd(sd->src, sd->tag);
			sd->tag = NULL;
		}
		hp_finish(hp);
		return;
	}
}

/* A GSource on one of our socket ends (no callback: dispatch does it). */
struct hp_fd_source {
	GSource base;
	struct hp *hp;
	struct hp_side *sd;
};

static gboolean hp_fd_dispatch(GSource *src, GSourceFunc cb, gpointer data)
{
	struct hp_fd_source *fs = (struct hp_fd_source *)src;
	struct hp_side *sd = fs->sd;
	GIOCondition c = sd->tag ? g_source_query_unix_fd(src, sd->tag) : 0;

	if (c & (G_IO_IN | G_IO_HUP | G_IO_ERR))
		hp_side_read(fs->hp, sd);
	if ((c & G_IO_OUT) && sd == &fs->hp->healthy && sd->tag)
		hp_healthy_write(fs->hp);
	return G_SOURCE_CONTINUE;
}

static GSourceFuncs hp_fd_funcs = {
	.dispatch = hp_fd_dispatch,
};

static int hp_side_open(struct hp *hp, struct hp_side *sd)
{
	int sv[2];
	struct pp_tstream *st = NULL;
	int rc;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	rc = pp_tsession_open_stream(pp_tlink_session(hp->link), hp->service, sv[1], &st);
	if (rc < 0) {
		close(sv[0]);
		close(sv[1]);
		return rc;
	}
	pp_tstream_set_data(st, sd);
	sd->st = st;
	sd->fd = sv[0];
	sd->src = g_source_new(&hp_fd_funcs, sizeof(struct hp_fd_source));
	((struct hp_fd_source *)sd->src)->hp = hp;
	((struct hp_fd_source *)sd->src)->sd = sd;
	sd->tag = g_source_add_unix_fd(sd->src, sd->fd, G_IO_IN);
	g_source_attach(sd->src, hp->ctx);
	pp_log(PP_LOG_INFO, NULL, "hostile_peer: %s stream %s opened", sd->label,
	       pp_tstream_name(st));
	return 0;
}

static void hp_side_close(struct hp_side *sd)
{
	if (sd->src) {
		g_source_destroy(sd->src);
		g_source_unref(sd->src);
		sd->src = NULL;
		sd->tag = NULL;
	}
	if (sd->fd >= 0)
		close(sd->fd);
	sd->fd = -1;
}

static void hp_open_attacked(struct hp *hp)
{
	int rc;

	hp->attack_opened = true;
	rc = hp_side_open(hp, &hp->attacked);
	if (rc < 0)
		hp_error(hp, "cannot open the attacked stream: %s", pp_strerror(rc));
}

static void hp_inject(struct hp *hp)
{
	struct pp_sctp_channel *ch = pp_tstream_channel(hp->attacked.st);
	bool text = false;
	GByteArray *m = hp_build(hp->attack, &text);

	if (!m) {
		hp_error(hp, "cannot build the %s message", hp_attack_names[hp->attack]);
		return;
	}
	hp->inject_len = m->len;
	hp->healthy_open_at_inject = !hp->healthy.closed && !hp->healthy.shut;
	hp->inject_rc = ch ? pp_sctp_channel_send(ch, text, m->data, m->len) : PP_ERR_STATE;
	g_byte_array_unref(m);
	if (hp->inject_rc < 0) {
		hp_error(hp, "injecting %s: %s", hp_attack_names[hp->attack],
		         pp_strerror(hp->inject_rc));
		return;
	}
	hp->injected = true;
	pp_log(PP_LOG_INFO, NULL, "hostile_peer: %s injected (%zu bytes, %s) on %s, healthy at %" PRIu64
	       " bytes", hp_attack_names[hp->attack], hp->inject_len, text ? "text" : "binary",
	       pp_tstream_name(hp->attacked.st), hp->healthy.sent);
	hp_healthy_update(hp); /* the healthy writer goes on */
}

/* --- node callbacks --------------------------------------------------------------- */

static bool hp_want_peer(void *user, const struct pp_sigclient_peer *peer,
                         const struct pp_fingerprint **pins, size_t *n_pins)
{
	struct hp *hp = user;

	if (peer->role != PP_ROLE_GATEWAY || strcmp(peer->name, hp->gateway) != 0 || hp->offered)
		return false;
	hp->offered = true;
	pp_log(PP_LOG_INFO, NULL, "hostile_peer: gateway %s offers (%.8s), after %.2f s", peer->name,
	       peer->peer_id, hp_elapsed(hp));
	*pins = &hp->pin;
	*n_pins = 1;
	return true;
}

static void hp_on_signal_state(void *user, enum pp_sigclient_state st, enum pp_sigclient_why why,
                               const char *detail)
{
	struct hp *hp = user;

	pp_log(PP_LOG_INFO, NULL, "hostile_peer: signaling %s (%s%s%s)", pp_sigclient_state_name(st),
	       pp_sigclient_why_name(why), detail ? ": " : "", detail ? detail : "");
	if (st == PP_SIGCLIENT_FATAL && !hp->link) {
		hp_error(hp, "signaling refused us: %s", pp_sigclient_why_name(why));
		hp_finish(hp);
	}
}

static void hp_on_ready(void *user, struct pp_tlink *l)
{
	struct hp *hp = user;
	int rc;

	hp->link = l;
	hp->ready_seen = true;
	pp_log(PP_LOG_INFO, NULL, "hostile_peer: session READY after %.2f s", hp_elapsed(hp));
	if (hp->attack == HP_SPOOF) {
		hp_error(hp, "the gateway accepted a session from a spoofed fingerprint");
		hp_finish(hp);
		return;
	}
	rc = hp_side_open(hp, &hp->healthy);
	if (rc < 0) {
		hp_error(hp, "cannot open the healthy stream: %s", pp_strerror(rc));
		hp_finish(hp);
		return;
	}
	hp_healthy_update(hp);
}

static void hp_on_control(void *user, struct pp_tlink *l, const struct pp_ctrl_msg *m)
{
	if (m->type == PP_CTRL_ALERT || m->type == PP_CTRL_BYE)
		pp_log(PP_LOG_INFO, NULL, "hostile_peer: gateway sent %s%s%s", pp_ctrl_type_name(m->type),
		       m->reason ? ": " : "", m->reason ? m->reason : "");
}

static void hp_on_stream_text(void *user, struct pp_tlink *l, struct pp_tstream *st,
                              const struct pp_ctrl_msg *m)
{
	struct hp *hp = user;
	struct hp_side *sd = pp_tstream_get_data(st);

	if (!sd)
		return;
	if (m->type == PP_CTRL_CONNECTED) {
		sd->connected = true;
		pp_tstream_confirm(st);
		if (sd == &hp->attacked && !hp->injected && !hp->error[0])
			hp_inject(hp);
	} else if (m->type == PP_CTRL_DENIED || m->type == PP_CTRL_FAILED) {
		g_snprintf(sd->answer, sizeof(sd->answer), "%s: %s", pp_ctrl_type_name(m->type),
		           m->reason ? m->reason : "");
		hp_error(hp, "%s stream: %s", sd->label, sd->answer);
	}
}

static void hp_on_stream_closed(void *user, struct pp_tlink *l, struct pp_tstream *st,
                                const char *reason)
{
	struct hp *hp = user;
	struct hp_side *sd = pp_tstream_get_data(st);

	if (!sd)
		return;
	sd->closed = true;
	sd->st = NULL;
	g_strlcpy(sd->reason, reason, sizeof(sd->reason));
	pp_log(PP_LOG_INFO, NULL, "hostile_peer: %s stream closed after %.2f s: %s", sd->label,
	       hp_elapsed(hp), reason);
	if (sd == &hp->attacked) {
		hp->healthy_open_at_close = hp->healthy.st && !hp->healthy.closed;
		hp_healthy_update(hp); /* its FIN may go now */
	}
	hp_finish(hp);
}

static void hp_on_link_closed(void *user, struct pp_tlink *l, const char *reason)
{
	struct hp *hp = user;

	hp->link_closed = true;
	g_strlcpy(hp->link_reason, reason, sizeof(hp->link_reason));
	pp_log(PP_LOG_INFO, NULL, "hostile_peer: session closed after %.2f s: %s", hp_elapsed(hp),
	       reason);
	if (hp->link == l)
		hp->link = NULL;
	if (hp->attack != HP_SPOOF && !hp->finished)
		hp_error(hp, "the session ended: %s", reason);
	hp->healthy.st = hp->attacked.st = NULL; /* freed with the session */
	hp_finish(hp);
}

static const struct pp_tnode_callbacks hp_node_cb = {
	.want_peer = hp_want_peer,
	.on_signal_state = hp_on_signal_state,
	.on_ready = hp_on_ready,
	.on_control = hp_on_control,
	.on_stream_text = hp_on_stream_text,
	.on_stream_closed = hp_on_stream_closed,
	.on_link_closed = hp_on_link_closed,
};

/* --- the end ------------------------------------------------------------------------- */

static gboolean hp_settled(gpointer data)
{
	struct hp *hp = data;

	hp->session_ready_after = hp->link && !hp->link_closed &&
	                          pp_tsession_get_state(pp_tlink_session(hp->link)) == PP_TSESSION_READY;
	g_main_loop_quit(hp->loop);
	return G_SOURCE_REMOVE;
}

static bool hp_side_done(const struct hp_side *sd)
{
	return sd->closed && (sd->fd < 0 || sd->sock_eof || sd->sock_err);
}

/* Called on every event that may end the run. */
static void hp_finish(struct hp *hp)
{
	if (hp->finished)
		return;
	if (hp->attack == HP_SPOOF) {
		if (!hp->link_closed && !hp->error[0])
			return;
	} else if (!hp->error[0] && !hp->link_closed &&
	           !(hp_side_done(&hp->healthy) && hp_side_done(&hp->attacked))) {
		return;
	}
	hp->finished = true;
	/* A moment for late trouble, then the session's state. */
	g_timeout_add(HP_SETTLE_MS, hp_settled, hp);
}

static gboolean hp_timeout(gpointer data)
{
	struct hp *hp = data;

	hp->timed_out = true;
	if (!hp->finished) {
		if (hp->attack != HP_SPOOF)
			hp_error(hp, "timed out after %u s", hp->timeout_s);
		hp->finished = true;
		hp_settled(hp);
	}
	return G_SOURCE_REMOVE;
}

static gboolean hp_on_term(gpointer data)
{
	struct hp *hp = data;
	hp_error(hp, "interrupted");
	g_main_loop_quit(hp->loop);
	return G_SOURCE_REMOVE;
}

static const char *hp_sock_state(const struct hp_side *sd)
{
	if (sd->sock_err)
		return sd->sock_err == ECONNRESET ? "reset" : "error";
	return sd->sock_eof ? "eof" : "open";
}

/* The reasons pp_peer gives when the DTLS handshake fails (dtls.c's
 * reason names; "alert from peer" is the gateway's bad_certificate). */
static bool hp_dtls_reason(const char *reason)
{
	static const char *const names[] = {
		"alert from peer", "not pinned", "fingerprint mismatch", "handshake timeout",
		"protocol error", "closed by peer",
	};

	for (size_t i = 0; i < G_N_ELEMENTS(names); i++)
		if (strcmp(reason, names[i]) == 0)
			return true;
	return strstr(reason, "dtls") != NULL;
}

static int hp_report(struct hp *hp)
{
	json_t *o = json_object();
	bool ok;

	json_object_set_new(o, "attack", json_string(hp_attack_names[hp->attack]));
	json_object_set_new(o, "offered", json_boolean(hp->offered));
	json_object_set_new(o, "session_ready", json_boolean(hp->ready_seen));
	if (hp->attack == HP_SPOOF) {
		const char *layer;
		json_object_set_new(o, "declared", json_string(hp->declared));
		json_object_set_new(o, "own", json_string(pp_identity_fingerprint_str(hp->identity)));
		if (hp->ready_seen)
			layer = "none";
		else if (!hp->offered)
			layer = "signaling"; /* the gateway never offered */
		else if (hp_dtls_reason(hp->link_reason))
			layer = "dtls";
		else
			layer = hp->link_closed ? "session" : "timeout";
		json_object_set_new(o, "refused_at", json_string(layer));
		json_object_set_new(o, "closed_reason", json_string(hp->link_reason));
		ok = !hp->ready_seen && !hp->error[0];
	} else {
		struct hp_side *h = &hp->healthy, *a = &hp->attacked;
		bool hash_ok = h->shut && h->reply && h->reply->len == 65 && h->reply->str[64] == '\n' &&
		               strncmp(h->reply->str, h->sent_hex, 64) == 0;
		bool attacked_by_gw = a->closed && strcmp(a->reason, "reset by peer") == 0;
		json_object_set_new(o, "service", json_string(hp->service));
		json_object_set_new(o, "inject_bytes", json_integer((json_int_t)hp->inject_len));
		json_object_set_new(o, "injected", json_boolean(hp->injected));
		json_object_set_new(o, "attacked_closed", json_boolean(a->closed));
		json_object_set_new(o, "attacked_reason", json_string(a->reason));
		json_object_set_new(o, "attacked_socket", json_string(hp_sock_state(a)));
		json_object_set_new(o, "attacked_received", json_integer((json_int_t)a->received));
		json_object_set_new(o, "healthy_open_at_inject", json_boolean(hp->healthy_open_at_inject));
		json_object_set_new(o, "healthy_open_at_close", json_boolean(hp->healthy_open_at_close));
		json_object_set_new(o, "healthy_sent", json_integer((json_int_t)h->sent));
		json_object_set_new(o, "healthy_reason", json_string(h->reason));
		json_object_set_new(o, "healthy_hash_ok", json_boolean(hash_ok));
		json_object_set_new(o, "session_ready_after", json_boolean(hp->session_ready_after));
		ok = !hp->error[0] && hp->injected && attacked_by_gw && a->received == 0 && hash_ok &&
		     strcmp(h->reason, "done") == 0 && hp->healthy_open_at_inject &&
		     hp->session_ready_after;
	}
	json_object_set_new(o, "error", json_string(hp->error));
	json_object_set_new(o, "elapsed_s", json_real((double)(int)(hp_elapsed(hp) * 100) / 100));
	json_object_set_new(o, "ok", json_boolean(ok));
	char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	printf("%s\n", s);
	fflush(stdout);
	free(s);
	json_decref(o);
	return ok ? 0 : 1;
}

/* --- options ------------------------------------------------------------------------- */

static void hp_usage(FILE *f)
{
	fprintf(f,
	        "usage: hostile_peer --signal URL --token-file F --identity-dir D --gateway NAME\n"
	        "                    --pin FP --attack KIND [--service NAME] [--ca-file F]\n"
	        "                    [--declare-fingerprint FP] [--bytes N] [--timeout S]\n"
	        "                    [--log-level LEVEL]\n"
	        "KIND: bomb bomb-sized bomb-stream lz4-len oversized badflags sealed empty\n"
	        "      garbage-text spoof\n");
}

static char *hp_read_token(const char *path)
{
	char *t = NULL;

	if (!g_file_get_contents(path, &t, NULL, NULL))
		return NULL;
	return g_strstrip(t);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "signal", required_argument, NULL, 's' },
		{ "ca-file", required_argument, NULL, 'C' },
		{ "token-file", required_argument, NULL, 'T' },
		{ "identity-dir", required_argument, NULL, 'i' },
		{ "gateway", required_argument, NULL, 'g' },
		{ "pin", required_argument, NULL, 'p' },
		{ "service", required_argument, NULL, 'S' },
		{ "attack", required_argument, NULL, 'a' },
		{ "declare-fingerprint", required_argument, NULL, 'd' },
		{ "bytes", required_argument, NULL, 'b' },
		{ "timeout", required_argument, NULL, 'w' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct hp hp = {
		.service = "echo",
		.timeout_s = 30,
		.bytes = 4u << 20,
		.attack = (enum hp_attack)-1,
		.healthy = { .label = "healthy", .fd = -1, .rng = 0x9E3779B97F4A7C15ULL },
		.attacked = { .label = "attacked", .fd = -1 },
	};
	const char *signal_url = NULL, *ca_file = NULL, *token_file = NULL, *iddir = NULL;
	const char *pin = NULL, *level_name = "info";
	enum pp_log_level level;
	char room[PP_NAME_MAX + 1], agent[64];
	char *token = NULL;
	int c, rc;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 's': signal_url = optarg; break;
		case 'C': ca_file = optarg; break;
		case 'T': token_file = optarg; break;
		case 'i': iddir = optarg; break;
		case 'g': hp.gateway = optarg; break;
		case 'p': pin = optarg; break;
		case 'S': hp.service = optarg; break;
		case 'd': hp.declared = optarg; break;
		case 'b': hp.bytes = g_ascii_strtoull(optarg, NULL, 10); break;
		case 'w': hp.timeout_s = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'l': level_name = optarg; break;
		case 'a':
			for (size_t i = 0; i < G_N_ELEMENTS(hp_attack_names); i++)
				if (strcmp(optarg, hp_attack_names[i]) == 0)
					hp.attack = (enum hp_attack)i;
			if ((int)hp.attack < 0) {
				fprintf(stderr, "hostile_peer: unknown attack '%s'\n", optarg);
				hp_usage(stderr);
				return 2;
			}
			break;
		case 'h': hp_usage(stdout); return 0;
		default: hp_usage(stderr); return 2;
		}
	}
	if (optind != argc || !signal_url || !token_file || !iddir || !hp.gateway || !pin ||
	    (int)hp.attack < 0 || hp.timeout_s == 0 || hp.bytes < HP_PAUSE_AT + HP_CHUNK ||
	    (hp.attack == HP_SPOOF) != (hp.declared != NULL)) {
		if (hp.attack == HP_SPOOF && !hp.declared)
			fprintf(stderr, "hostile_peer: spoof needs --declare-fingerprint\n");
		else if (hp.declared && hp.attack != HP_SPOOF)
			fprintf(stderr, "hostile_peer: --declare-fingerprint is for spoof only\n");
		hp_usage(stderr);
		return 2;
	}
	if (pp_log_level_parse(level_name, &level) < 0) {
		fprintf(stderr, "hostile_peer: --log-level: error, warn, info or debug\n");
		return 2;
	}
	pp_log_setup("hostile_peer", level, PP_LOG_TEXT);
	signal(SIGPIPE, SIG_IGN);
	if (pp_fingerprint_parse(pin, strlen(pin), &hp.pin) < 0 || !pp_fingerprint_pinnable(&hp.pin)) {
		fprintf(stderr, "hostile_peer: --pin: not a sha-256 fingerprint: %s\n", pin);
		return 2;
	}
	if (hp.declared) {
		struct pp_fingerprint fp;
		if (pp_fingerprint_parse(hp.declared, strlen(hp.declared), &fp) < 0) {
			fprintf(stderr, "hostile_peer: --declare-fingerprint: not a fingerprint\n");
			return 2;
		}
	}
	if (!(token = hp_read_token(token_file))) {
		fprintf(stderr, "hostile_peer: cannot read %s\n", token_file);
		return 2;
	}
	if (pp_jwt_peek_room(token, room, sizeof(room)) < 0) {
		fprintf(stderr, "hostile_peer: the token names no room\n");
		rc = 2;
		goto out;
	}
	rc = pp_identity_load_or_create(iddir, &hp.identity);
	if (rc < 0) {
		fprintf(stderr, "hostile_peer: identity in %s: %s\n", iddir, pp_strerror(rc));
		rc = 2;
		goto out;
	}
	hp.healthy.total = hp.bytes;
	hp.healthy.sha = g_checksum_new(G_CHECKSUM_SHA256);
	hp.healthy.reply = g_string_new(NULL);
	hp.ctx = g_main_context_default();
	hp.loop = g_main_loop_new(hp.ctx, FALSE);
	g_snprintf(agent, sizeof(agent), "peerpipe-hostile/%s", PEERPIPE_VERSION);

	struct pp_tnode_config nc = {
		.sig = {
			.url = signal_url,
			.token = token,
			.room = room,
			/* spoof: another identity's fingerprint; our DTLS
			 * certificate stays our own */
			.fingerprint = hp.declared ? hp.declared
			                           : pp_identity_fingerprint_str(hp.identity),
			.ca_file = ca_file,
		},
		.session = {
			.peer = { .identity = hp.identity },
			.agent = agent,
			.our_formats = PP_FRAME_FMT_ALL,
		},
		.max_links = 4,
		.redial = false,
	};
	hp.t0 = g_get_monotonic_time();
	hp.node = pp_tnode_new(hp.ctx, &nc, &hp_node_cb, &hp);
	if (!hp.node) {
		fprintf(stderr, "hostile_peer: bad signaling settings\n");
		rc = 2;
		goto out;
	}
	g_unix_signal_add(SIGTERM, hp_on_term, &hp);
	g_unix_signal_add(SIGINT, hp_on_term, &hp);
	g_timeout_add_seconds(hp.timeout_s, hp_timeout, &hp);
	g_main_loop_run(hp.loop);
	rc = hp_report(&hp);

	hp_side_close(&hp.healthy);
	hp_side_close(&hp.attacked);
	if (pp_tnode_shutdown(hp.node, "hostile peer done") > 0) {
		gint64 end = g_get_monotonic_time() + 500 * 1000;
		while (pp_tnode_link_count(hp.node) > 0 && g_get_monotonic_time() < end)
			g_main_context_iteration(hp.ctx, TRUE);
	}
out:
	pp_tnode_free(hp.node);
	pp_identity_free(hp.identity);
	if (hp.healthy.sha)
		g_checksum_free(hp.healthy.sha);
	if (hp.healthy.reply)
		g_string_free(hp.healthy.reply, TRUE);
	if (hp.loop)
		g_main_loop_unref(hp.loop);
	if (token) {
		explicit_bzero(token, strlen(token));
		g_free(token);
	}
	return rc;
}
