/* wa_url: URL syntax check, IP address classes and the fetch policy (see
 * wa_url.h for the contract and the table of refused ranges). */
#include "wa_url.h"
#include "wa_config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

const char *wa_fetch_strerror(int err)
{
	switch (err) {
	case WA_FETCH_EURL: return "malformed URL";
	case WA_FETCH_ESCHEME: return "URL scheme not allowed";
	case WA_FETCH_EUSERINFO: return "credentials in URL";
	case WA_FETCH_ELONG: return "URL too long";
	case WA_FETCH_EADDR: return "refused address";
	case WA_FETCH_ETOOBIG: return "body over the size cap";
	case WA_FETCH_ETIMEDOUT: return "fetch timed out";
	case WA_FETCH_ECONNTIMEDOUT: return "connect timed out";
	case WA_FETCH_ERESOLVE: return "host name not resolved";
	case WA_FETCH_ECONNECT: return "cannot connect";
	case WA_FETCH_EHTTP: return "HTTP status not 2xx";
	case WA_FETCH_EREDIRECTS: return "too many redirects";
	case WA_FETCH_ENET: return "transfer failed";
	case WA_FETCH_ETLS: return "TLS failed";
	default: return wa_strerror(err);
	}
}

/* ---- address classes ---- */

static enum wa_addr_class classify4(const uint8_t *a)
{
	uint32_t x = (uint32_t)a[0] << 24 | (uint32_t)a[1] << 16 | (uint32_t)a[2] << 8 | a[3];

	if (x == 0)
		return WA_ADDR_UNSPECIFIED;
	if (x == 0xffffffffu)
		return WA_ADDR_BROADCAST;
	if (a[0] == 0)
		return WA_ADDR_RESERVED;                  /* 0/8 "this network" */
	if (a[0] == 10)
		return WA_ADDR_PRIVATE;
	if (a[0] == 127)
		return WA_ADDR_LOOPBACK;
	if ((x & 0xffc00000u) == 0x64400000u)             /* 100.64/10 */
		return x == 0x646464c8u ? WA_ADDR_METADATA : WA_ADDR_CGNAT; /* 100.100.100.200 */
	if ((x & 0xffff0000u) == 0xa9fe0000u)             /* 169.254/16 */
		return x == 0xa9fea9feu ? WA_ADDR_METADATA : WA_ADDR_LINKLOCAL;
	if ((x & 0xfff00000u) == 0xac100000u)             /* 172.16/12 */
		return WA_ADDR_PRIVATE;
	if ((x & 0xffffff00u) == 0xc0000000u ||           /* 192.0.0/24 */
	    (x & 0xffffff00u) == 0xc0000200u)             /* 192.0.2/24 */
		return WA_ADDR_RESERVED;
	if ((x & 0xffff0000u) == 0xc0a80000u)             /* 192.168/16 */
		return WA_ADDR_PRIVATE;
	if ((x & 0xfffe0000u) == 0xc6120000u ||           /* 198.18/15 */
	    (x & 0xffffff00u) == 0xc6336400u ||           /* 198.51.100/24 */
	    (x & 0xffffff00u) == 0xcb007100u)             /* 203.0.113/24 */
		return WA_ADDR_RESERVED;
	if ((x & 0xf0000000u) == 0xe0000000u)             /* 224/4 */
		return WA_ADDR_MULTICAST;
	if ((x & 0xf0000000u) == 0xf0000000u)             /* 240/4 */
		return WA_ADDR_RESERVED;
	return WA_ADDR_PUBLIC;
}

static int all_zero(const uint8_t *a, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (a[i])
			return 0;
	return 1;
}

static enum wa_addr_class classify6(const uint8_t *a)
{
	static const uint8_t nat64[12] = { 0x00, 0x64, 0xff, 0x9b };
	static const uint8_t aws_md[16] = { 0xfd, 0x00, 0x0e, 0xc2, [15] = 0x54, [14] = 0x02 };

