/* SPDX-License-Identifier: Apache-2.0 */
#include "peerpipe/rtc/identity.h"

#include "peerpipe/error.h"
#include "peerpipe/log.h"

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

struct pp_identity {
	EVP_PKEY *key;
	X509 *cert;
	struct pp_fingerprint fp;
	char fp_text[PP_FP_TEXT_MAX];
};

enum pp_identity_which { PP_ID_KEY, PP_ID_CERT };

static const char *const pp_identity_files[] = {
	[PP_ID_KEY] = PP_IDENTITY_KEY_FILE,
	[PP_ID_CERT] = PP_IDENTITY_CERT_FILE,
};

/* Takes key and cert (also on failure). */
static int pp_identity_wrap(EVP_PKEY *key, X509 *cert, struct pp_identity **out)
{
	struct pp_identity *id = OPENSSL_zalloc(sizeof(*id));
	int rc = PP_ERR_NOMEM;

	if (!id)
		goto out;
	id->key = key;
	id->cert = cert;
	key = NULL; /* transferred */
	cert = NULL; /* transferred */
	rc = pp_fingerprint_compute(id->cert, &id->fp);
	if (rc < 0)
		goto out;
	rc = pp_fingerprint_format(&id->fp, id->fp_text, sizeof(id->fp_text));
	if (rc < 0)
		goto out;
	*out = id;
	id = NULL; /* transferred */
	rc = 0;
out:
	EVP_PKEY_free(key);
	X509_free(cert);
	pp_identity_free(id);
	return rc;
}

static int pp_identity_set_serial(X509 *x)
{
	BIGNUM *bn = BN_new();
	int rc = PP_ERR_CRYPTO;

	/* 127 random bits with the top one set: positive, nonzero, 16 bytes. */
	if (bn && BN_rand(bn, 127, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ANY) == 1 &&
	    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)))
		rc = 0;
	BN_free(bn);
	return rc;
}

static X509 *pp_identity_make_cert(EVP_PKEY *key)
{
	X509 *x = X509_new();
	X509_NAME *name;

	if (!x || X509_set_version(x, X509_VERSION_3) != 1 || pp_identity_set_serial(x) < 0)
		goto fail;
	/* A day back for peers whose clocks lag (nobody checks, but be tidy). */
	if (!X509_gmtime_adj(X509_getm_notBefore(x), -86400L) ||
	    !X509_time_adj_ex(X509_getm_notAfter(x), PP_IDENTITY_VALID_DAYS, 0, NULL))
		goto fail;
	name = X509_get_subject_name(x);
	if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	                               (const unsigned char *)PP_IDENTITY_CN, -1, -1, 0) != 1 ||
	    X509_set_issuer_name(x, name) != 1 || X509_set_pubkey(x, key) != 1 ||
	    X509_sign(x, key, EVP_sha256()) <= 0)
		goto fail;
	return x;
fail:
	X509_free(x);
	return NULL;
}

static int pp_identity_generate(struct pp_identity **out)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *cert = key ? pp_identity_make_cert(key) : NULL;

	if (!cert) {
		EVP_PKEY_free(key);
		ERR_clear_error();
		return PP_ERR_CRYPTO;
	}
	return pp_identity_wrap(key, cert, out);
}

int pp_identity_new_ephemeral(struct pp_identity **out)
{
	*out = NULL;
	return pp_identity_generate(out);
}

void pp_identity_free(struct pp_identity *id)
{
	if (!id)
		return;
	EVP_PKEY_free(id->key); /* OpenSSL clears the private scalar */
	X509_free(id->cert);
	OPENSSL_clear_free(id, sizeof(*id));
}

EVP_PKEY *pp_identity_key(const struct pp_identity *id)
{
	return id->key;
}

X509 *pp_identity_cert(const struct pp_identity *id)
{
	return id->cert;
}

const struct pp_fingerprint *pp_identity_fingerprint(const struct pp_identity *id)
{
	return &id->fp;
}

const char *pp_identity_fingerprint_str(const struct pp_identity *id)
{
	return id->fp_text;
}

/* ---- files ---- */

/* Never prompt on a terminal for a passphrase: encrypted keys are refused. */
static int pp_identity_no_pass(char *buf, int size, int rwflag, void *u)
{
	return -1;
}

