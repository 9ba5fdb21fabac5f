/* SPDX-License-Identifier: Apache-2.0 */
/* Application records of an established DTLS 1.2 session: key derivation
 * from OpenSSL's session, AES-GCM sealing and opening, the replay window.
 * See dtls_record.h for why and for the nonce and replay rules. */
#include "dtls_record.h"

#include "peerpipe/error.h"

#include <glib.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/kdf.h>
#include <string.h>

#define PP_DTLS_VERSION_12_HI 0xfe /* DTLS 1.2 is 0xfefd on the wire */
#define PP_DTLS_VERSION_12_LO 0xfd
#define PP_DTLS_RANDOM_LEN 32
#define PP_DTLS_AAD_LEN 13 /* epoch and sequence, type, version, length */
#define PP_DTLS_IV_LEN (PP_DTLS_RECORD_SALT_LEN + PP_DTLS_RECORD_NONCE_LEN)

/* ---- ciphers: fetched once, they live as long as the process ---- */

static EVP_CIPHER *pp_dtls_aes_gcm[2]; /* 128, 256 */

static const EVP_CIPHER *pp_dtls_record_cipher(size_t key_len)
{
	static gsize once;

	if (g_once_init_enter(&once)) {
		pp_dtls_aes_gcm[0] = EVP_CIPHER_fetch(NULL, "AES-128-GCM", NULL);
		pp_dtls_aes_gcm[1] = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
		g_once_init_leave(&once, 1);
	}
	if (key_len == 16)
		return pp_dtls_aes_gcm[0];
	return key_len == 32 ? pp_dtls_aes_gcm[1] : NULL;
}

/* ---- keys ---- */

static int pp_dtls_record_dir_init(struct pp_dtls_record_dir *dir, const EVP_CIPHER *cipher,
                                   const uint8_t *key, const uint8_t *salt, int enc)
{
	dir->ctx = EVP_CIPHER_CTX_new();
	if (!dir->ctx || EVP_CipherInit_ex(dir->ctx, cipher, NULL, key, NULL, enc) != 1)
		return PP_ERR_CRYPTO;
	memcpy(dir->salt, salt, sizeof(dir->salt));
	return 0;
}

int pp_dtls_records_init_keys(struct pp_dtls_records *r, const struct pp_dtls_record_keys *k)
{
	const EVP_CIPHER *cipher = pp_dtls_record_cipher(k->key_len);

	memset(r, 0, sizeof(*r));
	if (!cipher)
		return k->key_len == 16 || k->key_len == 32 ? PP_ERR_CRYPTO : PP_ERR_UNSUPPORTED;
	if (pp_dtls_record_dir_init(&r->tx, cipher, k->tx_key, k->tx_salt, 1) < 0 ||
	    pp_dtls_record_dir_init(&r->rx, cipher, k->rx_key, k->rx_salt, 0) < 0) {
		pp_dtls_records_clear(r);
		return PP_ERR_CRYPTO;
	}
	r->tx_seq = PP_DTLS_RECORD_SEQ_FIRST;
	r->tx_nonce = k->tx_nonce;
	r->tx_on = k->tx_on;
	return 0;
}

void pp_dtls_records_start_tx(struct pp_dtls_records *r, uint64_t ssl_nonce)
{
	r->tx_nonce = ssl_nonce + PP_DTLS_RECORD_NONCE_GAP; /* mod 2^64 */
	r->tx_on = true;
}

/* key_block = PRF(master_secret, "key expansion", server_random +
 * client_random) with the suite's hash (RFC 5246 §6.3). */
static int pp_dtls_key_block(SSL *ssl, const EVP_MD *md, uint8_t *out, size_t len)
{
	static const char label[] = "key expansion";
	uint8_t seed[sizeof(label) - 1 + 2 * PP_DTLS_RANDOM_LEN];
	uint8_t master[SSL_MAX_MASTER_KEY_LENGTH];
	size_t master_len = SSL_SESSION_get_master_key(SSL_get_session(ssl), master, sizeof(master));
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, OSSL_KDF_NAME_TLS1_PRF, NULL);
	EVP_KDF_CTX *kctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
	int rc = PP_ERR_CRYPTO;

	memcpy(seed, label, sizeof(label) - 1);
	if (kctx && master_len > 0 && md &&
	    SSL_get_server_random(ssl, seed + sizeof(label) - 1, PP_DTLS_RANDOM_LEN) ==
	            PP_DTLS_RANDOM_LEN &&
	    SSL_get_client_random(ssl, seed + sizeof(label) - 1 + PP_DTLS_RANDOM_LEN,
	                          PP_DTLS_RANDOM_LEN) == PP_DTLS_RANDOM_LEN) {
		OSSL_PARAM params[] = {
			OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
			                                 (char *)EVP_MD_get0_name(md), 0),
			OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SECRET, master, master_len),
			OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SEED, seed, sizeof(seed)),
			OSSL_PARAM_construct_end(),
		};
		if (EVP_KDF_derive(kctx, out, len, params) == 1)
			rc = 0;
	}
	EVP_KDF_CTX_free(kctx);
	EVP_KDF_free(kdf);
	OPENSSL_cleanse(master, sizeof(master));
	return rc;
}

