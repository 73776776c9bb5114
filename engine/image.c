/* image: profile / group pictures from a file or a URL, converted by
 * common/wa_picture (see image.h). */
#include "engine/image.h"
#include "wa_err.h"
#include "wa_fetch.h"
#include "wa_log.h"
#include "wa_picture.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The whole of fd (at most WA_IMAGE_MAX_BYTES) into *buf. */
static int read_fd(int fd, uint8_t **buf, size_t *len)
{
	size_t cap = 64 * 1024, n = 0;
	uint8_t *b = malloc(cap);

	if (!b)
		return WA_ENOMEM;
	for (;;) {
		ssize_t r;

		if (n == cap) {
			uint8_t *nb;

			if (cap >= WA_IMAGE_MAX_BYTES) {
				free(b);
				return WA_ETOOBIG;
			}
			cap *= 2;
			if (!(nb = realloc(b, cap))) {
				free(b);
				return WA_ENOMEM;
			}
			b = nb;
		}
		r = read(fd, b + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			free(b);
			return WA_EIO;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	*buf = b;
	*len = n;
	return 0;
}

static int source(const char *path, const char *url, const struct wa_fetch_policy *policy, uint8_t **buf,
		  size_t *len)
{
	int fd, rc;

	if (path) {
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return WA_EIO;
		rc = read_fd(fd, buf, len);
		close(fd);
		return rc;
	}
	if (!url)
		return WA_EINVAL;
	{
		char tmpl[] = "/tmp/.wa-pic-XXXXXX", why[256];
		struct wa_fetch_policy p;

		if (policy)
			p = *policy;
		else
			wa_fetch_policy_default(&p);

		if (p.max_bytes == 0 || p.max_bytes > WA_IMAGE_MAX_BYTES)
			p.max_bytes = WA_IMAGE_MAX_BYTES;
		fd = mkostemp(tmpl, O_CLOEXEC);
		if (fd < 0)
			return WA_EIO;
		unlink(tmpl);
		rc = wa_fetch_to_fd(url, &p, fd, NULL, why, sizeof why);
		if (rc == 0 && lseek(fd, 0, SEEK_SET) == 0)
			rc = read_fd(fd, buf, len);
		else if (rc != 0)
			wa_info("picture URL not fetched: %s", why);
		close(fd);
		return rc;
	}
}

int wa_image_profile_jpeg(const char *path, const char *url, const struct wa_fetch_policy *policy, uint8_t **out,
			  size_t *len)
{
	uint8_t *src = NULL;
	size_t slen = 0;
	char why[200];
	int rc;

	*out = NULL;
	*len = 0;
	if ((rc = source(path, url, policy, &src, &slen)) != 0)
		return rc;
	rc = wa_picture_jpeg(src, slen, WA_IMAGE_SIDE, out, len, why, sizeof why);
	if (rc != 0)
		wa_info("picture not converted: %s", why);
	free(src);
	return rc == 0 ? 0 : WA_EINVAL;
}