	if (all_zero(a, 16))
		return WA_ADDR_UNSPECIFIED;
	if (all_zero(a, 15) && a[15] == 1)
		return WA_ADDR_LOOPBACK;
	if (all_zero(a, 10) && a[10] == 0xff && a[11] == 0xff)
		return classify4(a + 12);                 /* ::ffff:a.b.c.d */
	if (all_zero(a, 12))
		return WA_ADDR_RESERVED;                  /* ::a.b.c.d, deprecated */
	if (memcmp(a, nat64, 12) == 0)
		return classify4(a + 12);                 /* 64:ff9b::/96 */
	if (a[0] == 0x00 && a[1] == 0x64 && a[2] == 0xff && a[3] == 0x9b && a[4] == 0 && a[5] == 1)
		return WA_ADDR_RESERVED;                  /* 64:ff9b:1::/48 */
	if (a[0] == 0x20 && a[1] == 0x02)
		return classify4(a + 2);                  /* 6to4 2002::/16 */
	if (a[0] == 0x20 && a[1] == 0x01 && a[2] == 0 && a[3] == 0)
		return WA_ADDR_RESERVED;                  /* Teredo 2001::/32 */
	if (a[0] == 0x20 && a[1] == 0x01 && a[2] == 0x0d && a[3] == 0xb8)
		return WA_ADDR_RESERVED;                  /* 2001:db8::/32 */
	if (a[0] == 0x01 && all_zero(a + 1, 7))
		return WA_ADDR_RESERVED;                  /* discard 100::/64 */
	if (memcmp(a, aws_md, 16) == 0)
		return WA_ADDR_METADATA;                  /* fd00:ec2::254 */
	if ((a[0] & 0xfe) == 0xfc)
		return WA_ADDR_PRIVATE;                   /* fc00::/7 */
	if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80)
		return WA_ADDR_LINKLOCAL;                 /* fe80::/10 */
	if (a[0] == 0xfe && (a[1] & 0xc0) == 0xc0)
		return WA_ADDR_PRIVATE;                   /* site-local fec0::/10 */
	if (a[0] == 0xff)
		return WA_ADDR_MULTICAST;
	if ((a[0] & 0xe0) != 0x20)
		return WA_ADDR_RESERVED;                  /* outside 2000::/3 */
	return WA_ADDR_PUBLIC;
}

enum wa_addr_class wa_addr_classify(int af, const void *addr)
{
	if (addr == NULL)
		return WA_ADDR_RESERVED;
	if (af == AF_INET)
		return classify4(addr);
	if (af == AF_INET6)
		return classify6(addr);
	return WA_ADDR_RESERVED;
}