/* Opens (creating with 0700 if missing) and checks the directory. */
static int pp_identity_open_dir(const char *dir, int *dfd_out)
{
	struct stat st;
	int dfd;

	if (g_mkdir_with_parents(dir, 0700) < 0) {
		int e = errno;
		pp_error("identity: cannot create directory %s: %s", dir, strerror(e));
		return -e;
	}
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		int e = errno;
		pp_error("identity: cannot open directory %s: %s", dir, strerror(e));
		return -e;
	}
	if (fstat(dfd, &st) < 0) {
		int e = errno;
		close(dfd);
		return -e;
	}
	if ((st.st_mode & 022) != 0) {
		pp_error("identity: directory %s is writable by group or others (mode %04o); "
		         "run chmod go-w on it", dir, (unsigned)(st.st_mode & 07777));
		close(dfd);
		return PP_ERR_CONFIG;
	}
	*dfd_out = dfd;
	return 0;
}

/* 1 when the file exists, 0 when it does not, or -errno. */
static int pp_identity_exists(int dfd, const char *name)
{
	struct stat st;

	/* A dangling symlink exists (and fails to load) rather than being
	 * replaced by a new identity. */
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
		return 1;
	return errno == ENOENT ? 0 : -errno;
}

static int pp_identity_check_file(const char *dir, enum pp_identity_which w, int fd)
{
	const char *name = pp_identity_files[w];
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode)) {
		pp_error("identity: %s/%s is not a regular file", dir, name);
		return PP_ERR_CONFIG;
	}
	if (w == PP_ID_KEY && (st.st_mode & 077) != 0) {
		pp_error("identity: permissions %04o for %s/%s are too open: the private key "
		         "must not be accessible by group or others; run chmod 600 on it",
		         (unsigned)(st.st_mode & 07777), dir, name);
		return PP_ERR_CONFIG;
	}
	if (st.st_size > PP_IDENTITY_FILE_MAX) {
		pp_error("identity: %s/%s is larger than %d bytes", dir, name, PP_IDENTITY_FILE_MAX);
		return PP_ERR_TOO_BIG;
	}
	return 0;
}

/* Reads one PEM object: an EVP_PKEY for PP_ID_KEY, an X509 for PP_ID_CERT. */
static int pp_identity_read(int dfd, const char *dir, enum pp_identity_which w, void **obj)
{
	const char *name = pp_identity_files[w];
	BIO *bio = NULL;
	int rc, fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK); /* no FIFO wait */

	if (fd < 0) {
		rc = -errno;
		pp_error("identity: cannot open %s/%s: %s", dir, name, strerror(-rc));
		goto out;
	}
	rc = pp_identity_check_file(dir, w, fd);
	if (rc < 0)
		goto out;
	rc = PP_ERR_NOMEM;
	bio = BIO_new_fd(fd, BIO_NOCLOSE);
	if (!bio)
		goto out;
	if (w == PP_ID_KEY)
		*obj = PEM_read_bio_PrivateKey(bio, NULL, pp_identity_no_pass, NULL);
	else
		*obj = PEM_read_bio_X509(bio, NULL, pp_identity_no_pass, NULL);
	rc = 0;
	if (!*obj) {
		pp_error("identity: %s/%s holds no usable PEM %s (encrypted keys are not supported)",
		         dir, name, w == PP_ID_KEY ? "private key" : "certificate");
		rc = PP_ERR_INVALID;
	}
out:
	BIO_free(bio);
	if (fd >= 0)
		close(fd);
	ERR_clear_error();
	return rc;
}

static bool pp_identity_is_p256(EVP_PKEY *key)
{
	char group[32];
	size_t n = 0;

	return EVP_PKEY_is_a(key, "EC") &&
	       EVP_PKEY_get_group_name(key, group, sizeof(group), &n) == 1 &&
	       strcmp(group, "prime256v1") == 0;
}

static int pp_identity_validate(const char *dir, EVP_PKEY *key, X509 *cert)
{
	int rc = 0;

	if (!pp_identity_is_p256(key)) {
		pp_error("identity: %s/%s is not an EC P-256 key", dir, PP_IDENTITY_KEY_FILE);
		rc = PP_ERR_CONFIG;
	} else if (X509_check_private_key(cert, key) != 1 || X509_verify(cert, key) != 1) {
		pp_error("identity: %s/%s does not belong to the key in %s/%s",
		         dir, PP_IDENTITY_CERT_FILE, dir, PP_IDENTITY_KEY_FILE);
		rc = PP_ERR_CONFIG;
	} else if (X509_cmp_current_time(X509_get0_notAfter(cert)) < 0) {
		pp_warn("identity: certificate %s/%s has expired (peers check only its fingerprint)",
		        dir, PP_IDENTITY_CERT_FILE);
	}
	ERR_clear_error();
	return rc;
}

