/* SPDX-License-Identifier: Apache-2.0 */
/* SCTP over DTLS (RFC 8261) and WebRTC data channels (RFC 8831, DCEP
 * RFC 8832) on usrsctp, driven from a GMainContext.
 *
 * One struct pp_sctp is one association. The lower layer (DTLS) hands each
 * received record to pp_sctp_feed(); every SCTP packet to send leaves
 * through the send_packet callback. usrsctp runs without threads
 * (usrsctp_init_nothreads, shared and refcounted by all associations of the
 * process); its clock is a 10 ms GLib timeout on the context of one live
 * association (usrsctp has no "next deadline" query, and 10 ms is well under
 * its 200 ms delayed-SACK and 1 s minimum RTO timers). The SCTP CRC32c is
 * computed here (SSE4.2 when the CPU has it) on output and verified on
 * input; usrsctp's own routine is switched off.
 *
 * Threading: every function is called on the thread that runs the context
 * given to pp_sctp_new(). Callbacks run only from a source on that context,
 * never from inside a usrsctp call, with one exception: send_packet runs
 * inside usrsctp (from pp_sctp_* calls and from the timer too). It must
 * only pass the bytes on (encrypt, queue, send) and call no pp_sctp_*
 * function but pp_sctp_free(). When usrsctp emits a packet on a thread that
 * does not own the association's context (its timer runs on one context for
 * the whole process, or a call is made outside the loop), the packet is
 * queued and sent from the association's context instead.
 *
 * Callbacks may call any pp_sctp_* function, including pp_sctp_free() on
 * their own association (no callback runs after it returns). A channel
 * pointer stays valid until on_channel_closed for it has returned (or until
 * pp_sctp_free()).
 *
 * Errors are 0 / negative PP_ERR_* or -errno (peerpipe/error.h). */
#ifndef PEERPIPE_RTC_SCTP_H
#define PEERPIPE_RTC_SCTP_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pp_sctp;
struct pp_sctp_channel;

/* The DTLS role picks the stream id parity (RFC 8832 §6). */
enum pp_sctp_role {
	PP_SCTP_ROLE_CLIENT = 0, /* DTLS client: even stream ids */
	PP_SCTP_ROLE_SERVER = 1, /* DTLS server: odd stream ids */
};

enum pp_sctp_state {
	PP_SCTP_NEW = 0,
	PP_SCTP_CONNECTING, /* pp_sctp_connect() called */
	PP_SCTP_CONNECTED,  /* reported through on_state */
	PP_SCTP_CLOSING,    /* pp_sctp_close() called, draining */
	PP_SCTP_CLOSED,     /* reported: orderly shutdown, or the peer aborted */
	PP_SCTP_FAILED,     /* reported: could not connect, or the peer is gone */
};

enum pp_sctp_channel_state {
	PP_SCTP_CHANNEL_OPENING = 0, /* OPEN sent, waiting for the ACK */
	PP_SCTP_CHANNEL_OPEN,
	PP_SCTP_CHANNEL_CLOSING,     /* stream reset under way */
	PP_SCTP_CHANNEL_CLOSED,
};

enum pp_sctp_kind {
	PP_SCTP_BINARY = 0, /* PPID 53, empty: 57 */
	PP_SCTP_TEXT = 1,   /* PPID 51, empty: 56 */
};

enum pp_sctp_reliability {
	PP_SCTP_RELIABLE = 0,
	PP_SCTP_MAX_RETRANSMITS, /* value = retransmissions (0 allowed) */
	PP_SCTP_MAX_LIFETIME,    /* value = milliseconds */
};

/* All-zero is a reliable, ordered channel. */
struct pp_sctp_channel_options {
	bool unordered;
	enum pp_sctp_reliability reliability;
	uint32_t value;
	uint16_t priority; /* DCEP priority; 0 means 256 (normal) */
};

/* send_buffer and recv_buffer when not set. A long path needs them to
 * cover its bandwidth-delay product (docs/rtc-stack.md, "Long paths"). */
