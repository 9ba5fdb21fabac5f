/* SPDX-License-Identifier: Apache-2.0 */
/* Internals shared by the sctp*.c files (association, usrsctp glue,
 * channels, CRC32c). Not installed. */
#ifndef PEERPIPE_RTC_SCTP_PRIV_H
#define PEERPIPE_RTC_SCTP_PRIV_H

#include "peerpipe/buf.h"
#include "peerpipe/rtc/sctp.h"

#include <glib.h>
#include <usrsctp.h>

#define PP_SCTP_DEF_PORT 5000
#define PP_SCTP_DEF_MAX_MESSAGE (256u * 1024)
#define PP_SCTP_DEF_BUFFER PP_SCTP_BUFFER_DEFAULT
#define PP_SCTP_DEF_MAX_BUFFERED ((size_t)16 * 1024 * 1024)
#define PP_SCTP_DEF_MTU 1151
#define PP_SCTP_DEF_STREAMS 1024
#define PP_SCTP_HEADER_LEN 12   /* SCTP common header */

/* Chunk types we read or write ourselves (RFC 9260 §3.2, RFC 3758,
 * RFC 4820, RFC 6525, RFC 8260). */
enum {
	PP_SCTP_CHUNK_DATA = 0,
	PP_SCTP_CHUNK_SACK = 3,
	PP_SCTP_CHUNK_HEARTBEAT = 4,
	PP_SCTP_CHUNK_HEARTBEAT_ACK = 5,
	PP_SCTP_CHUNK_IDATA = 64,
	PP_SCTP_CHUNK_RECONFIG = 130,
	PP_SCTP_CHUNK_PAD = 132,
	PP_SCTP_CHUNK_FWD_TSN = 192,
	PP_SCTP_CHUNK_IFWD_TSN = 194,
};

/* A chunk's length rounded up to the 4 bytes it takes in a packet. */
static inline size_t pp_sctp_pad4(size_t n)
{
	return (n + 3) & ~(size_t)3;
}
#define PP_SCTP_EARLY_MAX 16    /* packets kept before pp_sctp_connect() */
#define PP_SCTP_NOTIF_MAX (256u * 1024) /* a reset of every stream: 128 KiB */
#define PP_SCTP_RECV_BUDGET 256 /* messages per dispatch before yielding */
#define PP_SCTP_RESET_RETRY_US (50 * 1000)
#define PP_SCTP_RESET_BATCH_MAX 64 /* batched resets issued at once past this */
#define PP_SCTP_FLUSH_RETRY_US (100 * 1000) /* blocked: look again anyway */

/* Path MTU search (sctp_pmtu.c, sctp_pmtu_wire.c). Sizes are whole SCTP
 * packets (common header included). */
#define PP_SCTP_PROBE_TOKEN 16  /* magic "PPMT", probed size, nonce */
#define PP_SCTP_PROBE_MIN 64    /* header 12 + HEARTBEAT 44 + PAD 4, rounded */
#define PP_SCTP_PROBE_MAX 65532
#define PP_SCTP_PROBE_TRIES 3   /* unanswered probes before a size fails */
#define PP_SCTP_PROBE_MS 250    /* between probes of one size */
#define PP_SCTP_CONFIRM_MS 10000       /* the size in use is probed again */
#define PP_SCTP_RESEARCH_MS (600 * 1000) /* a search that stopped short: again */

/* A confirmation of the size in use that goes unanswered is a black hole
 * only if the path is up: the base size gets through, and the failed size
 * still does not right after (sctp_pmtu.c). */
enum pp_sctp_pmtu_check {
	PP_SCTP_CHECK_SIZE = 0, /* probes of the size in use */
	PP_SCTP_CHECK_BASE,     /* they went unanswered: probes of the base */
	PP_SCTP_CHECK_AGAIN,    /* the base was answered: the size once more */
};

