/* test_image: engine/image.c, pictures as WhatsApp takes them (a square
 * JPEG of at most 640 x 640) from whatever GraphicsMagick reads. */
#include "engine/image.h"
#include "tap.h"
#include "wa_err.h"

#include "wa_fetch.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <wand/magick_wand.h>

static char dir[] = "/tmp/test_image-XXXXXX";

/* An image w x h in format fmt ("PNG", "GIF", ...) at dir/name. */
static const char *make(const char *name, const char *fmt, unsigned long w, unsigned long h)
{
	static char path[256];
	MagickWand *m = NewMagickWand();
	int ok;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	MagickSetSize(m, w, h);
	ok = MagickReadImage(m, "gradient:red-blue") != MagickFalse && MagickSetImageFormat(m, fmt) != MagickFalse &&
	     MagickWriteImage(m, path) != MagickFalse;
	DestroyMagickWand(m);
	return ok ? path : NULL;
}

/* The converted picture's format and size. */
static int probe(const uint8_t *b, size_t n, char *fmt, size_t cap, unsigned long *w, unsigned long *h)
{
	MagickWand *m = NewMagickWand();
	char *f;
	int rc = -1;

	if (MagickReadImageBlob(m, b, n) != MagickFalse) {
		f = MagickGetImageFormat(m);
		snprintf(fmt, cap, "%s", f ? f : "");
		if (f)
			MagickRelinquishMemory(f);
		*w = MagickGetImageWidth(m);
		*h = MagickGetImageHeight(m);
		rc = 0;
	}
	DestroyMagickWand(m);
	return rc;
}

static void converts(const char *name, const char *fmt, unsigned long w, unsigned long h, unsigned long side)
{
	const char *p = make(name, fmt, w, h);
	uint8_t *out = NULL;
	size_t len = 0;
	char got[16] = "";
	unsigned long ow = 0, oh = 0;
	char what[128];

	snprintf(what, sizeof what, "%s %lux%lu -> a %lu square JPEG", fmt, w, h, side);
	ok(p && wa_image_profile_jpeg(p, NULL, NULL, &out, &len) == 0 && out && len > 4 && out[0] == 0xFF &&
	   out[1] == 0xD8 && probe(out, len, got, sizeof got, &ow, &oh) == 0 && strcmp(got, "JPEG") == 0 &&
	   ow == side && oh == side, what);
	free(out);
}

/* tests/unit/fetch_server.py on 127.0.0.1 (as test_fetch starts it):
 * its port, or 0; *pid and *in to stop it. */
static unsigned start_server(pid_t *pid, int *in)
{
	const char *top = getenv("top_srcdir"), *py = getenv("PYTHON");
	char script[1024], line[32];
	int o[2], i[2];
	size_t got = 0;

	snprintf(script, sizeof script, "%s/tests/unit/fetch_server.py", top ? top : ".");
	if (!py)
		py = "/usr/bin/python3";
	if (pipe(o) != 0 || pipe(i) != 0 || (*pid = fork()) < 0)
		return 0;
	if (*pid == 0) {
		dup2(i[0], 0);
		dup2(o[1], 1);
		close(i[1]);
		close(o[0]);
		execl(py, py, script, "127.0.0.1", (char *)NULL);
		_exit(127);
	}
	close(i[0]);
	close(o[1]);
	*in = i[1];
	while (got < sizeof line - 1 && read(o[0], line + got, 1) == 1 && line[got] != '\n')
		got++;
	close(o[0]);
	line[got] = '\0';
	return (unsigned)strtoul(line, NULL, 10);
}