enum wa_addr_class wa_addr_classify_sa(const struct sockaddr *sa)
{
	if (sa == NULL)
		return WA_ADDR_RESERVED;
	if (sa->sa_family == AF_INET)
		return classify4((const uint8_t *)&((const struct sockaddr_in *)(const void *)sa)->sin_addr);
	if (sa->sa_family == AF_INET6)
		return classify6(((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr.s6_addr);
	return WA_ADDR_RESERVED;
}

const char *wa_addr_class_name(enum wa_addr_class c)
{
	switch (c) {
	case WA_ADDR_PUBLIC: return "public";
	case WA_ADDR_LOOPBACK: return "loopback";
	case WA_ADDR_PRIVATE: return "private";
	case WA_ADDR_CGNAT: return "shared (CGNAT)";
	case WA_ADDR_LINKLOCAL: return "link-local";
	case WA_ADDR_METADATA: return "cloud metadata";
	case WA_ADDR_RESERVED: return "reserved";
	case WA_ADDR_UNSPECIFIED: return "unspecified";
	case WA_ADDR_MULTICAST: return "multicast";
	case WA_ADDR_BROADCAST: return "broadcast";
	}
	return "reserved";
}

/* ---- policy ---- */

static int check_name(const char *h, size_t len, char *why, size_t cap);
static int looks_numeric(const char *host, size_t len);

void wa_fetch_policy_default(struct wa_fetch_policy *p)
{
	memset(p, 0, sizeof *p);
	p->max_bytes = 64ull << 20;
	p->timeout_ms = 60000;
	p->connect_timeout_ms = 10000;
	p->max_redirects = 3;
}

/* An IPv4-mapped IPv6 address is the IPv4 address for matching nets. */
static void normalize(int *af, const uint8_t **a)
{
	if (*af == AF_INET6 && all_zero(*a, 10) && (*a)[10] == 0xff && (*a)[11] == 0xff) {
		*af = AF_INET;
		*a += 12;
	}
}

static int net_contains(const struct wa_net *n, int af, const uint8_t *a)
{
	unsigned full = n->prefix / 8, rest = n->prefix % 8;

	if (n->af != af)
		return 0;
	if (memcmp(n->addr, a, full) != 0)
		return 0;
	if (rest) {
		uint8_t mask = (uint8_t)(0xff << (8 - rest));

		if ((n->addr[full] & mask) != (a[full] & mask))
			return 0;
	}
	return 1;
}

int wa_addr_allowed_raw(const struct wa_fetch_policy *p, int af, const void *addr,
			char *why, size_t cap)
{
	enum wa_addr_class c = wa_addr_classify(af, addr);
	const uint8_t *a = addr;
	char txt[INET6_ADDRSTRLEN] = "?";
	size_t i;
	int naf = af;

	switch (c) {
	case WA_ADDR_PUBLIC:
		return WA_OK;
	case WA_ADDR_UNSPECIFIED:
	case WA_ADDR_MULTICAST:
	case WA_ADDR_BROADCAST:
		break;                                /* never, whatever the policy */
	default:
		if (p == NULL)
			break;
		if (c == WA_ADDR_LOOPBACK && p->allow_loopback)
			return WA_OK;
		if ((c == WA_ADDR_PRIVATE || c == WA_ADDR_CGNAT) && p->allow_private)
			return WA_OK;
		normalize(&naf, &a);
		for (i = 0; i < p->n_allow_nets && i < WA_FETCH_ALLOW_NETS_MAX; i++)
			if (net_contains(&p->allow_nets[i], naf, a))
				return WA_OK;
		break;
	}
	if (addr == NULL || (af != AF_INET && af != AF_INET6) || inet_ntop(af, addr, txt, sizeof txt) == NULL)
		snprintf(txt, sizeof txt, "?");
	if (why && cap)
		snprintf(why, cap, "%s is %s %s address", txt,
			 c == WA_ADDR_UNSPECIFIED || c == WA_ADDR_BROADCAST ? "the" : "a",
			 wa_addr_class_name(c));
	return WA_FETCH_EADDR;
}

int wa_addr_allowed(const struct wa_fetch_policy *p, const struct sockaddr *sa,
		    char *why, size_t cap)
{
	if (sa != NULL && sa->sa_family == AF_INET)
		return wa_addr_allowed_raw(p, AF_INET,
			&((const struct sockaddr_in *)(const void *)sa)->sin_addr, why, cap);
	if (sa != NULL && sa->sa_family == AF_INET6)
		return wa_addr_allowed_raw(p, AF_INET6,
			((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr.s6_addr, why, cap);
	if (why && cap)
		snprintf(why, cap, "not an IP address");
	return WA_FETCH_EADDR;
}

static int parse_net(const char *tok, size_t len, struct wa_net *n)
{
	char buf[INET6_ADDRSTRLEN + 8];
	const char *slash;
	size_t alen;
	unsigned prefix, max, i;

	if (len == 0 || len >= sizeof buf)
		return -1;
	memcpy(buf, tok, len);
	buf[len] = '\0';
	slash = strchr(buf, '/');
	alen = slash ? (size_t)(slash - buf) : len;
	buf[alen] = '\0';
	memset(n, 0, sizeof *n);
	if (inet_pton(AF_INET, buf, n->addr) == 1)
		n->af = AF_INET;
	else if (inet_pton(AF_INET6, buf, n->addr) == 1)
		n->af = AF_INET6;
	else
		return -1;
	max = n->af == AF_INET ? 32 : 128;
	prefix = max;
	if (slash) {
		const char *s = slash + 1;

		if (*s < '0' || *s > '9' || strlen(s) > 3)
			return -1;
		for (prefix = 0; *s; s++) {
			if (*s < '0' || *s > '9')
				return -1;
			prefix = prefix * 10 + (unsigned)(*s - '0');
		}
		if (prefix > max)
			return -1;
	}
	if (n->af == AF_INET6 && all_zero(n->addr, 10) && n->addr[10] == 0xff &&
	    n->addr[11] == 0xff && prefix >= 96) {
		memmove(n->addr, n->addr + 12, 4);
		memset(n->addr + 4, 0, 12);
		n->af = AF_INET;
		prefix -= 96;
		max = 32;
	}
	n->prefix = prefix;
	/* host bits must be zero: "10.1.2.3/8" is a typo for something */
	for (i = prefix; i < max; i++)
		if (n->addr[i / 8] & (0x80 >> (i % 8)))
			return -1;
	return 0;
}

/* The next item of a comma/blank separated list: *s moved to it, *len its
 * length; 0 at the end. */
static int list_item(const char **s, size_t *len)
{
	while (**s == ',' || **s == ' ' || **s == '\t')
		(*s)++;
	if (!**s)
		return 0;
	*len = strcspn(*s, ", \t");
	return 1;
}

int wa_fetch_policy_set_nets(struct wa_fetch_policy *p, const char *list, char *err, size_t errlen)
{
	const char *s = list ? list : "";
	size_t n = 0;

	for (size_t len; list_item(&s, &len); s += len) {
		if (n == WA_FETCH_ALLOW_NETS_MAX) {
			snprintf(err, errlen, "more than %d networks", WA_FETCH_ALLOW_NETS_MAX);
			return WA_EINVAL;
		}
		if (parse_net(s, len, &p->allow_nets[n]) != 0) {
			snprintf(err, errlen, "'%.*s' is not an address or a CIDR network with zero host bits",
				 (int)(len > 60 ? 60 : len), s);
			return WA_EINVAL;
		}
		n++;
	}
	p->n_allow_nets = n;
	return WA_OK;
}

int wa_fetch_policy_set_hosts(struct wa_fetch_policy *p, const char *list, char *err, size_t errlen)
{
	const char *s = list ? list : "";
	size_t n = 0;

	for (size_t len; list_item(&s, &len); s += len) {
		size_t off, i;
		char *h;
		char why[128];

		if (n == WA_FETCH_ALLOW_HOSTS_MAX) {
			snprintf(err, errlen, "more than %d host names", WA_FETCH_ALLOW_HOSTS_MAX);
			return WA_EINVAL;
		}
		off = s[0] == '.';
		if (len - off > WA_URL_HOST_MAX || check_name(s + off, len - off, why, sizeof why) != WA_OK ||
		    looks_numeric(s + off, s[len - 1] == '.' ? len - 1 - off : len - off)) {
			snprintf(err, errlen, "'%.*s' is not a host name (addresses go in allow_nets)",
				 (int)(len > 60 ? 60 : len), s);
			return WA_EINVAL;
		}
		h = p->allow_hosts[n];
		for (i = 0; i < len; i++)
			h[i] = (char)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] - 'A' + 'a' : s[i]);
		if (i > 0 && h[i - 1] == '.')
			i--;
		h[i] = '\0';
		n++;
	}
	p->n_allow_hosts = n;
	return WA_OK;
}

int wa_fetch_host_listed(const struct wa_fetch_policy *p, const char *host)
{
	size_t i, n;

	if (p == NULL || host == NULL)
		return 0;
	n = strlen(host);
	if (n > 0 && host[n - 1] == '.')
		n--;
	for (i = 0; i < p->n_allow_hosts && i < WA_FETCH_ALLOW_HOSTS_MAX; i++) {
		const char *e = p->allow_hosts[i];
		size_t el = strlen(e);

		if (el == 0)
			continue;
		if (e[0] == '.' ? n > el && strncasecmp(host + n - el, e, el) == 0
				: n == el && strncasecmp(host, e, el) == 0)
			return 1;
	}
	return 0;
}

int wa_addr_allowed_host(const struct wa_fetch_policy *p, const char *host,
			 const struct sockaddr *sa, char *why, size_t cap)
{
	enum wa_addr_class c = wa_addr_classify_sa(sa);

	if (sa != NULL && (sa->sa_family == AF_INET || sa->sa_family == AF_INET6) &&
	    wa_fetch_host_listed(p, host) && c != WA_ADDR_UNSPECIFIED && c != WA_ADDR_MULTICAST &&
	    c != WA_ADDR_BROADCAST)
		return WA_OK;
	return wa_addr_allowed(p, sa, why, cap);
}

static int get_bool(const struct wa_config *cfg, const char *key, int *out, char *err, size_t errlen)
{
	const char *v = wa_config_get(cfg, key);

	if (v == NULL) {
		snprintf(err, errlen, "%s: no such key", key);
		return WA_EINVAL;
	}
	if (!strcasecmp(v, "true") || !strcasecmp(v, "yes") || !strcasecmp(v, "on") || !strcmp(v, "1"))
		*out = 1;
	else if (!strcasecmp(v, "false") || !strcasecmp(v, "no") || !strcasecmp(v, "off") ||
		 !strcmp(v, "0"))
		*out = 0;
	else {
		snprintf(err, errlen, "%s: '%s' is not true or false", key, v);
		return WA_EINVAL;
	}
	return WA_OK;
}

int wa_fetch_policy_from_config(const struct wa_config *cfg, const char *prefix,
				struct wa_fetch_policy *p, char *err, size_t errlen)
{
	char key[96];
	unsigned long long sz;
	long v;

	wa_fetch_policy_default(p);
#define KEY(suffix) (snprintf(key, sizeof key, "%s_" suffix, prefix), key)
	if (wa_config_get_size(cfg, KEY("max_bytes"), &sz, err, errlen) != 0)
		return WA_EINVAL;
	if (sz == 0) {
		snprintf(err, errlen, "%s: must be at least 1", key);
		return WA_EINVAL;
	}
	p->max_bytes = sz;
	if (wa_config_get_int(cfg, KEY("timeout_ms"), 100, 86400000L, &v, err, errlen) != 0)
		return WA_EINVAL;
	p->timeout_ms = v;
	if (wa_config_get_int(cfg, KEY("connect_timeout_ms"), 100, 600000L, &v, err, errlen) != 0)
		return WA_EINVAL;
	p->connect_timeout_ms = v;
	if (wa_config_get_int(cfg, KEY("max_redirects"), 0, 20, &v, err, errlen) != 0)
		return WA_EINVAL;
	p->max_redirects = (int)v;
#undef KEY
	/* the address rule: the same keys as any other policy's */
	snprintf(key, sizeof key, "%s_", prefix);
	return wa_fetch_policy_allow_from_config(cfg, key, p, err, errlen);
}

int wa_fetch_policy_allow_from_config(const struct wa_config *cfg, const char *prefix,
				      struct wa_fetch_policy *p, char *err, size_t errlen)
{
	char key[96], nerr[160];
	const char *v;
	int b;

#define KEY(suffix) (snprintf(key, sizeof key, "%s" suffix, prefix), key)
	if (get_bool(cfg, KEY("allow_loopback"), &b, err, errlen) != 0)
		return WA_EINVAL;
	p->allow_loopback = b;
	if (get_bool(cfg, KEY("allow_private"), &b, err, errlen) != 0)
		return WA_EINVAL;
	p->allow_private = b;
	if ((v = wa_config_get(cfg, KEY("allow_nets"))) == NULL ||
	    wa_fetch_policy_set_nets(p, v, nerr, sizeof nerr) != 0 ||
	    (v = wa_config_get(cfg, KEY("allow_hosts"))) == NULL ||
	    wa_fetch_policy_set_hosts(p, v, nerr, sizeof nerr) != 0) {
		snprintf(err, errlen, "%s: %s", key, v ? nerr : "no such key");
		return WA_EINVAL;
	}
#undef KEY
	return WA_OK;
}

/* ---- URL syntax ---- */

static int fail(int code, char *why, size_t cap, const char *msg)
{
	if (why && cap)
		snprintf(why, cap, "%s", msg);
	return code;
}

static int is_digit(int c) { return c >= '0' && c <= '9'; }
static int is_alpha(int c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
static int is_hex(int c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

/* Last label all digits, or 0x followed by hex digits only: the resolver
 * would read the host as a number (inet_aton's shorthand forms). */
static int looks_numeric(const char *host, size_t len)
{
	size_t start = len, i;

	while (start > 0 && host[start - 1] != '.')
		start--;
	if (start == len)
		return 0;
	if (len - start >= 2 && host[start] == '0' && (host[start + 1] == 'x' || host[start + 1] == 'X')) {
		for (i = start + 2; i < len; i++)
			if (!is_hex((unsigned char)host[i]))
				return 0;
		return 1;
	}
	for (i = start; i < len; i++)
		if (!is_digit((unsigned char)host[i]))
			return 0;
	return 1;
}

static int check_name(const char *h, size_t len, char *why, size_t cap)
{
	size_t i, label = 0, n = len;

	if (n > 0 && h[n - 1] == '.')
		n--;                                      /* one trailing dot: an FQDN */
	if (n == 0)
		return fail(WA_FETCH_EURL, why, cap, "the URL has no host");
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)h[i];

		if (c == '.') {
			if (label == 0)
				return fail(WA_FETCH_EURL, why, cap, "the host has an empty label");
			label = 0;
			continue;
		}
		if (!is_alpha(c) && !is_digit(c) && c != '-' && c != '_')
			return fail(WA_FETCH_EURL, why, cap,
				    "the host may contain only letters, digits, '-', '_' and dots");
		if (++label > 63)
			return fail(WA_FETCH_EURL, why, cap, "a label of the host is longer than 63 bytes");
	}
	if (label == 0)
		return fail(WA_FETCH_EURL, why, cap, "the host has an empty label");
	return WA_OK;
}

int wa_url_parse(const char *url, struct wa_url *u, char *why, size_t cap)
{
	const char *auth, *end, *hs, *he, *colon = NULL;
	size_t len, i, slen;

	memset(u, 0, sizeof *u);
	if (url == NULL || *url == '\0')
		return fail(WA_FETCH_EURL, why, cap, "the URL is empty");
	len = strnlen(url, WA_URL_MAX + 1);
	if (len > WA_URL_MAX) {
		if (why && cap)
			snprintf(why, cap, "the URL is longer than %d bytes", WA_URL_MAX);
		return WA_FETCH_ELONG;
	}
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)url[i];

		if (c <= 0x20 || c >= 0x7f || c == '\\') {
			if (why && cap)
				snprintf(why, cap, "the URL contains a space, control, backslash or "
					 "non-ASCII byte at offset %zu (percent-encode it)", i);
			return WA_FETCH_EURL;
		}
	}
	/* scheme: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) ":" */
	for (slen = 0; slen < len; slen++) {
		unsigned char c = (unsigned char)url[slen];

		if (!(is_alpha(c) || (slen > 0 && (is_digit(c) || c == '+' || c == '-' || c == '.'))))
			break;
	}
	if (slen == 0 || slen >= len || url[slen] != ':')
		return fail(WA_FETCH_EURL, why, cap, "not an absolute URL (it needs http:// or https://)");
	if (slen == 4 && strncasecmp(url, "http", 4) == 0)
		u->https = 0;
	else if (slen == 5 && strncasecmp(url, "https", 5) == 0)
		u->https = 1;
	else {
		if (why && cap)
			snprintf(why, cap, "the URL scheme '%.*s' is not allowed (only http and https)",
				 (int)(slen > 16 ? 16 : slen), url);
		return WA_FETCH_ESCHEME;
	}
	if (strncmp(url + slen, "://", 3) != 0)
		return fail(WA_FETCH_EURL, why, cap, "the URL needs '//' and a host after the scheme");
	auth = url + slen + 3;
	end = auth + strcspn(auth, "/?#");
	u->path_off = (size_t)(end - url);
	if (memchr(auth, '@', (size_t)(end - auth)))
		return fail(WA_FETCH_EUSERINFO, why, cap,
			    "the URL contains user name or password ('@' before the host); they are not allowed");
	if (auth == end)
		return fail(WA_FETCH_EURL, why, cap, "the URL has no host");
	if (*auth == '[') {
		char lit[INET6_ADDRSTRLEN];
		const char *rb = memchr(auth, ']', (size_t)(end - auth));

		if (rb == NULL)
			return fail(WA_FETCH_EURL, why, cap, "the IPv6 address has no closing ']'");
		hs = auth + 1;
		he = rb;
		if ((size_t)(he - hs) >= sizeof lit || memchr(hs, '%', (size_t)(he - hs)))
			return fail(WA_FETCH_EURL, why, cap, "the IPv6 address in the URL is not valid");
		memcpy(lit, hs, (size_t)(he - hs));
		lit[he - hs] = '\0';
		if (inet_pton(AF_INET6, lit, u->host_addr) != 1)
			return fail(WA_FETCH_EURL, why, cap, "the IPv6 address in the URL is not valid");
		u->host_af = AF_INET6;
		if (rb + 1 != end) {
			if (rb[1] != ':')
				return fail(WA_FETCH_EURL, why, cap, "unexpected text after the IPv6 address");
			colon = rb + 1;
		}
	} else {
		hs = auth;
		colon = memchr(auth, ':', (size_t)(end - auth));
		if (colon && memchr(colon + 1, ':', (size_t)(end - colon - 1)))
			return fail(WA_FETCH_EURL, why, cap, "an IPv6 address in a URL needs brackets");
		he = colon ? colon : end;
	}
	if ((size_t)(he - hs) > WA_URL_HOST_MAX) {
		if (why && cap)
			snprintf(why, cap, "the host is longer than %d bytes", WA_URL_HOST_MAX);
		return WA_FETCH_EURL;
	}
	for (i = 0; i < (size_t)(he - hs); i++) {
		unsigned char c = (unsigned char)hs[i];

		u->host[i] = (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
	}
	u->host[i] = '\0';
	if (u->host_af == 0) {
		int rc = check_name(u->host, i, why, cap);

		if (rc != WA_OK)
			return rc;
		if (looks_numeric(u->host, i > 0 && u->host[i - 1] == '.' ? i - 1 : i)) {
			if (inet_pton(AF_INET, u->host, u->host_addr) != 1)
				return fail(WA_FETCH_EURL, why, cap,
					    "the host looks like an IPv4 address but is not a plain "
					    "a.b.c.d address");
			u->host_af = AF_INET;
		}
	}
	u->port = u->https ? 443 : 80;
	if (colon) {
		const char *p = colon + 1;
		unsigned long port = 0;

		if (p == end || end - p > 5)
			return fail(WA_FETCH_EURL, why, cap, "the port in the URL is not a number from 1 to 65535");
		for (; p < end; p++) {
			if (!is_digit((unsigned char)*p))
				return fail(WA_FETCH_EURL, why, cap,
					    "the port in the URL is not a number from 1 to 65535");
			port = port * 10 + (unsigned long)(*p - '0');
		}
		if (port == 0 || port > 65535)
			return fail(WA_FETCH_EURL, why, cap, "the port in the URL is not a number from 1 to 65535");
		u->port = (unsigned)port;
	}
	return WA_OK;
}

static int is_localhost(const char *h)
{
	size_t n = strlen(h);

	if (n > 0 && h[n - 1] == '.')
		n--;
	return (n == 9 && strncmp(h, "localhost", 9) == 0) ||
	       (n > 10 && strncmp(h + n - 10, ".localhost", 10) == 0);
}

int wa_url_check(const char *url, const struct wa_fetch_policy *p, char *why, size_t cap)
{
	struct wa_url u;
	char aw[96];
	int rc = wa_url_parse(url, &u, why, cap);

	if (rc != WA_OK || p == NULL)
		return rc;
	if (u.host_af) {
		if (wa_addr_allowed_raw(p, u.host_af, u.host_addr, aw, sizeof aw) != WA_OK) {
			if (why && cap)
				snprintf(why, cap, "refused: %s", aw);
			return WA_FETCH_EADDR;
		}
	} else if (is_localhost(u.host) && !wa_fetch_host_listed(p, u.host)) {
		static const uint8_t lo4[4] = { 127, 0, 0, 1 };

		if (wa_addr_allowed_raw(p, AF_INET, lo4, aw, sizeof aw) != WA_OK) {
			if (why && cap)
				snprintf(why, cap, "refused: %s is a loopback address", u.host);
			return WA_FETCH_EADDR;
		}
	}
	return WA_OK;
}