struct pp_sctp_pmtu {
	size_t limit;         /* largest packet the layers below take; 0: off */
	size_t current;       /* packet size in use */
	size_t probe;         /* size probed now; 0: none outstanding */
	unsigned tries;       /* probes of this size unanswered so far */
	unsigned next;        /* next index in the search ladder */
	bool confirming;      /* probe is of current: a black hole check */
	enum pp_sctp_pmtu_check check; /* where that check stands */
	size_t failed;        /* the size that went unanswered */
	bool answered;        /* its HEARTBEAT ACK came: the timer acts on it */
	uint8_t token[PP_SCTP_PROBE_TOKEN];
	uint32_t vtag;        /* the peer's, read from our own DATA/SACK output */
	bool vtag_known;
	GSource *timer;
	gint64 research_at;   /* monotonic µs; 0: never */
};

/* What an outgoing packet holds, for bundling (sctp_bundle.c). */
struct pp_sctp_bundle {
	bool ok;        /* only chunks that may share a packet, in a valid order */
	bool data;      /* DATA or I-DATA */
	unsigned ctrl;  /* control chunk types present (one bit each) */
	size_t reconf_off, reconf_len; /* its RE-CONFIG chunk, if any */
	size_t sack_off, sack_len;     /* its SACK chunk (padded length) */
	bool sack_replaced;            /* held: its SACK came with a later packet */
	uint16_t reconf_param;         /* type of that chunk's only parameter; 0: several */
};

/* One queued outgoing message. */
struct pp_sctp_msg {
	uint32_t ppid;
	size_t len;     /* bytes to give usrsctp (1 for the empty PPIDs) */
	size_t off;     /* bytes usrsctp has accepted already */
	bool counts;    /* user data: len - off is in buffered_amount */
	uint8_t data[];
};

struct pp_sctp_channel {
	struct pp_sctp *s;
	int refs;
	uint16_t id;
	enum pp_sctp_channel_state state;
	struct pp_sctp_channel_options opt;
	char *label;
	char *protocol;
	void *user;

	GQueue queue;         /* struct pp_sctp_msg *, oldest first */
	size_t buffered;
	size_t low_threshold;
	bool in_sendq;        /* listed in s->sendq */
	bool low_pending;     /* on_buffered_amount_low owed */

	bool reset_wanted;    /* closing: reset our side once the queue drains */
	bool reset_batched;   /* ...and it may wait for s->reset_batch_due */
	bool reset_sent;      /* SCTP_RESET_STREAMS accepted by usrsctp */
	bool out_reset;       /* our outgoing stream is reset */
	bool in_reset;        /* the peer reset its outgoing stream */
	bool ack_owed;        /* cfg.dcep_ack_delay_ms: the peer's OPEN not acked yet */
	gint64 ack_due;       /* monotonic µs: the ACK leaves alone then */

	struct pp_buf rx;     /* message arriving in pieces */
	uint32_t rx_ppid;
	bool rx_discard;      /* too big: drop pieces until MSG_EOR */
};

struct pp_sctp {
	GMainContext *ctx;
	struct pp_sctp_config cfg;
	struct pp_sctp_callbacks cb;
	void *user;
	char *log_peer;

	struct socket *sock;
	enum pp_sctp_state state;
	bool reported_up;     /* on_state(CONNECTED) delivered */
	bool end_pending;     /* CLOSED/FAILED to report from the work source */
	bool end_reported;
	enum pp_sctp_state end_state;
	bool shutdown_sent;
	uint16_t out_streams;
	uint16_t in_streams;

	GSource *work;        /* runs pp_sctp_work(); woken by ready time */
	GSource *deadline;    /* pp_sctp_wake_at(): a timeout that runs the work */
	gint64 deadline_at;
	bool in_work;
	bool work_now;        /* the upcall fired inside pp_sctp_feed() */
	bool work_due;        /* pp_sctp_wake() on the owner thread: run the work */
	bool doomed;          /* pp_sctp_free() deferred: inside work or usrsctp */
	bool rx_paused;       /* pp_sctp_pause_receive(): leave data in usrsctp */

