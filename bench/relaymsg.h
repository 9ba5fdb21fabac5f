/* SPDX-License-Identifier: Apache-2.0 */
/* The relayed payloads of the load benchmark: SEND_SDP with a realistic
 * ~1.5 KB offer and SEND_ICE with one host candidate, each carrying the
 * sender's CLOCK_MONOTONIC time so the receiver can compute the latency. */
#ifndef PEERPIPE_BENCH_RELAYMSG_H
#define PEERPIPE_BENCH_RELAYMSG_H

#include <stddef.h>
#include <stdint.h>

#define PP_RELAYMSG_MAX 4096

enum pp_relaymsg_kind { PP_RELAYMSG_SDP, PP_RELAYMSG_ICE };

/* Builds the templates once. */
void pp_relaymsg_init(void);
/* Writes the message (to: 32-char peer id) into out (PP_RELAYMSG_MAX bytes);
 * returns its length. */
size_t pp_relaymsg_build(char *out, enum pp_relaymsg_kind kind, const char *to,
                         uint64_t ts_ns);
/* Length of a SEND_SDP message and of its SDP text. */
size_t pp_relaymsg_sdp_msg_len(void);
size_t pp_relaymsg_sdp_text_len(void);
/* 1 and *ts_ns for a FORWARD_SDP/FORWARD_ICE carrying our stamp, -1 for one
 * without, 0 for any other message. */
int pp_relaymsg_parse(const char *msg, size_t len, uint64_t *ts_ns);

#endif