static void by_url(void)
{
	struct wa_fetch_policy p;
	pid_t pid;
	int in, st;
	unsigned port = start_server(&pid, &in);
	char url[128], got[16] = "";
	uint8_t *out = NULL;
	size_t len = 0;
	unsigned long w = 0, h = 0;

	if (!port) {
		ok(0, "fetch_server.py started");
		return;
	}
	snprintf(url, sizeof url, "http://127.0.0.1:%u/png?w=800&h=1000", port);
	wa_fetch_policy_default(&p);
	is_int(wa_err_class(wa_image_profile_jpeg(NULL, url, &p, &out, &len)), WA_EDENIED,
	       "a loopback URL under the default rule: refused");
	p.allow_loopback = 1;
	ok(wa_image_profile_jpeg(NULL, url, &p, &out, &len) == 0 && probe(out, len, got, sizeof got, &w, &h) == 0 &&
	   strcmp(got, "JPEG") == 0 && w == 640 && h == 640, "a PNG by URL: a 640 square JPEG");
	free(out);
	snprintf(url, sizeof url, "http://127.0.0.1:%u/file?n=3000&type=image/png", port);
	is_int(wa_image_profile_jpeg(NULL, url, &p, &out, &len), WA_EINVAL, "bytes that are no image by URL: WA_EINVAL");
	snprintf(url, sizeof url, "http://127.0.0.1:%u/status?code=404", port);
	ok(wa_image_profile_jpeg(NULL, url, &p, &out, &len) != 0 && out == NULL, "a 404: an error, nothing returned");
	close(in);
	kill(pid, SIGTERM);
	waitpid(pid, &st, 0);
}

int main(void)
{
	uint8_t *out = (uint8_t *)"x";
	size_t len = 1;
	char path[256];
	FILE *f;

	if (!mkdtemp(dir))
		tap_bail("cannot make a temporary directory");
	InitializeMagick(NULL);
	converts("big.png", "PNG", 1200, 800, 640);
	converts("tall.gif", "GIF", 300, 900, 300);
	converts("small.bmp", "BMP", 64, 40, 40);
	converts("exact.jpg", "JPEG", 640, 640, 640);

	{ /* an animated GIF: its first frame */
		MagickWand *m = NewMagickWand();
		uint8_t *o = NULL;
		size_t n = 0;
		char got[16] = "";
		unsigned long ow = 0, oh = 0;

		snprintf(path, sizeof path, "%s/anim.gif", dir);
		MagickSetSize(m, 200, 100);
		MagickReadImage(m, "xc:red");
		MagickReadImage(m, "xc:blue");
		MagickSetImageFormat(m, "GIF");
		ok(MagickGetNumberImages(m) == 2 && MagickWriteImages(m, path, MagickTrue) != MagickFalse,
		   "a two-frame GIF written");
		DestroyMagickWand(m);
		ok(wa_image_profile_jpeg(path, NULL, NULL, &o, &n) == 0 && probe(o, n, got, sizeof got, &ow, &oh) == 0 &&
		   strcmp(got, "JPEG") == 0 && ow == 100 && oh == 100, "an animated GIF: one 100 square JPEG");
		free(o);
	}

	by_url();

	snprintf(path, sizeof path, "%s/not.png", dir);
	f = fopen(path, "w");
	fputs("this is text, not a picture\n", f);
	fclose(f);
	is_int(wa_image_profile_jpeg(path, NULL, NULL, &out, &len), WA_EINVAL, "text is not an image: WA_EINVAL");
	ok(out == NULL && len == 0, "... and nothing is returned");
	f = fopen(path, "w");
	fclose(f);
	is_int(wa_image_profile_jpeg(path, NULL, NULL, &out, &len), WA_EINVAL, "an empty file: WA_EINVAL");
	snprintf(path, sizeof path, "%s/missing.png", dir);
	is_int(wa_image_profile_jpeg(path, NULL, NULL, &out, &len), WA_EIO, "no such file: WA_EIO");
	is_int(wa_image_profile_jpeg(NULL, NULL, NULL, &out, &len), WA_EINVAL, "neither a file nor a URL");

	{
		char cmd[300];

		snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			tap_diag("cannot remove the temporary directory");
	}
	return tap_done();
}
