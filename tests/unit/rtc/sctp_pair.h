/* SPDX-License-Identifier: Apache-2.0 */
/* Two SCTP associations in one process joined by an in-memory link: each
 * side's send_packet queues a copy for the other, and an idle source on the
 * shared GMainContext feeds the queued packets in (so delivery is
 * asynchronous, like a real lower layer). The link can delay packets,
 * lose them at random, drop those over a size, or drop everything. Used by
 * test_sctp.c
 * and bench/sctp-bench.c. */
#ifndef PEERPIPE_TESTS_SCTP_PAIR_H
#define PEERPIPE_TESTS_SCTP_PAIR_H

#include "peerpipe/rtc/sctp.h"

#include <glib.h>

struct sctp_side;

struct sctp_hooks {
	void (*on_message)(struct sctp_side *side, struct pp_sctp_channel *ch,
	                   enum pp_sctp_kind kind, const uint8_t *data, size_t len);
	void (*on_low)(struct sctp_side *side, struct pp_sctp_channel *ch);
	void (*on_open)(struct sctp_side *side, struct pp_sctp_channel *ch);
	void (*on_closed)(struct sctp_side *side, struct pp_sctp_channel *ch);
	void (*on_state)(struct sctp_side *side, enum pp_sctp_state st);
};

/* A received message kept by the default on_message. */
struct sctp_msg {
	uint16_t id;
	enum pp_sctp_kind kind;
	GBytes *data;
};

struct sctp_side {
	struct sctp_pair *pair;
	int idx;
	struct pp_sctp *s;
	struct sctp_hooks hooks;
	void *test;                 /* for the test's hooks */
	enum pp_sctp_state state;   /* last on_state */
	unsigned up_events, end_events;
	GPtrArray *opened;          /* channels announced by on_channel_open */
	GArray *closed;             /* uint16_t ids announced by on_channel_closed */
	GPtrArray *msgs;            /* struct sctp_msg * (default on_message) */
	size_t max_packet;          /* largest packet sent */
	uint64_t packets;
	uint64_t reset_requests;    /* outgoing reset requests sent (RFC 6525 §4.1) */
	uint64_t reset_streams;     /* stream ids they listed */
	bool free_on_send;          /* pp_sctp_free() from inside send_packet */
};

/* What a test's filter does with a packet (sctp_pair.filter). */
enum sctp_verdict {
	SCTP_PASS,
	SCTP_DROP,
	SCTP_HOLD, /* kept in order until sctp_pair_release() */
};

struct sctp_pair {
	GMainContext *ctx;
	struct sctp_side side[2];   /* 0: DTLS client (even ids), 1: server */
	GQueue q[2];                /* GBytes waiting for side i */
	GQueue due[2];              /* with delay_ms: when each is delivered
	                             * (ms of the monotonic clock, as pointers) */
	unsigned delay_ms;          /* one-way delay, set before sctp_pair_connect();
	                             * 0: at the next loop turn */
	GSource *idle;              /* delivers (a 1 ms timer with delay_ms) */
	GRand *rng;
	double loss;                /* probability a packet is lost */
	bool dead;                  /* drop everything */
	uint64_t lost;
	size_t max_len[2];          /* packets side i sends larger than this are
	                             * dropped (a path MTU); 0: no limit */
	uint64_t too_big[2];        /* packets of side i dropped for max_len */
	uint64_t misordered;        /* packets with a control chunk after DATA */
	uint64_t reconf_pairs;      /* RE-CONFIG chunks with a response, then
	                             * an outgoing reset request */
	bool drop_responses[2];     /* drop the packets side i sends that hold a
	                             * reset response (RFC 6525 §4.4) */
	uint64_t responses_dropped;
	GBytes *last_dropped[2];    /* the last of them, to feed in by hand */
	GSource *flush;             /* pp_sctp_flush_output() at each loop turn */
	/* Optional: sees each packet side `from` sends, after the checks
	 * above; held ones wait in held[from]. */
	enum sctp_verdict (*filter)(struct sctp_pair *p, int from, const uint8_t *pkt,
	                            size_t len);
	void *filter_data;
	GQueue held[2];             /* GBytes held by the filter */
};

/* cfg may be NULL for defaults; the roles are set here. With cfg->bundle
 * the pair sends what waits at the end of each loop turn, as pp_peer
 * does. */
void sctp_pair_init(struct sctp_pair *p, const struct pp_sctp_config *c0,
                    const struct pp_sctp_config *c1);
/* Both sides connect; waits for CONNECTED on both (fails the test after
 * 10 s). */
void sctp_pair_connect(struct sctp_pair *p);
void sctp_pair_free(struct sctp_pair *p);
/* Frees one side now (the other keeps running). */
void sctp_pair_drop_side(struct sctp_pair *p, int idx);
void sctp_msg_free(gpointer m);

/* Runs the context until cond holds; aborts the test after ms. */
#define SCTP_RUN_UNTIL(p, cond, ms)                                                  \
	do {                                                                         \
		gint64 sctp_end_ = g_get_monotonic_time() + (gint64)(ms) * 1000;     \
		while (!(cond)) {                                                    \
			if (g_get_monotonic_time() > sctp_end_)                      \
				g_error("%s:%d: timed out waiting for %s", __FILE__, \
				        __LINE__, #cond);                            \
			g_main_context_iteration((p)->ctx, TRUE);                    \
		}                                                                    \
	} while (0)

/* The packets side `from` sent that the filter held go on to the other
 * side, in order, behind what is already on its way. */
void sctp_pair_release(struct sctp_pair *p, int from);
/* The first TSN of the DATA or I-DATA chunks of a packet; false if none. */
bool sctp_pair_first_tsn(const uint8_t *pkt, size_t len, uint32_t *tsn);

/* Runs the context for ms milliseconds. */
void sctp_pair_run_for(struct sctp_pair *p, int ms);

/* Side from opens a channel; returns it once it is open and the other
 * side announced it (fails the test after 5 s). */
struct pp_sctp_channel *sctp_pair_open(struct sctp_pair *p, int from, const char *label,
                                       const char *proto,
                                       const struct pp_sctp_channel_options *opt);

#endif