#define PP_SCTP_BUFFER_DEFAULT (4u * 1024 * 1024)

/* Zero fields take the default shown. */
struct pp_sctp_config {
	uint16_t local_port;       /* 5000 */
	uint16_t remote_port;      /* 5000 */
	enum pp_sctp_role role;    /* client (even ids) */
	size_t max_message_size;   /* 262144: largest message sent or received
	                            * (a receive buffer this size per association) */
	uint32_t send_buffer;      /* 4 MiB: usrsctp SO_SNDBUF */
	uint32_t recv_buffer;      /* 4 MiB: usrsctp SO_RCVBUF (the window: one
	                            * association moves at most this much per
	                            * round trip, 52 MB/s at 80 ms) */
	size_t buffered_amount_low_threshold; /* 0: initial value for each channel */
	size_t max_buffered_amount; /* 16 MiB: per-channel queue bound */
	uint32_t path_mtu;         /* 1151: spp_pathmtu, PMTUD off; packets are
	                            * path_mtu + 12 bytes, 1200 with DTLS */
	uint16_t max_streams;      /* 1024 in and out (usrsctp allocates per stream) */
	uint32_t rto_initial_ms;   /* 1000 */
	uint32_t rto_min_ms;       /* 400, as Chromium's SCTP: well above any
	                            * peer's delayed SACK (ours 20 ms, theirs
	                            * 200), and a loss the fast retransmit
	                            * misses stalls 0.4 s, not RFC 4960's 1 s */
	uint32_t rto_max_ms;       /* 3000, as Chromium's SCTP: the cap of the
	                            * retransmission timer's backoff, so data
	                            * resumes within 3 s of a path that is back
	                            * after a long outage (at 10 s: up to 10) */
	uint16_t max_retransmits;  /* 30: association failure threshold, in
	                            * timeouts without an answer: 87 s at the
	                            * defaults (0.4 + 0.8 + 1.6 + 28 x 3), past
	                            * any outage the ICE layer lives through,
	                            * so ICE consent, not SCTP, declares a
	                            * path dead */
	uint16_t max_init_retransmits; /* 8 */
	uint32_t heartbeat_ms;     /* 10000 */
	uint32_t pmtu_probe_ms;    /* 250: between path MTU probes of one size */
	uint32_t pmtu_confirm_ms;  /* 10000: the raised size is probed again */
	uint32_t dcep_ack_delay_ms; /* 0: the DCEP ACK of a channel the peer
	                            * opens leaves at once; else it goes with
	                            * our first message on the channel (or its
	                            * close), alone after this long at most */
	uint32_t reset_batch_ms;   /* 0: pp_sctp_channel_close_batched() is
	                            * pp_sctp_channel_close(); else its reset
	                            * waits up to this long for others, and
	                            * they leave as one RE-CONFIG request */
	bool bundle;               /* false: small packets of a loop turn share
	                            * one; the owner then calls
	                            * pp_sctp_flush_output() before its
	                            * datagrams leave (see sctp_bundle.c) */
	const char *log_peer;      /* optional log prefix, copied */
};

struct pp_sctp_callbacks {
	/* One SCTP packet for the lower layer; see the threading note. The
	 * return value is ignored (a lost packet is retransmitted). */
	int (*send_packet)(void *user, const uint8_t *data, size_t len);
	/* CONNECTED, then at most one of CLOSED / FAILED. Before CLOSED or
	 * FAILED, on_channel_closed is called for every channel left. */
	void (*on_state)(void *user, enum pp_sctp_state state);
	/* Our channel got its ACK, or the peer opened one (ACK already sent). */
	void (*on_channel_open)(void *user, struct pp_sctp_channel *ch);
	/* data stays valid until the callback returns; len 0 for empty
	 * messages. */
	void (*on_message)(void *user, struct pp_sctp_channel *ch,
	                   enum pp_sctp_kind kind, const uint8_t *data, size_t len);
	/* Both directions of the stream are reset (or the association ended). */
	void (*on_channel_closed)(void *user, struct pp_sctp_channel *ch);
	/* buffered_amount fell from above the channel's threshold to or below. */
	void (*on_buffered_amount_low)(void *user, struct pp_sctp_channel *ch);
};

