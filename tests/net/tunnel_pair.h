/* SPDX-License-Identifier: Apache-2.0 */
/* Test harness for the tunnel library (session.h, stream.h): a gateway and
 * a desktop pp_tsession in one process over 127.0.0.1 (the real stack:
 * ICE, DTLS, SCTP, channels), signaling by deferred direct calls, and
 * socket end points ("pumps") that run in threads with blocking logic over
 * poll(2): they send a deterministic stream, echo, hash what they read,
 * read slowly, answer a SHA-256, or reset.
 *
 * The gateway side answers each stream request like the real gateway: it
 * accepts the stream, connects a TCP socket to the test's "service" (a
 * pump chosen by the channel's label, see tp_service_add), attaches it and
 * sends CONNECTED. The desktop side opens streams with tp_open(), which
 * makes a TCP connection (or a UNIX socketpair), hands one end to
 * pp_tsession_open_stream() and the other end to a client pump.
 *
 * Everything of the tunnel runs on one GMainContext in the main thread;
 * tp_run_until() iterates it. Pumps only touch their own socket. */
#ifndef PEERPIPE_TESTS_TUNNEL_PAIR_H
#define PEERPIPE_TESTS_TUNNEL_PAIR_H

#include "peerpipe/tunnel/session.h"

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#define TP_SHA_LEN 32

/* What a socket end point does. All-zero: read to EOF, send nothing,
 * close normally. */
struct tp_pump_cfg {
	uint64_t send;           /* bytes of the deterministic stream to send */
	uint32_t seed;           /* which stream (see tp_gen_block) */
	bool echo;               /* send back what is read; SHUT_WR after EOF */
	bool sha_reply;          /* after EOF: send the SHA-256 of what was read */
	bool shut_wr;            /* shutdown(SHUT_WR) once everything is sent */
	bool no_read;            /* never read (the socket's buffers fill) */
	volatile gint *read_gate; /* if set: no read while *read_gate is zero */
	uint64_t pause_at;       /* stop sending after this many bytes ... */
	volatile gint *gate;     /* ... until *gate is non-zero */
	size_t read_chunk;       /* bytes per read; 0 = 64 KiB */
	unsigned read_delay_ms;  /* pause after each read (slow consumer) */
	bool rst_at_end;         /* close with SO_LINGER 0 */
	uint64_t rst_after;      /* once this many bytes were read: stop and
	                          * close with SO_LINGER 0 (0 = never) */
	unsigned timeout_s;      /* 0 = 100: the pump gives up (timed_out) */
	bool hold_open;          /* once done, keep the socket open until it is
	                          * reset (err) or the pump is stopped */
};

struct tp_pump {
	struct tp_pump_cfg cfg;
	int fd;
	GThread *thread;
	GMainContext *wake;      /* woken when done */
	volatile gint stop;      /* set by tp_pump_stop() */
	/* progress (atomic, any time) */
	uint64_t sent;
	uint64_t received;
	/* results, valid once done */
	uint8_t sent_sha[TP_SHA_LEN];
	uint8_t recv_sha[TP_SHA_LEN];
	uint8_t head[64];        /* the first bytes read */
	size_t head_len;
	bool eof;                /* the other end ended cleanly (read 0) */
	volatile gint eof_seen;  /* eof, readable at any time */
	int err;                 /* errno of the read/write that failed, 0 = none */
	const char *err_op;      /* "read" / "write" / "poll" */
	bool timed_out;
	volatile gint done;
};

struct tp_pump *tp_pump_start(int fd, const struct tp_pump_cfg *cfg, GMainContext *wake);
bool tp_pump_done(struct tp_pump *p);
uint64_t tp_pump_received(struct tp_pump *p);
uint64_t tp_pump_sent(struct tp_pump *p);
/* Asks the pump to end (it closes its socket) and joins it. */
void tp_pump_stop(struct tp_pump *p);
/* Joins (the pump must be done or stopped) and frees. */
void tp_pump_free(struct tp_pump *p);
/* The deterministic stream: 64 KiB block `index` of stream `seed`;
 * even blocks are pseudo-random, odd ones SQL-like text (compressible). */
void tp_gen_block(uint32_t seed, uint64_t index, uint8_t out[65536]);
/* SHA-256 of the first len bytes of stream seed. */
void tp_gen_sha(uint32_t seed, uint64_t len, uint8_t out[TP_SHA_LEN]);

/* Two connected stream sockets, both blocking: TCP over 127.0.0.1, or a
 * UNIX socketpair. sockbuf > 0: SO_SNDBUF and SO_RCVBUF of both (so that
 * the kernel holds little and the tunnel's own buffering shows). */
void tp_socket_pair(bool unix_socket, int sockbuf, int *a, int *b);
int tp_set_nonblock(int fd);

struct tunnel_pair;
struct tp_side;

