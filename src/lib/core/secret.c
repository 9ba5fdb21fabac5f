/* SPDX-License-Identifier: Apache-2.0 */
#include "peerpipe/secret.h"

#include "peerpipe/error.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

int pp_secret_read_file(const char *path, size_t min_len, struct pp_secret *out,
                        bool *world_readable)
{
	uint8_t buf[PP_SECRET_MAX + 2];
	size_t len = 0;
	struct stat st;
	int rc = 0;

	out->data = NULL;
	out->len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = PP_ERR_INVALID;
		goto out;
	}
	if (world_readable)
		*world_readable = (st.st_mode & S_IROTH) != 0;
	for (;;) {
		ssize_t r = read(fd, buf + len, sizeof(buf) - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = -errno;
			goto out;
		}
		if (r == 0)
			break;
		len += (size_t)r;
		if (len == sizeof(buf)) {
			rc = PP_ERR_TOO_BIG;
			goto out;
		}
	}
	if (len && buf[len - 1] == '\n')
		len--;
	if (len && buf[len - 1] == '\r')
		len--;
	if (len > PP_SECRET_MAX) {
		rc = PP_ERR_TOO_BIG;
		goto out;
	}
	if (len == 0 || len < min_len) {
		rc = PP_ERR_INVALID;
		goto out;
	}
	out->data = malloc(len);
	if (!out->data) {
		rc = PP_ERR_NOMEM;
		goto out;
	}
	for (size_t i = 0; i < len; i++)
		out->data[i] = buf[i];
	out->len = len;
out:
	OPENSSL_cleanse(buf, sizeof(buf));
	close(fd);
	return rc;
}

void pp_secret_free(struct pp_secret *s)
{
	if (s->data) {
		OPENSSL_cleanse(s->data, s->len);
		free(s->data);
	}
	s->data = NULL;
	s->len = 0;
}
