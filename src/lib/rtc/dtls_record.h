/* SPDX-License-Identifier: Apache-2.0 */
/* Application records of an established DTLS 1.2 session, protected and
 * opened here instead of by OpenSSL (private to the DTLS module and its
 * tests and fuzz target).
 *
 * OpenSSL runs the handshake; once it is over, the endpoint derives the
 * session's AES-GCM record keys (RFC 5246 §6.3, from the master secret
 * and both randoms) and seals and opens epoch-1 records itself (RFC 6347
 * §4.1, RFC 5288). OpenSSL 3's record layer costs more than the AES-GCM
 * it wraps (parameter lookups by name, locks, BIO calls): a 100-byte
 * record sealed, carried in memory and opened took 2.5 µs of CPU through
 * it and 1.6 µs through this file (test_dtls -m perf).
 *
 * Nonces never repeat under one key. OpenSSL 3.0 counts its explicit
 * nonces up from a random start; the endpoint notes the last one it wrote
 * in epoch 1 (its Finished at least) and ours count up from
 * PP_DTLS_RECORD_NONCE_GAP past it: OpenSSL, which writes a handful of
 * records after ours begin (a resent flight, an alert), would need 2^32.
 * Our sequence numbers (the header's, which the peer's replay window
 * reads) start at PP_DTLS_RECORD_SEQ_FIRST, above OpenSSL's for the same
 * reason. Replays are refused with a 64-record sliding
 * window (RFC 6347 §4.1.2.6) over records this layer authenticated; the
 * endpoint never lets OpenSSL open an application record once this layer
 * is used, so no record can be opened twice. */
#ifndef PEERPIPE_RTC_DTLS_RECORD_H
#define PEERPIPE_RTC_DTLS_RECORD_H

#include "be.h"

#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PP_DTLS_RECORD_HEADER_LEN 13 /* type, version, epoch, sequence, length */
#define PP_DTLS_RECORD_NONCE_LEN 8   /* explicit part of the AES-GCM nonce */
#define PP_DTLS_RECORD_TAG_LEN 16
#define PP_DTLS_RECORD_SALT_LEN 4 /* implicit part, from the key block */
/* Bytes a record adds to its plaintext. */
#define PP_DTLS_RECORD_OVERHEAD \
	(PP_DTLS_RECORD_HEADER_LEN + PP_DTLS_RECORD_NONCE_LEN + PP_DTLS_RECORD_TAG_LEN)
#define PP_DTLS_RECORD_EPOCH 1 /* the only one: no renegotiation */
#define PP_DTLS_RECORD_SEQ_FIRST ((uint64_t)1 << 32)
#define PP_DTLS_RECORD_NONCE_GAP ((uint64_t)1 << 32)
#define PP_DTLS_RECORD_SEQ_LAST (((uint64_t)1 << 48) - 1)
#define PP_DTLS_RECORD_KEY_MAX 32
#define PP_DTLS_RECORD_WINDOW 64

enum pp_dtls_content {
	PP_DTLS_CT_CCS = 20,
	PP_DTLS_CT_ALERT = 21,
	PP_DTLS_CT_HANDSHAKE = 22,
	PP_DTLS_CT_APPLICATION = 23,
};

/* One direction's AES-GCM key schedule and implicit nonce. */
struct pp_dtls_record_dir {
	EVP_CIPHER_CTX *ctx;
	uint8_t salt[PP_DTLS_RECORD_SALT_LEN];
};

struct pp_dtls_records {
	struct pp_dtls_record_dir tx, rx;
	uint64_t tx_seq;    /* the next record's sequence number */
	uint64_t tx_nonce;  /* the next record's explicit nonce */
	bool tx_on;         /* tx_nonce is set: sealing allowed */
	uint64_t rx_top;    /* highest sequence number opened */
	uint64_t rx_window; /* bit i: rx_top - i was opened */
	bool rx_any;        /* anything opened yet */
};

/* Keys of one session as both ends see them. */
struct pp_dtls_record_keys {
	size_t key_len; /* 16 (AES-128-GCM) or 32 (AES-256-GCM) */
	uint8_t tx_key[PP_DTLS_RECORD_KEY_MAX], rx_key[PP_DTLS_RECORD_KEY_MAX];
	uint8_t tx_salt[PP_DTLS_RECORD_SALT_LEN], rx_salt[PP_DTLS_RECORD_SALT_LEN];
	uint64_t tx_nonce; /* our first explicit nonce */
	bool tx_on;        /* seal from it at once (tests, fuzzing) */
};

/* Derives our write and read keys from ssl's finished handshake; client
 * says which end we are. 0, PP_ERR_UNSUPPORTED (not an AES-GCM suite) or
 * PP_ERR_CRYPTO. The keys are wiped before returning. Records can be
 * opened at once; sealing waits for pp_dtls_records_start_tx(). */
int pp_dtls_records_init(struct pp_dtls_records *r, SSL *ssl, bool client);
/* Lets r seal, its explicit nonces counting up from
 * PP_DTLS_RECORD_NONCE_GAP past ssl_nonce: the last one OpenSSL wrote
 * with our write key, OpenSSL writing little or nothing from now on. */
void pp_dtls_records_start_tx(struct pp_dtls_records *r, uint64_t ssl_nonce);
/* The same from keys given (tests, fuzzing; or pp_dtls_records_init). */
int pp_dtls_records_init_keys(struct pp_dtls_records *r, const struct pp_dtls_record_keys *k);
/* Frees the key schedules (wiped by OpenSSL) and zeroes r. */
void pp_dtls_records_clear(struct pp_dtls_records *r);

/* Seals len bytes (at most PP_DTLS_DATAGRAM_MAX - overhead) as one record
 * of content type ct into out, which holds cap bytes; *out_len gets the
 * record's size. 0, PP_ERR_TOO_BIG (cap), PP_ERR_STATE (not started, or
 * sequence numbers spent) or PP_ERR_CRYPTO. */
int pp_dtls_record_seal(struct pp_dtls_records *r, enum pp_dtls_content ct, const uint8_t *in,
                        size_t len, uint8_t *out, size_t cap, size_t *out_len);

/* Opens the whole record rec (rec_len bytes from its header on) into out
 * (cap bytes); *out_len gets the plaintext's size. The record's content
 * type is the caller's to check. 0, or the reason it is dropped:
 * PP_ERR_INVALID (not a whole epoch-1 DTLS 1.2 record), PP_ERR_REPLAY
 * (opened already, or older than the window), PP_ERR_AUTH (forged or
 * damaged), PP_ERR_TOO_BIG (cap). On failure out holds nothing of the
 * record (a forged one's decryption is wiped). */
int pp_dtls_record_open(struct pp_dtls_records *r, const uint8_t *rec, size_t rec_len,
                        uint8_t *out, size_t cap, size_t *out_len);

/* Record header fields. */
static inline uint16_t pp_dtls_record_epoch(const uint8_t *rec)
{
	return pp_be16(rec + 3);
}

static inline uint64_t pp_dtls_record_seq(const uint8_t *rec)
{
	return pp_be_n(rec + 5, 6);
}

/* The explicit nonce of a protected record (at least 8 bytes of body). */
static inline uint64_t pp_dtls_record_nonce(const uint8_t *rec)
{
	return pp_be_n(rec + PP_DTLS_RECORD_HEADER_LEN, PP_DTLS_RECORD_NONCE_LEN);
}

static inline size_t pp_dtls_record_len(const uint8_t *rec)
{
	return PP_DTLS_RECORD_HEADER_LEN + (size_t)pp_be16(rec + 11);
}

#endif