/* One side's record of one stream, kept after the stream is freed. */
struct tp_stream {
	struct tp_side *side;
	struct pp_tstream *st;   /* NULL once closed (the session frees it) */
	char name[128];          /* "label#id": the same on both sides */
	char label[80];
	bool connected;          /* desktop: CONNECTED received; gateway: sent */
	uint64_t wire_at_connected; /* desktop: message bytes received up to
	                          * and with CONNECTED */
	unsigned connected_hold_ms; /* gateway: see tp_service */
	int last_text;           /* desktop: type of the last stream text */
	bool closed;
	char reason[128];
	struct pp_tstream_stats stats; /* at close */
	struct tp_pump *pump;    /* gateway: the service end; desktop: the client */
	int sock_fd;             /* gateway, held streams: -1 */
};

struct tp_side {
	struct tunnel_pair *pair;
	const char *name;
	bool gateway;
	struct pp_identity *id;
	struct pp_tsession *s;
	bool ready;
	bool closed;
	char closed_reason[128];
	GPtrArray *controls;     /* struct pp_ctrl_msg type + reason: "BYE:bye" */
	GPtrArray *streams;      /* struct tp_stream *, every one ever */
};

/* A service the gateway side offers: label -> what its end point does. */
struct tp_service {
	struct tp_pump_cfg pump;
	bool hold;               /* accept the stream but never connect nor
	                          * answer (the service is "slow to accept") */
	unsigned connected_hold_ms; /* CONNECTED with pp_tstream_send_text_soon()
	                          * (as gw_stream.c sends it); 0: at once */
	bool never_close;        /* answer CONNECTED and EOF on the bare
	                          * channel, then nothing: a gateway that never
	                          * ends a finished stream (no gateway record) */
};

struct tp_pair_opts {
	int compression;                 /* enum pp_frame_policy */
	struct pp_tstream_config stream; /* both sides */
	int sockbuf;                     /* see tp_socket_pair() */
	size_t streams_memory;           /* both sessions' pool; 0: the default */
};

struct tunnel_pair {
	GMainContext *ctx;
	struct tp_side gw, desk;
	GQueue sigq;
	GSource *sig_idle;
	GHashTable *services;    /* label -> struct tp_service * */
	GPtrArray *log;          /* log lines at WARN and above (char *) */
	int sockbuf;
	/* TP_SYNC_SIGNALING set in the environment: SDP and candidates are
	 * handed to the other session from inside the callback that made
	 * them, instead of from an idle (re-entrancy check). */
	bool sync_signaling;
};

/* Creates both sessions, connects them and waits for READY on both (the
 * test fails if that takes over 20 s). opts may be NULL. */
struct tunnel_pair *tp_pair_new(const struct tp_pair_opts *opts);
/* Stops the pumps still running, frees the sessions (dropping streams). */
void tp_pair_free(struct tunnel_pair *tp);
void tp_service_add(struct tunnel_pair *tp, const char *label, const struct tp_service *svc);

/* Opens a stream from the desktop side to service `label`, with a client
 * pump of cfg on the other end of the socket (cfg NULL: no pump, the
 * client socket is returned in *client_fd, blocking, owned by the caller). */
struct tp_stream *tp_open(struct tunnel_pair *tp, const char *label, bool unix_socket,
                          const struct tp_pump_cfg *cfg, int *client_fd);
/* Gateway side: connects a held stream's service now (a service pump of
 * cfg), attaches the socket and sends CONNECTED. */
void tp_gateway_connect(struct tunnel_pair *tp, struct tp_stream *gs, const struct tp_pump_cfg *cfg);
/* The gateway side's record of the same stream (NULL if not there yet). */
struct tp_stream *tp_peer_stream(struct tunnel_pair *tp, const struct tp_stream *ds);
/* Waits until the gateway has the stream and the desktop got CONNECTED
 * (or, for a held service, until the gateway has the stream). */
struct tp_stream *tp_wait_established(struct tunnel_pair *tp, struct tp_stream *ds, bool held);

/* Iterates the context until pred(data) or ms passed; returns pred(data). */
bool tp_run_until(struct tunnel_pair *tp, bool (*pred)(void *data), void *data, unsigned ms);
/* Iterates for ms (lets in-flight work settle). */
void tp_run_for(struct tunnel_pair *tp, unsigned ms);
bool tp_pred_pump_done(void *pump);
/* Iterates until the pump has read at least n bytes (or is done). */
bool tp_wait_received(struct tunnel_pair *tp, struct tp_pump *p, uint64_t n, unsigned ms);
/* ... has sent at least n bytes (or is done). */
bool tp_wait_sent(struct tunnel_pair *tp, struct tp_pump *p, uint64_t n, unsigned ms);
bool tp_pred_stream_closed(void *tp_stream);

/* True when a captured log line (WARN or above) contains needle. */
bool tp_log_contains(struct tunnel_pair *tp, const char *needle);
/* Resident set size of this process in KiB (VmRSS), 0 if unknown. */
uint64_t tp_rss_kib(void);

#endif
