/* SPDX-License-Identifier: Apache-2.0 */
/* See wslimit_stream.h. Two GObject types: the metered input stream
 * (GInputStream + GPollableInputStream, which SoupWebsocketConnection
 * needs) and the GIOStream that pairs it with base's output. */
#include "wslimit_stream.h"

#include "peerpipe/wslimit.h"

#include <stdbool.h>
#include <string.h>

#define PP_TYPE_WSLIMIT_INPUT (pp_wslimit_input_get_type())
G_DECLARE_FINAL_TYPE(PpWslimitInput, pp_wslimit_input, PP, WSLIMIT_INPUT, GInputStream)
#define PP_TYPE_WSLIMIT_STREAM (pp_wslimit_stream_get_type())
G_DECLARE_FINAL_TYPE(PpWslimitStream, pp_wslimit_stream, PP, WSLIMIT_STREAM, GIOStream)

struct _PpWslimitInput {
	GInputStream parent;
	GInputStream *base;       /* base's input, pollable */
	GBytes *head;             /* read past the HTTP answer: served first */
	size_t head_off;
	struct pp_wslimit meter;
	bool stalled;             /* past the limit: no more input, ever */
	PpWslimitStream *owner;   /* not a reference: it owns us */
};

struct _PpWslimitStream {
	GIOStream parent;
	GIOStream *base;
	PpWslimitInput *input;
	GMainContext *ctx;
	GSource *notify;          /* pending "too-big" */
	guint64 size;             /* what the offending frame claims */
	bool tripped;
};

enum { PP_WSLIMIT_SIGNAL_TOO_BIG, PP_WSLIMIT_N_SIGNALS };
static guint pp_wslimit_signals[PP_WSLIMIT_N_SIGNALS];

static void pp_wslimit_input_pollable_init(GPollableInputStreamInterface *iface);

G_DEFINE_TYPE_WITH_CODE(PpWslimitInput, pp_wslimit_input, G_TYPE_INPUT_STREAM,
                        G_IMPLEMENT_INTERFACE(G_TYPE_POLLABLE_INPUT_STREAM,
                                              pp_wslimit_input_pollable_init))
G_DEFINE_TYPE(PpWslimitStream, pp_wslimit_stream, G_TYPE_IO_STREAM)

/* ---- the input */

static gboolean pp_wslimit_stream_on_notify(gpointer data)
{
	PpWslimitStream *self = data;
	g_clear_pointer(&self->notify, g_source_unref);
	g_object_ref(self); /* a handler may drop the last other reference */
	g_signal_emit(self, pp_wslimit_signals[PP_WSLIMIT_SIGNAL_TOO_BIG], 0, self->size);
	g_object_unref(self);
	return G_SOURCE_REMOVE;
}

static void pp_wslimit_stream_trip(PpWslimitStream *self, uint64_t size)
{
	if (self->tripped)
		return;
	self->tripped = true;
	self->size = size;
	self->notify = g_idle_source_new();
	g_source_set_callback(self->notify, pp_wslimit_stream_on_notify, self, NULL);
	g_source_attach(self->notify, self->ctx);
}

/* Up to count bytes of what was read past the HTTP answer; 0 once none
 * are left. */
static gsize pp_wslimit_input_from_head(PpWslimitInput *self, void *buf, gsize count)
{
	gsize len = 0;
	const guint8 *p = self->head ? g_bytes_get_data(self->head, &len) : NULL;
	gsize n = MIN(count, len - self->head_off);

	if (n)
		memcpy(buf, p + self->head_off, n);
	self->head_off += n;
	return n;
}

/* n bytes just read into buf (or n <= 0 from the read): how many go on. */
static gssize pp_wslimit_input_pass(PpWslimitInput *self, const void *buf, gssize n,
                                    bool blocking, GError **error)
{
	size_t ok = 0;
	uint64_t size = 0;

	if (n <= 0 || pp_wslimit_feed(&self->meter, buf, (size_t)n, &ok, &size) == 0)
		return n;
	self->stalled = true; /* the rest of buf is dropped */
	pp_wslimit_stream_trip(self->owner, size);
	if (ok > 0)
		return (gssize)ok;
	if (blocking)
		g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE, "message too big");
	else
		g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK, "message too big: stopped");
	return -1;
}