static int pp_identity_load(int dfd, const char *dir, struct pp_identity **out)
{
	void *key = NULL, *cert = NULL;
	int rc = pp_identity_read(dfd, dir, PP_ID_KEY, &key);

	if (rc < 0)
		goto out;
	rc = pp_identity_read(dfd, dir, PP_ID_CERT, &cert);
	if (rc < 0)
		goto out;
	rc = pp_identity_validate(dir, key, cert);
	if (rc < 0)
		goto out;
	rc = pp_identity_wrap(key, cert, out);
	key = NULL; /* transferred */
	cert = NULL; /* transferred */
out:
	EVP_PKEY_free(key);
	X509_free(cert);
	return rc;
}

/* Writes tmp (0600, exclusive), fsyncs it and renames it over name. */
static int pp_identity_write(int dfd, const struct pp_identity *id, enum pp_identity_which w)
{
	const char *name = pp_identity_files[w];
	char tmp[64];
	BIO *bio = NULL;
	int ok = 0, rc, fd;

	snprintf(tmp, sizeof(tmp), ".%s.tmp", name);
	(void)unlinkat(dfd, tmp, 0); /* a leftover of a crash; we hold the lock */
	fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY, 0600);
	if (fd < 0)
		return -errno;
	bio = BIO_new_fd(fd, BIO_NOCLOSE);
	if (bio && w == PP_ID_KEY)
		ok = PEM_write_bio_PrivateKey(bio, id->key, NULL, NULL, 0, NULL, NULL);
	else if (bio)
		ok = PEM_write_bio_X509(bio, id->cert);
	rc = ok == 1 && BIO_flush(bio) == 1 ? 0 : PP_ERR_CRYPTO;
	if (rc == 0 && (fchmod(fd, 0600) < 0 || fsync(fd) < 0))
		rc = -errno;
	BIO_free(bio);
	close(fd);
	if (rc == 0 && renameat(dfd, tmp, dfd, name) < 0)
		rc = -errno;
	if (rc < 0)
		(void)unlinkat(dfd, tmp, 0);
	ERR_clear_error();
	return rc;
}

static int pp_identity_create(int dfd, const char *dir, struct pp_identity **out)
{
	struct pp_identity *id = NULL;
	int rc = pp_identity_generate(&id);

	if (rc < 0)
		goto out;
	/* The certificate last: a crash in between leaves a lone key, which
	 * is refused rather than silently replaced by a new identity. */
	rc = pp_identity_write(dfd, id, PP_ID_KEY);
	if (rc == 0)
		rc = pp_identity_write(dfd, id, PP_ID_CERT);
	if (rc == 0 && fsync(dfd) < 0)
		rc = -errno;
	if (rc < 0) {
		pp_error("identity: cannot write the new identity to %s: %s", dir, pp_strerror(rc));
		goto out;
	}
	pp_info("identity: created %s in %s", id->fp_text, dir);
	*out = id;
	id = NULL; /* transferred */
out:
	pp_identity_free(id);
	return rc;
}

static int pp_identity_load_or_create_at(int dfd, const char *dir, struct pp_identity **out)
{
	int has_key = pp_identity_exists(dfd, PP_IDENTITY_KEY_FILE);
	int has_cert = pp_identity_exists(dfd, PP_IDENTITY_CERT_FILE);

	if (has_key < 0 || has_cert < 0)
		return has_key < 0 ? has_key : has_cert;
	if (has_key && has_cert)
		return pp_identity_load(dfd, dir, out);
	if (!has_key && !has_cert)
		return pp_identity_create(dfd, dir, out);
	pp_error("identity: %s has %s but not %s; restore the missing file, or remove both "
	         "to create a new identity (its fingerprint must then be pinned again)",
	         dir, has_key ? PP_IDENTITY_KEY_FILE : PP_IDENTITY_CERT_FILE,
	         has_key ? PP_IDENTITY_CERT_FILE : PP_IDENTITY_KEY_FILE);
	return PP_ERR_CONFIG;
}

int pp_identity_load_or_create(const char *dir, struct pp_identity **out)
{
	int dfd = -1, rc;

	*out = NULL;
	if (!dir || !*dir)
		return PP_ERR_INVALID;
	rc = pp_identity_open_dir(dir, &dfd);
	if (rc < 0)
		goto out;
	if (flock(dfd, LOCK_EX) < 0) {
		rc = -errno;
		goto out;
	}
	rc = pp_identity_load_or_create_at(dfd, dir, out);
out:
	if (dfd >= 0)
		close(dfd); /* releases the lock */
	return rc;
}