int pp_dtls_records_init(struct pp_dtls_records *r, SSL *ssl, bool client)
{
	const SSL_CIPHER *suite = SSL_get_current_cipher(ssl);
	int nid = suite ? SSL_CIPHER_get_cipher_nid(suite) : NID_undef;
	struct pp_dtls_record_keys k = { 0 };
	/* client key, server key, client salt, server salt */
	uint8_t block[2 * PP_DTLS_RECORD_KEY_MAX + 2 * PP_DTLS_RECORD_SALT_LEN];
	int rc;

	memset(r, 0, sizeof(*r));
	if (nid == NID_aes_128_gcm)
		k.key_len = 16;
	else if (nid == NID_aes_256_gcm)
		k.key_len = 32;
	else
		return PP_ERR_UNSUPPORTED;
	size_t kl = k.key_len, sl = PP_DTLS_RECORD_SALT_LEN;
	rc = pp_dtls_key_block(ssl, SSL_CIPHER_get_handshake_digest(suite), block, 2 * kl + 2 * sl);
	if (rc == 0) {
		const uint8_t *ck = block, *sk = block + kl, *cs = block + 2 * kl, *ss = cs + sl;
		memcpy(k.tx_key, client ? ck : sk, kl);
		memcpy(k.rx_key, client ? sk : ck, kl);
		memcpy(k.tx_salt, client ? cs : ss, sl);
		memcpy(k.rx_salt, client ? ss : cs, sl);
		rc = pp_dtls_records_init_keys(r, &k);
	}
	OPENSSL_cleanse(block, sizeof(block));
	OPENSSL_cleanse(&k, sizeof(k));
	return rc;
}

void pp_dtls_records_clear(struct pp_dtls_records *r)
{
	EVP_CIPHER_CTX_free(r->tx.ctx); /* the key schedule is wiped with it */
	EVP_CIPHER_CTX_free(r->rx.ctx);
	OPENSSL_cleanse(r, sizeof(*r));
}

/* ---- records ---- */

/* The additional data: the header's epoch and sequence, type and version,
 * and the plaintext's length (RFC 5246 §6.2.3.3, RFC 6347 §4.1.2.1). */
static void pp_dtls_aad(uint8_t aad[PP_DTLS_AAD_LEN], const uint8_t *hdr, size_t plain_len)
{
	memcpy(aad, hdr + 3, 8);
	memcpy(aad + 8, hdr, 3);
	pp_put_be16(aad + 11, (uint16_t)plain_len);
}

static void pp_dtls_iv(uint8_t iv[PP_DTLS_IV_LEN], const struct pp_dtls_record_dir *dir,
                       const uint8_t *explicit_nonce)
{
	memcpy(iv, dir->salt, PP_DTLS_RECORD_SALT_LEN);
	memcpy(iv + PP_DTLS_RECORD_SALT_LEN, explicit_nonce, PP_DTLS_RECORD_NONCE_LEN);
}