static gssize pp_wslimit_input_read_nonblocking(GPollableInputStream *s, void *buf, gsize count,
                                                GError **error)
{
	PpWslimitInput *self = PP_WSLIMIT_INPUT(s);
	gssize n;

	if (self->stalled) {
		g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK, "message too big: stopped");
		return -1;
	}
	n = (gssize)pp_wslimit_input_from_head(self, buf, count);
	if (n == 0)
		n = g_pollable_input_stream_read_nonblocking(G_POLLABLE_INPUT_STREAM(self->base), buf,
		                                             count, NULL, error);
	return pp_wslimit_input_pass(self, buf, n, false, error);
}

static gssize pp_wslimit_input_read(GInputStream *s, void *buf, gsize count,
                                    GCancellable *cancel, GError **error)
{
	PpWslimitInput *self = PP_WSLIMIT_INPUT(s);
	gssize n;

	if (self->stalled) {
		g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE, "message too big");
		return -1;
	}
	n = (gssize)pp_wslimit_input_from_head(self, buf, count);
	if (n == 0)
		n = g_input_stream_read(self->base, buf, count, cancel, error);
	return pp_wslimit_input_pass(self, buf, n, true, error);
}

static gboolean pp_wslimit_input_close(GInputStream *s, GCancellable *cancel, GError **error)
{
	return TRUE; /* the GIOStream closes base */
}

static gboolean pp_wslimit_input_can_poll(GPollableInputStream *s)
{
	return g_pollable_input_stream_can_poll(G_POLLABLE_INPUT_STREAM(PP_WSLIMIT_INPUT(s)->base));
}

static gboolean pp_wslimit_input_is_readable(GPollableInputStream *s)
{
	PpWslimitInput *self = PP_WSLIMIT_INPUT(s);

	if (self->stalled)
		return FALSE;
	if (self->head && self->head_off < g_bytes_get_size(self->head))
		return TRUE;
	return g_pollable_input_stream_is_readable(G_POLLABLE_INPUT_STREAM(self->base));
}

static GSource *pp_wslimit_input_create_source(GPollableInputStream *s, GCancellable *cancel)
{
	PpWslimitInput *self = PP_WSLIMIT_INPUT(s);
	GSource *base_src, *src;

	if (self->stalled) /* no child and no ready time: never dispatched */
		return g_pollable_source_new_full(s, NULL, cancel);
	if (self->head && self->head_off < g_bytes_get_size(self->head)) {
		src = g_pollable_source_new_full(s, NULL, cancel);
		g_source_set_ready_time(src, 0); /* readable now, whatever base says */
		return src;
	}
	base_src = g_pollable_input_stream_create_source(G_POLLABLE_INPUT_STREAM(self->base), cancel);
	src = g_pollable_source_new_full(s, base_src, cancel);
	g_source_unref(base_src);
	return src;
}

static void pp_wslimit_input_finalize(GObject *o)
{
	PpWslimitInput *self = PP_WSLIMIT_INPUT(o);
	g_clear_object(&self->base);
	g_clear_pointer(&self->head, g_bytes_unref);
	G_OBJECT_CLASS(pp_wslimit_input_parent_class)->finalize(o);
}

static void pp_wslimit_input_init(PpWslimitInput *self)
{
}

static void pp_wslimit_input_class_init(PpWslimitInputClass *klass)
{
	G_OBJECT_CLASS(klass)->finalize = pp_wslimit_input_finalize;
	G_INPUT_STREAM_CLASS(klass)->read_fn = pp_wslimit_input_read;
	G_INPUT_STREAM_CLASS(klass)->close_fn = pp_wslimit_input_close;
}

static void pp_wslimit_input_pollable_init(GPollableInputStreamInterface *iface)
{
	iface->can_poll = pp_wslimit_input_can_poll;
	iface->is_readable = pp_wslimit_input_is_readable;
	iface->create_source = pp_wslimit_input_create_source;
	iface->read_nonblocking = pp_wslimit_input_read_nonblocking;
}

