/* test_fetch: common/wa_fetch against local HTTP servers (fetch_server.py,
 * one on 127.0.0.1 and one on 127.0.0.2): a body streamed to a file with the
 * right SHA-256 and type; the size cap with and without Content-Length; the
 * time cap; redirects to loopback, metadata and private addresses refused
 * (literal targets at the hop's URL check, names at connect time); schemes
 * other than http(s) refused before any connection; and no file left behind
 * by any failure. */
#include "tap.h"
#include "wa_fetch.h"
#include "wa_util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <openssl/evp.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

struct server {
	pid_t pid;
	int in;                 /* the server's stdin: closing it stops it */
	unsigned port;
};

static char dir[64];

static int start_server(struct server *s, const char *addr)
{
	const char *top = getenv("top_srcdir"), *py = getenv("PYTHON");
	char script[1024], line[32];
	int out[2], in[2];
	ssize_t n;
	size_t got = 0;

	if (top == NULL)
		top = ".";
	if (py == NULL)
		py = "/usr/bin/python3";
	snprintf(script, sizeof script, "%s/tests/unit/fetch_server.py", top);
	if (pipe(out) != 0 || pipe(in) != 0)
		return -1;
	s->pid = fork();
	if (s->pid < 0)
		return -1;
	if (s->pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		close(in[1]);
		close(out[0]);
		execl(py, py, script, addr, (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	s->in = in[1];
	while (got < sizeof line - 1 && (n = read(out[0], line + got, 1)) == 1 && line[got] != '\n')
		got++;
	close(out[0]);
	line[got] = '\0';
	s->port = (unsigned)strtoul(line, NULL, 10);
	return s->port ? 0 : -1;
}

static void stop_server(struct server *s)
{
	int st;

	close(s->in);
	kill(s->pid, SIGTERM);
	waitpid(s->pid, &st, 0);
}

static int files_in_dir(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static void loopback_policy(struct wa_fetch_policy *p)
{
	wa_fetch_policy_default(p);
	p->allow_loopback = 1;
	p->timeout_ms = 10000;
}

/* Requests served so far by server a (not counting /count itself). */
static long served(const struct server *s)
{
	struct wa_fetch_policy p;
	char url[128], path[128], buf[32] = "", why[256];
	long n = -1;
	int fd;
	ssize_t r;

	loopback_policy(&p);
	snprintf(url, sizeof url, "http://127.0.0.1:%u/count", s->port);
	if (wa_fetch_to_file(url, &p, dir, path, sizeof path, NULL, why, sizeof why) != WA_OK)
		return -1;
	fd = open(path, O_RDONLY);
	if (fd >= 0) {
		r = read(fd, buf, sizeof buf - 1);
		if (r > 0) {
			buf[r] = '\0';
			n = strtol(buf, NULL, 10);
		}
		close(fd);
	}
	unlink(path);
	return n;
}

static void expected_sha(size_t n, char out[65])
{
	uint8_t *b = malloc(n ? n : 1);
	size_t i;

	for (i = 0; i < n; i++)
		b[i] = (uint8_t)(i % 251);
	wa_sha256_hex(b, n, out);
	free(b);
}

static struct server a, b;     /* a on 127.0.0.1, b on 127.0.0.2 */

static void test_ok(void)
{
	struct wa_fetch_policy p;
	struct wa_fetch_result r;
	char url[256], path[128], why[512], sha[65];
	struct stat st;
	int rc, fd;

	loopback_policy(&p);
	snprintf(url, sizeof url, "http://127.0.0.1:%u/file?n=300000&type=image/JPEG;%%20q=1", a.port);
	rc = wa_fetch_to_file(url, &p, dir, path, sizeof path, &r, why, sizeof why);
	is_int(rc, WA_OK, "a normal fetch succeeds");
	if (rc)
		printf("# %s\n", why);
	expected_sha(300000, sha);
	is_int(r.bytes, 300000, "byte count");
	is_str(r.sha256_hex, sha, "sha256 of the body");
	is_str(r.mime, "image/jpeg", "media type, lower case, without parameters");
	is_str(r.content_type, "image/JPEG; q=1", "Content-Type as sent");
	is_str(r.final_url, url, "final URL");
	is_int(r.status, 200, "status");
	ok(stat(path, &st) == 0 && st.st_size == 300000 && (st.st_mode & 0777) == 0600,
	   "the file holds the body, mode 0600");
	ok(strncmp(path, dir, strlen(dir)) == 0, "the file is in the given directory");
	unlink(path);

	/* to an fd the caller owns, body without Content-Length */
	snprintf(path, sizeof path, "%s/fd", dir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	snprintf(url, sizeof url, "http://127.0.0.1:%u/nocl?n=100000", a.port);
	rc = wa_fetch_to_fd(url, &p, fd, &r, why, sizeof why);
	expected_sha(100000, sha);
	ok(rc == WA_OK && r.bytes == 100000 && strcmp(r.sha256_hex, sha) == 0 &&
	   strcmp(r.mime, "video/mp4") == 0, "to_fd without Content-Length: bytes, sha256, type");
	ok(fstat(fd, &st) == 0 && st.st_size == 100000, "the fd got the body");
	close(fd);
	unlink(path);

	/* exactly at the cap passes, both ways */
	p.max_bytes = 100000;
	snprintf(url, sizeof url, "http://127.0.0.1:%u/file?n=100000", a.port);
	ok(wa_fetch_to_file(url, &p, dir, path, sizeof path, &r, why, sizeof why) == WA_OK &&
	   r.bytes == 100000, "a body of exactly max_bytes (Content-Length) passes");
	unlink(path);
	snprintf(url, sizeof url, "http://127.0.0.1:%u/nocl?n=100000", a.port);
	ok(wa_fetch_to_file(url, &p, dir, path, sizeof path, &r, why, sizeof why) == WA_OK &&
	   r.bytes == 100000, "a body of exactly max_bytes (streamed) passes");
	unlink(path);

	/* empty body */
	snprintf(url, sizeof url, "http://127.0.0.1:%u/file?n=0", a.port);
	expected_sha(0, sha);
	ok(wa_fetch_to_file(url, &p, dir, path, sizeof path, &r, why, sizeof why) == WA_OK &&
	   r.bytes == 0 && strcmp(r.sha256_hex, sha) == 0, "an empty body: 0 bytes, sha256 of nothing");
	unlink(path);

	/* redirects followed, each hop counted */
	snprintf(url, sizeof url, "http://127.0.0.1:%u/hops?n=3", a.port);
	rc = wa_fetch_to_file(url, &p, dir, path, sizeof path, &r, why, sizeof why);
	ok(rc == WA_OK && r.redirects == 3 && r.bytes == 10 && strstr(r.final_url, "/file?n=10") != NULL,
	   "3 redirects followed, final URL is the last hop");
	unlink(path);
	ok(files_in_dir() == 0, "nothing left in the directory");
}

/* A 64 MiB body (the default cap, issue 9's largest video) streams to the
 * file without the process growing by anything like its size. */
static void test_large(void)
{
	struct wa_fetch_policy p;
	struct wa_fetch_result r;
	struct rusage before, after;
	char url[128], path[128], why[512], sha[65];
	unsigned char chunk[251 * 256], md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	size_t i, left;
	EVP_MD_CTX *m;
	int rc;

	loopback_policy(&p);
	p.timeout_ms = 120000;
	snprintf(url, sizeof url, "http://127.0.0.1:%u/file?n=%llu", a.port, p.max_bytes);
	getrusage(RUSAGE_SELF, &before);
	rc = wa_fetch_to_file(url, &p, dir, path, sizeof path, &r, why, sizeof why);
	getrusage(RUSAGE_SELF, &after);
	is_int(rc, WA_OK, "a 64 MiB body (exactly the default cap) is fetched");
	if (rc)
		printf("# %s\n", why);
	is_int(r.bytes, 64ull << 20, "all 64 MiB");
	printf("# peak RSS %ld KiB before, %ld KiB after\n", before.ru_maxrss, after.ru_maxrss);
	ok(after.ru_maxrss - before.ru_maxrss < 8 * 1024, "peak memory grew by less than 8 MiB for 64 MiB");
	for (i = 0; i < sizeof chunk; i++)
		chunk[i] = (unsigned char)(i % 251);
	m = EVP_MD_CTX_new();
	EVP_DigestInit_ex(m, EVP_sha256(), NULL);
	for (left = 64u << 20; left > 0; left -= left < sizeof chunk ? left : sizeof chunk)
		EVP_DigestUpdate(m, chunk, left < sizeof chunk ? left : sizeof chunk);
	EVP_DigestFinal_ex(m, md, &mdlen);
	EVP_MD_CTX_free(m);
	wa_hex_encode(md, 32, sha);
	is_str(r.sha256_hex, sha, "sha256 of the 64 MiB body");
	unlink(path);
}

static void expect_fail(const struct wa_fetch_policy *p, const char *url, int want, const char *reason,
			const char *name)
{
	char path[128] = "x", why[512] = "";
	int rc = wa_fetch_to_file(url, p, dir, path, sizeof path, NULL, why, sizeof why);

	if (!tap_ok(rc == want && strstr(why, reason) != NULL && path[0] == '\0' && files_in_dir() == 0,
		    __FILE__, __LINE__, name))
		printf("#   rc %d (want %d), why '%s' (want '%s'), path '%s', %d files\n", rc, want, why, reason,
		       path, files_in_dir());
}

static void test_caps(void)
{
	struct wa_fetch_policy p;
	char url[256];

	loopback_policy(&p);
	p.max_bytes = 100000;
	snprintf(url, sizeof url, "http://127.0.0.1:%u/file?n=100001", a.port);
	expect_fail(&p, url, WA_FETCH_ETOOBIG, "larger than the limit of 100000 bytes (Content-Length 100001)",
		    "over the cap with Content-Length: refused, no file");
	snprintf(url, sizeof url, "http://127.0.0.1:%u/nocl?n=100001", a.port);
	expect_fail(&p, url, WA_FETCH_ETOOBIG, "larger than the limit of 100000 bytes",
		    "over the cap without Content-Length: refused, no file");
	/* Content-Length over the cap, then the server stalls for 10 s: refused
	 * on the header (a 3 s time cap would say "took longer" otherwise) */
	p.timeout_ms = 3000;
	snprintf(url, sizeof url, "http://127.0.0.1:%u/bigcl?n=%u", a.port, 1u << 30);
	expect_fail(&p, url, WA_FETCH_ETOOBIG, "Content-Length 1073741824",
		    "a huge Content-Length is refused before the body");

	loopback_policy(&p);
	p.timeout_ms = 500;
	snprintf(url, sizeof url, "http://127.0.0.1:%u/slow?n=100&ms=100", a.port);
	expect_fail(&p, url, WA_FETCH_ETIMEDOUT, "took longer than 500 ms",
		    "a body slower than the time cap: refused, no file");

	loopback_policy(&p);
	snprintf(url, sizeof url, "http://127.0.0.1:%u/status?code=404", a.port);
	expect_fail(&p, url, WA_FETCH_EHTTP, "127.0.0.1 answered HTTP 404", "404: refused, no file");
	snprintf(url, sizeof url, "http://127.0.0.1:%u/status?code=500", a.port);
	expect_fail(&p, url, WA_FETCH_EHTTP, "answered HTTP 500", "500: refused, no file");
	p.max_redirects = 2;
	snprintf(url, sizeof url, "http://127.0.0.1:%u/hops?n=3", a.port);
	expect_fail(&p, url, WA_FETCH_EREDIRECTS, "more than 2 redirects", "redirects over the limit refused");
	p.max_redirects = 0;
	snprintf(url, sizeof url, "http://127.0.0.1:%u/hops?n=1", a.port);
	expect_fail(&p, url, WA_FETCH_EREDIRECTS, "more than 0 redirects", "max_redirects 0 refuses any");
	/* nothing listens on port 1 */
	expect_fail(&p, "http://127.0.0.1:1/", WA_FETCH_ECONNECT, "cannot connect to 127.0.0.1",
		    "connection refused: cannot connect");
}

static void test_addresses(void)
{
	struct wa_fetch_policy p, only_b;
	char url[512], err[128];
	long before;

	/* policy that reaches server b (127.0.0.2) and nothing else local */
	wa_fetch_policy_default(&only_b);
	only_b.timeout_ms = 10000;
	ok(wa_fetch_policy_set_nets(&only_b, "127.0.0.2/32", err, sizeof err) == WA_OK, "policy for b only");

	snprintf(url, sizeof url, "http://127.0.0.2:%u/file?n=10", b.port);
	{
		char path[128], why[256];

		ok(wa_fetch_to_file(url, &only_b, dir, path, sizeof path, NULL, why, sizeof why) == WA_OK,
		   "b is reachable under that policy");
		unlink(path);
	}
	snprintf(url, sizeof url, "http://127.0.0.1:%u/file?n=10", a.port);
	expect_fail(&only_b, url, WA_FETCH_EADDR, "refused: 127.0.0.1 is a loopback address",
		    "a, on 127.0.0.1, is not");
	expect_fail(NULL, url, WA_FETCH_EADDR, "127.0.0.1 is a loopback address", "NULL policy refuses loopback");

	/* redirects from b to refused literals: refused at the hop's check */
	before = served(&a);
	snprintf(url, sizeof url, "http://127.0.0.2:%u/redirect?to=http://127.0.0.1:%u/file%%3Fn%%3D10",
		 b.port, a.port);
	expect_fail(&only_b, url, WA_FETCH_EADDR, "redirect refused: 127.0.0.1 is a loopback address",
		    "redirect to 127.0.0.1 refused");
	is_int(served(&a), before, "and a was never asked");
	snprintf(url, sizeof url, "http://127.0.0.2:%u/redirect?to=http://169.254.169.254/latest/meta-data/",
		 b.port);
	expect_fail(&only_b, url, WA_FETCH_EADDR, "redirect refused: 169.254.169.254 is a cloud metadata address",
		    "redirect to 169.254.169.254 refused");
	snprintf(url, sizeof url, "http://127.0.0.2:%u/redirect?to=http://10.0.0.1/&code=307", b.port);
	expect_fail(&only_b, url, WA_FETCH_EADDR, "redirect refused: 10.0.0.1 is a private address",
		    "redirect (307) to 10.0.0.1 refused");
	snprintf(url, sizeof url, "http://127.0.0.2:%u/redirect?to=http://[::ffff:127.0.0.1]:%u/", b.port,
		 a.port);
	expect_fail(&only_b, url, WA_FETCH_EADDR, "::ffff:127.0.0.1 is a loopback address",
		    "redirect to IPv4-mapped loopback refused");
	snprintf(url, sizeof url, "http://127.0.0.2:%u/redirect?to=http://localhost:%u/", b.port, a.port);
	expect_fail(&only_b, url, WA_FETCH_EADDR, "localhost is a loopback address",
		    "redirect to localhost refused");
	snprintf(url, sizeof url, "http://127.0.0.2:%u/redirect?to=file:///etc/passwd", b.port);
	expect_fail(&only_b, url, WA_FETCH_ESCHEME, "redirect refused: the URL scheme 'file' is not allowed",
		    "redirect to file:// refused");
	snprintf(url, sizeof url, "http://127.0.0.2:%u/redirect?to=gopher://127.0.0.2:%u/", b.port, b.port);
	expect_fail(&only_b, url, WA_FETCH_ESCHEME, "scheme 'gopher' is not allowed", "redirect to gopher:// refused");

	/* names: resolved, then refused at connect time on the address */
	p = only_b;
	p.n_pins = 3;
	snprintf(p.pins[0], sizeof p.pins[0], "evil.test:%u:127.0.0.1", a.port);
	snprintf(p.pins[1], sizeof p.pins[1], "meta.test:80:169.254.169.254");
	snprintf(p.pins[2], sizeof p.pins[2], "lan.test:80:10.0.0.1");
	before = served(&a);
	snprintf(url, sizeof url, "http://evil.test:%u/file?n=10", a.port);
	expect_fail(&p, url, WA_FETCH_EADDR, "refused: evil.test: 127.0.0.1 is a loopback address",
		    "a name resolving to loopback refused at connect time");
	snprintf(url, sizeof url, "http://127.0.0.2:%u/redirect?to=http://evil.test:%u/file", b.port, a.port);
	expect_fail(&p, url, WA_FETCH_EADDR, "refused: evil.test: 127.0.0.1 is a loopback address",
		    "a redirect to such a name refused at connect time");
	is_int(served(&a), before, "and a was never asked");
	expect_fail(&p, "http://meta.test/latest/meta-data/", WA_FETCH_EADDR,
		    "meta.test: 169.254.169.254 is a cloud metadata address", "a name resolving to metadata refused");
	snprintf(url, sizeof url, "http://127.0.0.2:%u/redirect?to=http://lan.test/", b.port);
	expect_fail(&p, url, WA_FETCH_EADDR, "lan.test: 10.0.0.1 is a private address",
		    "a redirect to a name resolving to 10.0.0.1 refused");

	/* the same redirect succeeds when the policy allows loopback: the
	 * refusal above was the rule, not a broken redirect */
	p.allow_loopback = 1;
	snprintf(url, sizeof url, "http://127.0.0.2:%u/redirect?to=http://evil.test:%u/file%%3Fn%%3D10", b.port,
		 a.port);
	{
		char path[128], why[256];
		struct wa_fetch_result r;

		ok(wa_fetch_to_file(url, &p, dir, path, sizeof path, &r, why, sizeof why) == WA_OK &&
		   r.redirects == 1 && r.bytes == 10, "with allow_loopback the redirect is followed");
		unlink(path);
	}

	/* a host in allow_hosts reaches its (refused) address; a redirect from
	 * it to a literal of the same address is judged on its own */
	p = only_b;
	p.n_pins = 1;
	snprintf(p.pins[0], sizeof p.pins[0], "media.lab:%u:127.0.0.1", a.port);
	ok(wa_fetch_policy_set_hosts(&p, "media.lab", err, sizeof err) == WA_OK, "allow_hosts media.lab");
	snprintf(url, sizeof url, "http://media.lab:%u/file?n=10", a.port);
	{
		char path[128], why[256];

		ok(wa_fetch_to_file(url, &p, dir, path, sizeof path, NULL, why, sizeof why) == WA_OK,
		   "a listed host on loopback is fetched");
		unlink(path);
	}
	snprintf(url, sizeof url, "http://media.lab:%u/redirect?to=http://127.0.0.1:%u/file", a.port, a.port);
	expect_fail(&p, url, WA_FETCH_EADDR, "redirect refused: 127.0.0.1 is a loopback address",
		    "a redirect from the listed host to an unlisted target is refused");
}

static void test_schemes(void)
{
	struct wa_fetch_policy p;
	char url[256], path[128] = "x", why[256];
	long before = served(&a);
	int fd;

	loopback_policy(&p);
	expect_fail(&p, "file:///etc/passwd", WA_FETCH_ESCHEME, "scheme 'file' is not allowed", "file:// refused");
	snprintf(url, sizeof url, "gopher://127.0.0.1:%u/_GET%%20/file", a.port);
	expect_fail(&p, url, WA_FETCH_ESCHEME, "scheme 'gopher' is not allowed", "gopher:// refused");
	snprintf(url, sizeof url, "ftp://127.0.0.1:%u/", a.port);
	expect_fail(&p, url, WA_FETCH_ESCHEME, "scheme 'ftp' is not allowed", "ftp:// refused");
	snprintf(url, sizeof url, "http://user:pw@127.0.0.1:%u/file?n=1", a.port);
	expect_fail(&p, url, WA_FETCH_EUSERINFO, "user name or password", "userinfo refused");
	snprintf(url, sizeof url, "http://2130706433:%u/file?n=1", a.port);
	expect_fail(&p, url, WA_FETCH_EURL, "not a plain a.b.c.d address", "decimal IPv4 shorthand refused");
	is_int(served(&a), before, "none of these reached the server");

	/* a refused URL creates no file, to_fd writes nothing */
	ok(wa_fetch_to_file("ftp://x/", &p, dir, path, sizeof path, NULL, why, sizeof why) == WA_FETCH_ESCHEME &&
	   path[0] == '\0' && files_in_dir() == 0, "no temporary file for a refused URL");
	snprintf(path, sizeof path, "%s/fd", dir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	ok(wa_fetch_to_fd("file:///etc/passwd", &p, fd, NULL, why, sizeof why) == WA_FETCH_ESCHEME &&
	   lseek(fd, 0, SEEK_END) == 0, "to_fd: nothing written for a refused URL");
	close(fd);
	unlink(path);
	ok(wa_fetch_to_file("http://example.com/", &p, "/nonexistent-dir-for-wa-fetch", path, sizeof path,
			    NULL, why, sizeof why) == WA_ESTORAGE && strstr(why, "cannot create") != NULL,
	   "an unusable directory is the gateway's fault (WA_ESTORAGE)");
}

int main(void)
{
	snprintf(dir, sizeof dir, "/tmp/wa-fetch-test-XXXXXX");
	if (mkdtemp(dir) == NULL)
		tap_bail("mkdtemp failed");
	signal(SIGPIPE, SIG_IGN);
	if (start_server(&a, "127.0.0.1") != 0)
		tap_bail("cannot start tests/unit/fetch_server.py on 127.0.0.1");
	if (start_server(&b, "127.0.0.2") != 0) {
		stop_server(&a);
		tap_bail("cannot start tests/unit/fetch_server.py on 127.0.0.2");
	}
	test_ok();
	test_large();
	test_caps();
	test_addresses();
	test_schemes();
	stop_server(&a);
	stop_server(&b);
	rmdir(dir);
	return tap_done();
}