struct pp_sctp_stats {
	uint64_t packets_sent;
	uint64_t packets_received;
	uint64_t bad_packets;     /* too short or CRC32c mismatch, dropped */
	uint64_t messages_sent;
	uint64_t messages_received;
	uint64_t bytes_sent;      /* user payload accepted by usrsctp */
	uint64_t bytes_received;  /* user payload delivered */
	uint64_t pmtu_probes_sent;  /* path MTU probes (pp_sctp_set_path_limit) */
	uint64_t pmtu_probes_acked;
	uint64_t packets_bundled;   /* cfg.bundle: packets that joined another */
	uint64_t sends_held;        /* flushes that went past a channel whose stream
	                             * waited for a reset's response (an id the peer
	                             * reused early) */
	uint32_t path_packet;     /* largest SCTP packet sent now (header included) */
};

/* NULL on bad config or when usrsctp refuses the socket. Nothing is sent
 * until pp_sctp_connect(). */
struct pp_sctp *pp_sctp_new(GMainContext *ctx, const struct pp_sctp_config *cfg,
                            const struct pp_sctp_callbacks *cb, void *user);
/* Frees the association and its channels without any callback and without
 * sending anything (use pp_sctp_close() first for an orderly end). From a
 * callback or send_packet the memory goes a little later, from the context.
 * NULL is ignored. */
void pp_sctp_free(struct pp_sctp *s);

/* Both peers call it once DTLS is up (SCTP simultaneous open). Packets fed
 * before it are kept (a few) and processed after. */
int pp_sctp_connect(struct pp_sctp *s);
/* One received DTLS record. Returns 0, or PP_ERR_TRUNCATED / PP_ERR_INVALID
 * (bad CRC32c) / PP_ERR_STATE for a packet that was dropped. */
int pp_sctp_feed(struct pp_sctp *s, const uint8_t *packet, size_t len);
/* Orderly shutdown once every queued message is sent and acknowledged;
 * on_state(CLOSED) follows (or FAILED if the peer is gone). */
int pp_sctp_close(struct pp_sctp *s);

enum pp_sctp_state pp_sctp_get_state(const struct pp_sctp *s);
/* Receive-side flow control for the whole association: while paused,
 * nothing is read from usrsctp, so its receive buffer fills and the
 * advertised window closes; the sender's buffered_amount then grows and
 * its producer stops. Notifications (stream resets, shutdown) wait too.
 * Resuming reads on from the work source. */
void pp_sctp_pause_receive(struct pp_sctp *s, bool paused);
void pp_sctp_get_stats(const struct pp_sctp *s, struct pp_sctp_stats *out);

/* usrsctp's own counters, for every association of the process together
 * (usrsctp keeps no per-association ones): how loss recovery went. They
 * count from the first association after none: usrsctp is shut down when
 * the last one goes, and its counters with it. All zero while there is
 * none. */
struct pp_sctp_totals {
	uint64_t data_chunks_sent;      /* first transmissions */
	uint64_t chunks_retransmitted;  /* by fast retransmit or T3 */
	uint64_t fast_retransmits;
	uint64_t t3_expiries;           /* retransmission timeouts of DATA */
};
void pp_sctp_get_totals(struct pp_sctp_totals *out);
/* Path MTU discovery (RFC 8899 §6.2, sctp_pmtu.c). max_packet is the
 * largest SCTP packet the layers below could carry on the current path
 * (its route's MTU less IP, UDP and DTLS headers); the association then
 * probes for it, and for common smaller sizes, with HEARTBEAT + PAD
 * packets and sends packets as large as the largest size answered. Each
 * call is a new path: back to path_mtu first. 0 (or anything not above
 * path_mtu + 12) keeps the base size. */