	GHashTable *channels; /* stream id -> channel */
	GQueue sendq;         /* channels with queued messages, round robin */
	struct pp_sctp_channel *locked; /* message partly accepted by usrsctp */
	bool resets_pending;  /* a reset to issue at the next flush */
	gint64 reset_retry_at;
	unsigned resets_batched; /* channels closed batched, reset not issued */
	gint64 reset_batch_due;  /* monotonic µs: they are issued then at last */
	GHashTable *stale_out; /* ids whose channel finished when the peer reused
	                        * them, before the response to our reset came:
	                        * that response is not the new channel's */
	unsigned acks_owed;   /* channels with ack_owed */
	gint64 acks_due;      /* none of them is due before (monotonic µs) */

	uint8_t *rbuf;        /* usrsctp_recvv target */
	size_t rbuf_len;
	struct pp_buf notif;  /* notification arriving in pieces */

	GQueue early;         /* GBytes fed before pp_sctp_connect() */
	GMutex xlock;
	GQueue xq;            /* GBytes output on a thread not owning ctx */
	uint8_t *held;        /* cfg.bundle: a small packet waiting for company */
	size_t held_len;      /* 0: none */
	struct pp_sctp_bundle held_kind;

	struct pp_sctp_pmtu pmtu;
	struct pp_sctp_stats stats;
};

/* sctp_glue.c: the process-wide usrsctp instance. Every usrsctp call is
 * made with the lock held (it is recursive). */
void pp_sctp_lock(void);
void pp_sctp_unlock(void);
bool pp_sctp_in_usrsctp(void);
int pp_sctp_glue_attach(struct pp_sctp *s);
void pp_sctp_glue_detach(struct pp_sctp *s);
void pp_sctp_glue_upcall(struct socket *sock, void *arg, int flags);
/* Lock held. True in the outermost pp_sctp_lock() of this thread. */
bool pp_sctp_lock_outermost(void);
/* Lock held, for the clock: is any association live; and, with none,
 * try to finish usrsctp (true: finished, or given up after 30 s of
 * tries: the clock may stop). */
bool pp_sctp_glue_live(void);
bool pp_sctp_glue_finish(void);

/* sctp_clock.c: usrsctp's clock, a tick source on each context with a live
 * association. Lock held for all but _read. */
void pp_sctp_clock_attach(GMainContext *ctx);
/* last: no association is left anywhere (the source stays, to finish). */
void pp_sctp_clock_detach(GMainContext *ctx, bool last);
/* In the output hook: a packet of some association went out (the clock
 * ticks fast again unless it holds heartbeats only). */
void pp_sctp_clock_activity(const uint8_t *pkt, size_t len);
/* Before a usrsctp call that may arm timers: brings a slow clock's time
 * up to now, then ticks fast (pkt: the packet about to be fed, which may
 * be heartbeats only; NULL for a send, reset or shutdown). */
void pp_sctp_clock_wake(const uint8_t *pkt, size_t len);

/* The usrsctp clock, for tests. */
struct pp_sctp_clock {
	bool slow;        /* ticking every 250 ms: no packet for 1 s */
	guint64 ticks;    /* since the process started, from every context */
	unsigned sources; /* contexts ticking */
};
void pp_sctp_clock_read(struct pp_sctp_clock *out);

void pp_sctp_wake(struct pp_sctp *s);
void pp_sctp_wake_at(struct pp_sctp *s, gint64 at);
/* The association in usrsctp_conninput() from pp_sctp_feed() on this
 * thread: its upcall sets work_now instead of waking the work source. */
extern _Thread_local struct pp_sctp *pp_sctp_feeding;

/* sctp_bundle.c: sends pkt, or keeps it to share a packet with the next
 * (cfg.bundle); owner thread, from usrsctp's output callback. */
void pp_sctp_bundle_out(struct pp_sctp *s, uint8_t *pkt, size_t len);

/* sctp_crc32c.c */
uint32_t pp_sctp_crc32c_sw(uint32_t crc, const void *data, size_t len);
uint32_t pp_sctp_crc32c_update(uint32_t crc, const void *data, size_t len);
void pp_sctp_crc32c_stamp(uint8_t *pkt, size_t len);
bool pp_sctp_crc32c_ok(const uint8_t *pkt, size_t len);