/* ---- the GIOStream */

static GInputStream *pp_wslimit_stream_get_input(GIOStream *s)
{
	return G_INPUT_STREAM(PP_WSLIMIT_STREAM(s)->input);
}

static GOutputStream *pp_wslimit_stream_get_output(GIOStream *s)
{
	return g_io_stream_get_output_stream(PP_WSLIMIT_STREAM(s)->base);
}

static gboolean pp_wslimit_stream_close(GIOStream *s, GCancellable *cancel, GError **error)
{
	return g_io_stream_close(PP_WSLIMIT_STREAM(s)->base, cancel, error);
}

static void pp_wslimit_stream_base_closed(GObject *src, GAsyncResult *res, gpointer data)
{
	GTask *task = data;
	GError *err = NULL;

	if (g_io_stream_close_finish(G_IO_STREAM(src), res, &err))
		g_task_return_boolean(task, TRUE);
	else
		g_task_return_error(task, err);
	g_object_unref(task);
}

/* GIOStream's own would close base from a thread: ask base instead. */
static void pp_wslimit_stream_close_async(GIOStream *s, int prio, GCancellable *cancel,
                                          GAsyncReadyCallback cb, gpointer data)
{
	GTask *task = g_task_new(s, cancel, cb, data);
	g_io_stream_close_async(PP_WSLIMIT_STREAM(s)->base, prio, cancel,
	                        pp_wslimit_stream_base_closed, task);
}

static gboolean pp_wslimit_stream_close_finish(GIOStream *s, GAsyncResult *res, GError **error)
{
	return g_task_propagate_boolean(G_TASK(res), error);
}

static void pp_wslimit_stream_dispose(GObject *o)
{
	PpWslimitStream *self = PP_WSLIMIT_STREAM(o);
	if (self->notify) {
		g_source_destroy(self->notify);
		g_clear_pointer(&self->notify, g_source_unref);
	}
	G_OBJECT_CLASS(pp_wslimit_stream_parent_class)->dispose(o); /* closes base */
}

static void pp_wslimit_stream_finalize(GObject *o)
{
	PpWslimitStream *self = PP_WSLIMIT_STREAM(o);
	g_clear_object(&self->input);
	g_clear_object(&self->base);
	g_main_context_unref(self->ctx);
	G_OBJECT_CLASS(pp_wslimit_stream_parent_class)->finalize(o);
}

static void pp_wslimit_stream_init(PpWslimitStream *self)
{
}

static void pp_wslimit_stream_class_init(PpWslimitStreamClass *klass)
{
	GObjectClass *oc = G_OBJECT_CLASS(klass);
	GIOStreamClass *ic = G_IO_STREAM_CLASS(klass);

	oc->dispose = pp_wslimit_stream_dispose;
	oc->finalize = pp_wslimit_stream_finalize;
	ic->get_input_stream = pp_wslimit_stream_get_input;
	ic->get_output_stream = pp_wslimit_stream_get_output;
	ic->close_fn = pp_wslimit_stream_close;
	ic->close_async = pp_wslimit_stream_close_async;
	ic->close_finish = pp_wslimit_stream_close_finish;
	pp_wslimit_signals[PP_WSLIMIT_SIGNAL_TOO_BIG] =
		g_signal_new("too-big", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
		             NULL, G_TYPE_NONE, 1, G_TYPE_UINT64);
}

GIOStream *pp_wslimit_stream_new(GIOStream *base, const void *head, size_t head_len,
                                 uint64_t max, GMainContext *ctx)
{
	PpWslimitStream *self = g_object_new(PP_TYPE_WSLIMIT_STREAM, NULL);
	PpWslimitInput *in = g_object_new(PP_TYPE_WSLIMIT_INPUT, NULL);

	self->base = g_object_ref(base);
	self->ctx = g_main_context_ref(ctx);
	in->base = g_object_ref(g_io_stream_get_input_stream(base));
	if (head_len)
		in->head = g_bytes_new(head, head_len);
	pp_wslimit_init(&in->meter, max);
	in->owner = self;
	self->input = in;
	in = NULL; /* transferred */
	return G_IO_STREAM(self);
}
