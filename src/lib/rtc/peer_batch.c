/* SPDX-License-Identifier: Apache-2.0 */
/* DTLS datagrams leave in batches: while ICE is up, what DTLS emits is
 * collected here and handed to pp_ice_send_batch() (one sendmmsg, UDP GSO)
 * when PP_ICE_BATCH_MAX datagrams or PP_PEER_BATCH_BYTES wait, or at the
 * end of the loop's turn. libnice reads its socket dry in one dispatch, so
 * everything a burst of incoming packets makes SCTP send (SACKs, the data
 * they let through) goes out together.
 *
 * The flush source has no ready time and no fd: its prepare() sends the
 * batch, so scheduling a flush writes no eventfd (a ready time would, at
 * every change) and costs no extra turn. check() and dispatch() remain for
 * a turn whose prepare phase stopped before this source (a source of
 * higher priority was ready). Under a pp_loop (peerpipe/loop.h) the
 * loop's fast turns skip prepare: the batch leaves from its FLUSH hook. */
#include "peer_priv.h"

#include "peerpipe/error.h"
#include "peerpipe/loop.h"
#include "peerpipe/source.h"

#include <errno.h>
#include <string.h>

#define PP_PEER_BATCH_BYTES (PP_ICE_BATCH_MAX * 1280)

struct pp_peer_batch_source {
	GSource base;
	struct pp_peer *p;
};

/* Called when the loop is about to sleep again, after every source that
 * was ready in this turn has run: the batch leaves here, so a lone
 * datagram (a request, a response) costs no extra turn of the loop
 * (poll with a zero timeout, check, dispatch) before it goes out.
 * GLib calls prepare() with the context unlocked. */
static gboolean pp_peer_batch_prepare(GSource *src, gint *timeout)
{
	struct pp_peer *p = ((struct pp_peer_batch_source *)src)->p;

	*timeout = -1;
	pp_peer_batch_flush(p);
	return FALSE;
}

static gboolean pp_peer_batch_check(GSource *src)
{
	struct pp_peer *p = ((struct pp_peer_batch_source *)src)->p;

	return p->batch_n > 0 || pp_sctp_output_waiting(p->sctp);
}

static gboolean pp_peer_batch_dispatch(GSource *src, GSourceFunc cb, gpointer data)
{
	pp_peer_batch_flush(((struct pp_peer_batch_source *)src)->p);
	return G_SOURCE_CONTINUE;
}

static GSourceFuncs pp_peer_batch_funcs = {
	.prepare = pp_peer_batch_prepare,
	.check = pp_peer_batch_check,
	.dispatch = pp_peer_batch_dispatch,
};

static void pp_peer_batch_hook(void *user)
{
	pp_peer_batch_flush(user);
}

void pp_peer_batch_init(struct pp_peer *p)
{
	struct pp_loop *loop = pp_loop_of(p->ctx);

	if (loop)
		pp_loop_hook_add(loop, PP_LOOP_FLUSH, pp_peer_batch_hook, p);
	p->batch_src = g_source_new(&pp_peer_batch_funcs, sizeof(struct pp_peer_batch_source));
	((struct pp_peer_batch_source *)p->batch_src)->p = p;
	g_source_set_static_name(p->batch_src, "pp-peer-batch");
	g_source_attach(p->batch_src, p->ctx);
	p->batch_buf = g_malloc(PP_PEER_BATCH_BYTES);
}

void pp_peer_batch_free(struct pp_peer *p)
{
	struct pp_loop *loop = pp_loop_of(p->ctx);

	if (loop)
		pp_loop_hook_remove(loop, pp_peer_batch_hook, p);
	pp_source_clear(&p->batch_src);
	g_free(p->batch_buf);
	p->batch_buf = NULL;
	p->batch_n = p->batch_used = 0;
}

/* Datagrams ICE could not take (the path went down meanwhile) wait with
 * the others sent before a pair was up. */
static void pp_peer_batch_requeue(struct pp_peer *p)
{
	for (size_t i = 0; i < p->batch_n; i++) {
		const struct iovec *v = &p->batch_iov[i];
		if (p->pending_bytes + v->iov_len > PP_PEER_PENDING_OUT_MAX)
			break;
		g_queue_push_tail(&p->pending_out, g_bytes_new(v->iov_base, v->iov_len));
		p->pending_bytes += v->iov_len;
	}
}

void pp_peer_batch_flush(struct pp_peer *p)
{
	if (p->sctp)
		pp_sctp_flush_output(p->sctp); /* a small packet kept to bundle */
	if (p->batch_n == 0)
		return;
	if (p->ice && pp_ice_send_batch(p->ice, p->batch_iov, p->batch_n) == -EAGAIN)
		pp_peer_batch_requeue(p);
	p->batch_n = p->batch_used = 0;
}

bool pp_peer_batch_usable(const struct pp_peer *p)
{
	enum pp_ice_state st = p->ice ? pp_ice_get_state(p->ice) : PP_ICE_CLOSED;

	return p->batch_buf && p->pending_out.length == 0 &&
	       (st == PP_ICE_CONNECTED || st == PP_ICE_COMPLETED);
}

int pp_peer_batch_add(struct pp_peer *p, const uint8_t *data, size_t len)
{
	if (len > PP_PEER_BATCH_BYTES) { /* an oversized record goes alone */
		pp_peer_batch_flush(p);
		return pp_ice_send(p->ice, data, len);
	}
	if (p->batch_n == PP_ICE_BATCH_MAX || p->batch_used + len > PP_PEER_BATCH_BYTES)
		pp_peer_batch_flush(p);
	memcpy(p->batch_buf + p->batch_used, data, len);
	p->batch_iov[p->batch_n].iov_base = p->batch_buf + p->batch_used;
	p->batch_iov[p->batch_n].iov_len = len;
	p->batch_n++;
	p->batch_used += len;
	return 0;
}