/* sctp_pmtu_wire.c: a probe of exactly size bytes (a multiple of 4,
 * PP_SCTP_PROBE_MIN..MAX) with its CRC32c; 0 for a bad size. */
size_t pp_sctp_probe_build(uint8_t *out, size_t size, uint16_t sport, uint16_t dport,
                           uint32_t vtag, const uint8_t token[PP_SCTP_PROBE_TOKEN]);
void pp_sctp_probe_token(uint8_t token[PP_SCTP_PROBE_TOKEN], uint32_t size, uint64_t nonce);
/* 1 and the token when pkt holds a HEARTBEAT ACK of one of our probes
 * (*alone: it is the packet's only chunk), 0 when not, -1 when the chunks
 * do not parse (left to usrsctp). Reads nothing outside pkt[0..len). */
int pp_sctp_probe_ack_find(const uint8_t *pkt, size_t len, uint8_t token[PP_SCTP_PROBE_TOKEN],
                           bool *alone);

/* sctp_pmtu.c */
void pp_sctp_pmtu_note_output(struct pp_sctp *s, const uint8_t *pkt, size_t len);
bool pp_sctp_pmtu_input(struct pp_sctp *s, const uint8_t *pkt, size_t len);
void pp_sctp_pmtu_stop(struct pp_sctp *s);

/* sctp_socket.c */
void pp_sctp_apply_defaults(struct pp_sctp_config *c);
bool pp_sctp_config_ok(const struct pp_sctp_config *c);
void pp_sctp_conn_addr(struct pp_sctp *s, uint16_t port, struct sockaddr_conn *a);
/* SCTP_PEER_ADDR_PARAMS for the association's one address (filled in
 * here), under the lock: 0, or -1 with errno when usrsctp refuses or
 * there is no socket. */
int pp_sctp_set_peer_params(struct pp_sctp *s, struct sctp_paddrparams *pp);
int pp_sctp_socket_open(struct pp_sctp *s);
void pp_sctp_socket_close(struct pp_sctp *s);

/* sctp.c */
void pp_sctp_work(struct pp_sctp *s);
void pp_sctp_end(struct pp_sctp *s, enum pp_sctp_state st);
void pp_sctp_maybe_shutdown(struct pp_sctp *s);

/* sctp_recv.c */
void pp_sctp_recv_all(struct pp_sctp *s);

/* sctp_channel.c */
struct pp_sctp_channel *pp_sctp_channel_find(struct pp_sctp *s, uint16_t id);
void pp_sctp_channel_unref(struct pp_sctp_channel *ch);
void pp_sctp_channel_opened(struct pp_sctp_channel *ch);
void pp_sctp_channel_on_dcep(struct pp_sctp *s, uint16_t id, const uint8_t *msg, size_t len);
void pp_sctp_channel_on_data(struct pp_sctp_channel *ch, uint32_t ppid,
                             const uint8_t *data, size_t len, bool eor);
void pp_sctp_channel_on_reset(struct pp_sctp *s, uint16_t flags,
                              const uint16_t *ids, size_t n);
void pp_sctp_channel_finish(struct pp_sctp_channel *ch, bool notify);
bool pp_sctp_stale_out_take(struct pp_sctp *s, uint16_t id);
void pp_sctp_channels_up(struct pp_sctp *s);
/* cfg.dcep_ack_delay_ms: sends the DCEP ACKs that are due, wakes the work
 * for the next. */
void pp_sctp_channels_ack_due(struct pp_sctp *s);
void pp_sctp_channels_end(struct pp_sctp *s, bool notify);

/* sctp_send.c */
int pp_sctp_queue_msg(struct pp_sctp_channel *ch, uint32_t ppid,
                      const void *data, size_t len, bool counts);
void pp_sctp_flush(struct pp_sctp *s);
void pp_sctp_queue_clear(struct pp_sctp_channel *ch);
bool pp_sctp_all_sent(const struct pp_sctp *s);

#define PP_SCTP_CALL(s, name, ...)                                      \
	do {                                                            \
		if (!(s)->doomed && (s)->cb.name)                       \
			(s)->cb.name((s)->user, __VA_ARGS__);           \
	} while (0)

#endif