int pp_dtls_record_seal(struct pp_dtls_records *r, enum pp_dtls_content ct, const uint8_t *in,
                        size_t len, uint8_t *out, size_t cap, size_t *out_len)
{
	const size_t body = PP_DTLS_RECORD_NONCE_LEN + len + PP_DTLS_RECORD_TAG_LEN;
	uint8_t aad[PP_DTLS_AAD_LEN], iv[PP_DTLS_IV_LEN];
	uint8_t *nonce = out + PP_DTLS_RECORD_HEADER_LEN;
	uint8_t *ct_out = nonce + PP_DTLS_RECORD_NONCE_LEN;
	int n = 0, fin = 0;

	if (body > UINT16_MAX || PP_DTLS_RECORD_HEADER_LEN + body > cap)
		return PP_ERR_TOO_BIG;
	if (!r->tx_on || r->tx_seq > PP_DTLS_RECORD_SEQ_LAST)
		return PP_ERR_STATE;
	out[0] = (uint8_t)ct;
	out[1] = PP_DTLS_VERSION_12_HI;
	out[2] = PP_DTLS_VERSION_12_LO;
	pp_put_be16(out + 3, PP_DTLS_RECORD_EPOCH);
	pp_put_be_n(out + 5, r->tx_seq, 6);
	pp_put_be16(out + 11, (uint16_t)body);
	pp_put_be_n(nonce, r->tx_nonce, PP_DTLS_RECORD_NONCE_LEN);
	pp_dtls_aad(aad, out, len);
	pp_dtls_iv(iv, &r->tx, nonce);
	if (EVP_EncryptInit_ex(r->tx.ctx, NULL, NULL, NULL, iv) != 1 ||
	    EVP_EncryptUpdate(r->tx.ctx, NULL, &n, aad, sizeof(aad)) != 1 ||
	    EVP_EncryptUpdate(r->tx.ctx, ct_out, &n, in, (int)len) != 1 ||
	    EVP_EncryptFinal_ex(r->tx.ctx, ct_out + n, &fin) != 1 ||
	    EVP_CIPHER_CTX_ctrl(r->tx.ctx, EVP_CTRL_AEAD_GET_TAG, PP_DTLS_RECORD_TAG_LEN,
	                        ct_out + len) != 1)
		return PP_ERR_CRYPTO;
	r->tx_seq++; /* both spent even if the datagram is lost */
	r->tx_nonce++;
	*out_len = PP_DTLS_RECORD_HEADER_LEN + body;
	return 0;
}

static bool pp_dtls_replayed(const struct pp_dtls_records *r, uint64_t seq)
{
	if (!r->rx_any || seq > r->rx_top)
		return false;
	uint64_t age = r->rx_top - seq;
	return age >= PP_DTLS_RECORD_WINDOW || (r->rx_window >> age & 1) != 0;
}

static void pp_dtls_window_mark(struct pp_dtls_records *r, uint64_t seq)
{
	if (!r->rx_any || seq > r->rx_top) {
		uint64_t shift = r->rx_any ? seq - r->rx_top : PP_DTLS_RECORD_WINDOW;
		r->rx_window = shift >= PP_DTLS_RECORD_WINDOW ? 1 : r->rx_window << shift | 1;
		r->rx_top = seq;
		r->rx_any = true;
	} else {
		r->rx_window |= (uint64_t)1 << (r->rx_top - seq);
	}
}

int pp_dtls_record_open(struct pp_dtls_records *r, const uint8_t *rec, size_t rec_len,
                        uint8_t *out, size_t cap, size_t *out_len)
{
	uint8_t aad[PP_DTLS_AAD_LEN], iv[PP_DTLS_IV_LEN];
	const uint8_t *nonce = rec + PP_DTLS_RECORD_HEADER_LEN;
	const uint8_t *ct_in = nonce + PP_DTLS_RECORD_NONCE_LEN;
	int n = 0, fin = 0;

	if (rec_len < PP_DTLS_RECORD_OVERHEAD || pp_dtls_record_len(rec) != rec_len ||
	    rec[1] != PP_DTLS_VERSION_12_HI || rec[2] != PP_DTLS_VERSION_12_LO ||
	    pp_dtls_record_epoch(rec) != PP_DTLS_RECORD_EPOCH)
		return PP_ERR_INVALID;
	size_t len = rec_len - PP_DTLS_RECORD_OVERHEAD;
	uint64_t seq = pp_dtls_record_seq(rec);
	if (len > cap)
		return PP_ERR_TOO_BIG;
	if (pp_dtls_replayed(r, seq))
		return PP_ERR_REPLAY;
	pp_dtls_aad(aad, rec, len);
	pp_dtls_iv(iv, &r->rx, nonce);
	/* The tag is checked before anything is handed on; a forged record
	 * leaves only garbage in out, wiped below. */
	if (EVP_DecryptInit_ex(r->rx.ctx, NULL, NULL, NULL, iv) != 1 ||
	    EVP_DecryptUpdate(r->rx.ctx, NULL, &n, aad, sizeof(aad)) != 1 ||
	    EVP_DecryptUpdate(r->rx.ctx, out, &n, ct_in, (int)len) != 1 ||
	    EVP_CIPHER_CTX_ctrl(r->rx.ctx, EVP_CTRL_AEAD_SET_TAG, PP_DTLS_RECORD_TAG_LEN,
	                        (void *)(ct_in + len)) != 1 ||
	    EVP_DecryptFinal_ex(r->rx.ctx, out + n, &fin) != 1) {
		OPENSSL_cleanse(out, len);
		return PP_ERR_AUTH;
	}
	pp_dtls_window_mark(r, seq);
	*out_len = len;
	return 0;
}