void pp_sctp_set_path_limit(struct pp_sctp *s, size_t max_packet);
/* The SCTP packet size in use (path_mtu + 12 until a probe succeeds). */
size_t pp_sctp_path_packet(const struct pp_sctp *s);
/* The path works again after an outage (ICE found it back): a HEARTBEAT
 * goes now, and its answer has what the outage left outstanding resent at
 * once (scripts/usrsctp-patches/0002) instead of at the retransmission
 * timer's expiry, which the outage backed off up to rto_max_ms. Nothing
 * before the association is up. */
void pp_sctp_path_back(struct pp_sctp *s);
/* cfg.bundle: sends the packet waiting for company, if any (owner
 * thread); _waiting: is there one. */
void pp_sctp_flush_output(struct pp_sctp *s);
bool pp_sctp_output_waiting(const struct pp_sctp *s);
/* Stream counts negotiated (0 before CONNECTED). */
uint16_t pp_sctp_outbound_streams(const struct pp_sctp *s);

/* Opens a channel on the next free stream id of our parity and sends
 * DCEP OPEN (queued until the association is up). *out is valid at once;
 * on_channel_open follows the ACK. Messages may be sent before that (they
 * go ordered until the ACK). PP_ERR_STATE when closing/closed,
 * PP_ERR_TOO_BIG for a long label/protocol, -ENOSR when no id is free. */
int pp_sctp_channel_open(struct pp_sctp *s, const char *label, const char *protocol,
                         const struct pp_sctp_channel_options *opt,
                         struct pp_sctp_channel **out);
/* Sends one message (len may be 0). PP_ERR_TOO_BIG over max_message_size,
 * PP_ERR_STATE when the channel is closing or closed, -ENOBUFS when the
 * channel's queue would pass max_buffered_amount (nothing is queued). */
int pp_sctp_channel_send(struct pp_sctp_channel *ch, bool is_text,
                         const void *data, size_t len);
/* Resets our outgoing stream once everything queued before has been sent;
 * on_channel_closed follows when the peer has reset its side too. */
int pp_sctp_channel_close(struct pp_sctp_channel *ch);
/* The same for a channel whose exchange is over (nobody waits for its
 * reset): with cfg.reset_batch_ms the reset waits up to that long, and
 * leaves with every other one due by then, or with the first close that
 * cannot wait. One request, its response and the peer's reset of its own
 * halves then serve many streams instead of three packets each. */
int pp_sctp_channel_close_batched(struct pp_sctp_channel *ch);

uint16_t pp_sctp_channel_id(const struct pp_sctp_channel *ch);
const char *pp_sctp_channel_label(const struct pp_sctp_channel *ch);
const char *pp_sctp_channel_protocol(const struct pp_sctp_channel *ch);
void pp_sctp_channel_get_options(const struct pp_sctp_channel *ch,
                                 struct pp_sctp_channel_options *out);
enum pp_sctp_channel_state pp_sctp_channel_get_state(const struct pp_sctp_channel *ch);
/* Bytes of messages queued here that usrsctp has not accepted yet (usrsctp's
 * own send buffer, send_buffer bytes per association, is not counted). */
size_t pp_sctp_channel_buffered_amount(const struct pp_sctp_channel *ch);
void pp_sctp_channel_set_low_threshold(struct pp_sctp_channel *ch, size_t bytes);
void pp_sctp_channel_set_user(struct pp_sctp_channel *ch, void *user);
void *pp_sctp_channel_get_user(const struct pp_sctp_channel *ch);
struct pp_sctp *pp_sctp_channel_association(const struct pp_sctp_channel *ch);

/* The SCTP checksum (CRC32c, RFC 9260 App. B) as a number; a packet
 * carries it little-endian. */
uint32_t pp_sctp_crc32c(const void *data, size_t len);
/* True while usrsctp is initialised in this process (diagnostics, tests). */
bool pp_sctp_library_active(void);

#endif
