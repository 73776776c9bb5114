/* test_url: common/wa_url - the address classes (every refused range, the
 * addresses on both sides of each boundary, IPv6 forms carrying IPv4), the
 * policy (allow flags, allowed networks, the config loader) and the URL
 * syntax check a worker runs before it stores anything. */
#include "tap.h"
#include "wa_config.h"
#include "wa_url.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

static enum wa_addr_class cls(const char *ip)
{
	uint8_t a[16];

	if (inet_pton(AF_INET, ip, a) == 1)
		return wa_addr_classify(AF_INET, a);
	if (inet_pton(AF_INET6, ip, a) == 1)
		return wa_addr_classify(AF_INET6, a);
	printf("# bad test address %s\n", ip);
	return (enum wa_addr_class)-1;
}

static int allowed(const struct wa_fetch_policy *p, const char *ip)
{
	uint8_t a[16];
	char why[128];
	int af = inet_pton(AF_INET, ip, a) == 1 ? AF_INET : AF_INET6;

	if (af == AF_INET6 && inet_pton(AF_INET6, ip, a) != 1)
		return -1;
	return wa_addr_allowed_raw(p, af, a, why, sizeof why) == WA_OK;
}

static const struct {
	const char *ip;
	enum wa_addr_class want;
} table[] = {
	/* 0/8 this network; 0.0.0.0 unspecified */
	{ "0.0.0.0", WA_ADDR_UNSPECIFIED },
	{ "0.0.0.1", WA_ADDR_RESERVED },
	{ "0.255.255.255", WA_ADDR_RESERVED },
	{ "1.0.0.0", WA_ADDR_PUBLIC },
	/* 10/8 */
	{ "9.255.255.255", WA_ADDR_PUBLIC },
	{ "10.0.0.0", WA_ADDR_PRIVATE },
	{ "10.0.0.1", WA_ADDR_PRIVATE },
	{ "10.255.255.255", WA_ADDR_PRIVATE },
	{ "11.0.0.0", WA_ADDR_PUBLIC },
	/* 100.64/10 CGNAT, with Alibaba's metadata address inside */
	{ "100.63.255.255", WA_ADDR_PUBLIC },
	{ "100.64.0.0", WA_ADDR_CGNAT },
	{ "100.127.255.255", WA_ADDR_CGNAT },
	{ "100.128.0.0", WA_ADDR_PUBLIC },
	{ "100.100.100.200", WA_ADDR_METADATA },
	{ "100.100.100.199", WA_ADDR_CGNAT },
	/* 127/8 */
	{ "126.255.255.255", WA_ADDR_PUBLIC },
	{ "127.0.0.0", WA_ADDR_LOOPBACK },
	{ "127.0.0.1", WA_ADDR_LOOPBACK },
	{ "127.255.255.255", WA_ADDR_LOOPBACK },
	{ "128.0.0.0", WA_ADDR_PUBLIC },
	/* 169.254/16 and the metadata address */
	{ "169.253.255.255", WA_ADDR_PUBLIC },
	{ "169.254.0.0", WA_ADDR_LINKLOCAL },
	{ "169.254.169.253", WA_ADDR_LINKLOCAL },
	{ "169.254.169.254", WA_ADDR_METADATA },
	{ "169.254.169.255", WA_ADDR_LINKLOCAL },
	{ "169.254.255.255", WA_ADDR_LINKLOCAL },
	{ "169.255.0.0", WA_ADDR_PUBLIC },
	/* 172.16/12 */
	{ "172.15.255.255", WA_ADDR_PUBLIC },
	{ "172.16.0.0", WA_ADDR_PRIVATE },
	{ "172.31.255.255", WA_ADDR_PRIVATE },
	{ "172.32.0.0", WA_ADDR_PUBLIC },
	/* 192.0.0/24, 192.0.2/24 */
	{ "191.255.255.255", WA_ADDR_PUBLIC },
	{ "192.0.0.0", WA_ADDR_RESERVED },
	{ "192.0.0.255", WA_ADDR_RESERVED },
	{ "192.0.1.0", WA_ADDR_PUBLIC },
	{ "192.0.2.0", WA_ADDR_RESERVED },
	{ "192.0.2.255", WA_ADDR_RESERVED },
	{ "192.0.3.0", WA_ADDR_PUBLIC },
	/* 192.168/16 */
	{ "192.167.255.255", WA_ADDR_PUBLIC },
	{ "192.168.0.0", WA_ADDR_PRIVATE },
	{ "192.168.255.255", WA_ADDR_PRIVATE },
	{ "192.169.0.0", WA_ADDR_PUBLIC },
	/* 198.18/15, 198.51.100/24, 203.0.113/24 */
	{ "198.17.255.255", WA_ADDR_PUBLIC },
	{ "198.18.0.0", WA_ADDR_RESERVED },
	{ "198.19.255.255", WA_ADDR_RESERVED },
	{ "198.20.0.0", WA_ADDR_PUBLIC },
	{ "198.51.99.255", WA_ADDR_PUBLIC },
	{ "198.51.100.0", WA_ADDR_RESERVED },
	{ "198.51.100.255", WA_ADDR_RESERVED },
	{ "198.51.101.0", WA_ADDR_PUBLIC },
	{ "203.0.112.255", WA_ADDR_PUBLIC },
	{ "203.0.113.0", WA_ADDR_RESERVED },
	{ "203.0.113.255", WA_ADDR_RESERVED },
	{ "203.0.114.0", WA_ADDR_PUBLIC },
	/* 224/4 multicast, 240/4 reserved, broadcast */
	{ "223.255.255.255", WA_ADDR_PUBLIC },
	{ "224.0.0.0", WA_ADDR_MULTICAST },
	{ "239.255.255.255", WA_ADDR_MULTICAST },
	{ "240.0.0.0", WA_ADDR_RESERVED },
	{ "255.255.255.254", WA_ADDR_RESERVED },
	{ "255.255.255.255", WA_ADDR_BROADCAST },
	/* public examples */
	{ "8.8.8.8", WA_ADDR_PUBLIC },
	{ "157.240.1.1", WA_ADDR_PUBLIC },

	/* IPv6 */
	{ "::", WA_ADDR_UNSPECIFIED },
	{ "::1", WA_ADDR_LOOPBACK },
	{ "::2", WA_ADDR_RESERVED },
	{ "::10.0.0.1", WA_ADDR_RESERVED },           /* IPv4-compatible, deprecated */
	/* IPv4-mapped: judged by the IPv4 address */
	{ "::ffff:127.0.0.1", WA_ADDR_LOOPBACK },
	{ "::ffff:10.0.0.1", WA_ADDR_PRIVATE },
	{ "::ffff:172.16.0.1", WA_ADDR_PRIVATE },
	{ "::ffff:192.168.1.1", WA_ADDR_PRIVATE },
	{ "::ffff:169.254.169.254", WA_ADDR_METADATA },
	{ "::ffff:169.254.1.1", WA_ADDR_LINKLOCAL },
	{ "::ffff:100.64.0.1", WA_ADDR_CGNAT },
	{ "::ffff:0.0.0.0", WA_ADDR_UNSPECIFIED },
	{ "::ffff:224.0.0.1", WA_ADDR_MULTICAST },
	{ "::ffff:255.255.255.255", WA_ADDR_BROADCAST },
	{ "::ffff:8.8.8.8", WA_ADDR_PUBLIC },
	{ "::ffff:7f00:1", WA_ADDR_LOOPBACK },          /* same, hex notation */
	{ "::fffe:7f00:1", WA_ADDR_RESERVED },
	{ "::ffff:0:7f00:1", WA_ADDR_RESERVED },        /* IPv4-translated: not 2000::/3 */
	/* NAT64 and 6to4 carry an IPv4 address too */
	{ "64:ff9b::7f00:1", WA_ADDR_LOOPBACK },
	{ "64:ff9b::a9fe:a9fe", WA_ADDR_METADATA },
	{ "64:ff9b::808:808", WA_ADDR_PUBLIC },
	{ "64:ff9b:1::1", WA_ADDR_RESERVED },
	{ "2002:a00:1::", WA_ADDR_PRIVATE },             /* 6to4 of 10.0.0.1 */
	{ "2002:7f00:1::1", WA_ADDR_LOOPBACK },
	{ "2002:808:808::1", WA_ADDR_PUBLIC },
	{ "2001::1", WA_ADDR_RESERVED },                 /* Teredo */
	{ "2001:0:ffff:ffff::1", WA_ADDR_RESERVED },
	{ "2001:1::1", WA_ADDR_PUBLIC },
	{ "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", WA_ADDR_PUBLIC },
	{ "2001:db8::", WA_ADDR_RESERVED },
	{ "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", WA_ADDR_RESERVED },
	{ "2001:db9::", WA_ADDR_PUBLIC },
	{ "100::", WA_ADDR_RESERVED },
	{ "100::ffff:ffff:ffff:ffff", WA_ADDR_RESERVED },
	/* fc00::/7 private, with AWS's IPv6 metadata address inside */
	{ "fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", WA_ADDR_RESERVED },
	{ "fc00::", WA_ADDR_PRIVATE },
	{ "fd12:3456::1", WA_ADDR_PRIVATE },
	{ "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", WA_ADDR_PRIVATE },
	{ "fd00:ec2::254", WA_ADDR_METADATA },
	{ "fd00:ec2::253", WA_ADDR_PRIVATE },
	{ "fe00::", WA_ADDR_RESERVED },
	/* fe80::/10 link-local, fec0::/10 site-local */
	{ "fe7f:ffff:ffff:ffff:ffff:ffff:ffff:ffff", WA_ADDR_RESERVED },
	{ "fe80::", WA_ADDR_LINKLOCAL },
	{ "fe80::1", WA_ADDR_LINKLOCAL },
	{ "febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff", WA_ADDR_LINKLOCAL },
	{ "fec0::", WA_ADDR_PRIVATE },
	{ "feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", WA_ADDR_PRIVATE },
	/* multicast, and the edges of global unicast 2000::/3 */
	{ "ff00::", WA_ADDR_MULTICAST },
	{ "ff02::1", WA_ADDR_MULTICAST },
	{ "1fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", WA_ADDR_RESERVED },
	{ "2000::", WA_ADDR_PUBLIC },
	{ "2a03:2880:f12f:83:face:b00c:0:25de", WA_ADDR_PUBLIC },
	{ "3fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", WA_ADDR_PUBLIC },
	{ "4000::", WA_ADDR_RESERVED },
};

static void test_classes(void)
{
	size_t i;
	int bad = 0;

	for (i = 0; i < sizeof table / sizeof table[0]; i++) {
		enum wa_addr_class got = cls(table[i].ip);

		if (got != table[i].want) {
			printf("# %s: got %s, want %s\n", table[i].ip, wa_addr_class_name(got),
			       wa_addr_class_name(table[i].want));
			bad++;
		}
	}
	ok(bad == 0, "address classes: every range, both sides of each boundary, IPv6 forms");
	is_int(wa_addr_classify(AF_UNIX, "xxxxxxxxxxxxxxxx"), WA_ADDR_RESERVED, "other families are reserved");
	is_int(wa_addr_classify(AF_INET, NULL), WA_ADDR_RESERVED, "NULL address is reserved");

	{
		struct sockaddr_in s4 = { .sin_family = AF_INET };
		struct sockaddr_in6 s6 = { .sin6_family = AF_INET6 };
		struct sockaddr sun = { .sa_family = AF_UNIX };

		inet_pton(AF_INET, "169.254.169.254", &s4.sin_addr);
		inet_pton(AF_INET6, "::ffff:10.1.1.1", &s6.sin6_addr);
		is_int(wa_addr_classify_sa((struct sockaddr *)&s4), WA_ADDR_METADATA, "sockaddr_in classified");
		is_int(wa_addr_classify_sa((struct sockaddr *)&s6), WA_ADDR_PRIVATE, "sockaddr_in6 classified");
		is_int(wa_addr_classify_sa(&sun), WA_ADDR_RESERVED, "a unix sockaddr is reserved");
		ok(wa_addr_allowed(NULL, &sun, NULL, 0) == WA_FETCH_EADDR, "a unix sockaddr is never allowed");
	}
}

static void test_policy(void)
{
	struct wa_fetch_policy p;
	char why[128] = "", err[160] = "";
	uint8_t a[4] = { 10, 0, 0, 1 };
	static const char *never[] = { "0.0.0.0", "::", "224.0.0.1", "ff02::1", "255.255.255.255",
				       "::ffff:0.0.0.0" };
	size_t i;
	int n;

	wa_fetch_policy_default(&p);
	is_int(p.max_bytes, 64ull << 20, "default cap 64 MiB");
	ok(p.timeout_ms == 60000 && p.connect_timeout_ms == 10000 && p.max_redirects == 3,
	   "default time caps and redirects");
	ok(!p.allow_loopback && !p.allow_private && p.n_allow_nets == 0, "default allows public only");

	ok(allowed(&p, "8.8.8.8") == 1 && allowed(&p, "2a03:2880::1") == 1, "public allowed");
	ok(allowed(&p, "127.0.0.1") == 0 && allowed(&p, "::1") == 0 && allowed(&p, "::ffff:127.0.0.1") == 0,
	   "loopback refused by default, every form");
	ok(allowed(&p, "10.0.0.1") == 0 && allowed(&p, "fd00::1") == 0 && allowed(&p, "100.64.0.1") == 0,
	   "private and CGNAT refused by default");
	ok(allowed(&p, "169.254.169.254") == 0 && allowed(&p, "fe80::1") == 0, "link-local refused");
	is_int(wa_addr_allowed_raw(&p, AF_INET, a, why, sizeof why), WA_FETCH_EADDR, "refusal code");
	is_str(why, "10.0.0.1 is a private address", "refusal reason names address and class");
	a[0] = 169; a[1] = 254; a[2] = 169; a[3] = 254;
	wa_addr_allowed_raw(&p, AF_INET, a, why, sizeof why);
	is_str(why, "169.254.169.254 is a cloud metadata address", "metadata named as such");
	ok(allowed(NULL, "8.8.8.8") == 1 && allowed(NULL, "10.0.0.1") == 0, "NULL policy: public only");

	p.allow_loopback = 1;
	ok(allowed(&p, "127.0.0.1") == 1 && allowed(&p, "127.255.0.9") == 1 && allowed(&p, "::1") == 1 &&
	   allowed(&p, "::ffff:127.0.0.1") == 1, "allow_loopback: every loopback form");
	ok(allowed(&p, "10.0.0.1") == 0 && allowed(&p, "169.254.169.254") == 0,
	   "allow_loopback opens nothing else");
	p.allow_loopback = 0;
	p.allow_private = 1;
	ok(allowed(&p, "10.0.0.1") == 1 && allowed(&p, "172.16.0.1") == 1 && allowed(&p, "192.168.0.1") == 1 &&
	   allowed(&p, "fd00::1") == 1 && allowed(&p, "100.64.0.1") == 1 && allowed(&p, "::ffff:10.0.0.1") == 1,
	   "allow_private: RFC 1918, ULA, CGNAT, mapped");
	ok(allowed(&p, "127.0.0.1") == 0 && allowed(&p, "169.254.1.1") == 0 && allowed(&p, "fe80::1") == 0,
	   "allow_private: loopback and link-local stay refused");
	ok(allowed(&p, "169.254.169.254") == 0 && allowed(&p, "fd00:ec2::254") == 0 &&
	   allowed(&p, "100.100.100.200") == 0, "allow_private: metadata addresses stay refused");

	wa_fetch_policy_default(&p);
	ok(wa_fetch_policy_set_nets(&p, "10.1.2.0/24, fd00::5 ,127.0.0.2", err, sizeof err) == WA_OK &&
	   p.n_allow_nets == 3, "allow_nets parsed");
	ok(allowed(&p, "10.1.2.0") == 1 && allowed(&p, "10.1.2.255") == 1, "inside the net allowed");
	ok(allowed(&p, "10.1.1.255") == 0 && allowed(&p, "10.1.3.0") == 0, "just outside refused");
	ok(allowed(&p, "::ffff:10.1.2.7") == 1, "mapped form matches the IPv4 net");
	ok(allowed(&p, "fd00::5") == 1 && allowed(&p, "fd00::6") == 0, "IPv6 host entry");
	ok(allowed(&p, "127.0.0.2") == 1 && allowed(&p, "127.0.0.1") == 0, "a single loopback host");
	ok(wa_fetch_policy_set_nets(&p, "0.0.0.0/0, ::/0", err, sizeof err) == WA_OK, "catch-all nets parse");
	for (i = 0, n = 0; i < sizeof never / sizeof never[0]; i++)
		n += allowed(&p, never[i]);
	ok(n == 0, "unspecified, multicast and broadcast: never, even with 0.0.0.0/0");
	ok(allowed(&p, "169.254.169.254") == 1, "allow_nets can open metadata deliberately");
	ok(wa_fetch_policy_set_nets(&p, "::ffff:10.0.0.0/104", err, sizeof err) == WA_OK &&
	   p.allow_nets[0].af == AF_INET && p.allow_nets[0].prefix == 8, "mapped net stored as IPv4");
	ok(wa_fetch_policy_set_nets(&p, "", err, sizeof err) == WA_OK && p.n_allow_nets == 0, "empty list");
	ok(wa_fetch_policy_set_nets(&p, "10.1.2.3/8", err, sizeof err) == WA_EINVAL &&
	   strstr(err, "10.1.2.3/8") != NULL, "host bits set refused, entry named");
	ok(wa_fetch_policy_set_nets(&p, "10.0.0.0/33", err, sizeof err) == WA_EINVAL, "prefix over 32");
	ok(wa_fetch_policy_set_nets(&p, "fd00::/129", err, sizeof err) == WA_EINVAL, "prefix over 128");
	ok(wa_fetch_policy_set_nets(&p, "example.com", err, sizeof err) == WA_EINVAL, "name refused");
	ok(wa_fetch_policy_set_nets(&p, "10.0.0.0/", err, sizeof err) == WA_EINVAL, "empty prefix");
	ok(wa_fetch_policy_set_nets(&p, "1.0.0.1,1.0.0.2,1.0.0.3,1.0.0.4,1.0.0.5,1.0.0.6,1.0.0.7,1.0.0.8,"
				    "1.0.0.9,1.0.0.10,1.0.0.11,1.0.0.12,1.0.0.13,1.0.0.14,1.0.0.15,"
				    "1.0.0.16,1.0.0.17", err, sizeof err) == WA_EINVAL, "too many nets");
}

static void test_hosts(void)
{
	struct wa_fetch_policy p;
	struct sockaddr_in s4 = { .sin_family = AF_INET };
	char err[160] = "", why[128];

	wa_fetch_policy_default(&p);
	ok(wa_fetch_policy_set_hosts(&p, "Media.Lab., .lab.example", err, sizeof err) == WA_OK &&
	   p.n_allow_hosts == 2, "allow_hosts parsed");
	is_str(p.allow_hosts[0], "media.lab", "stored lower case without the trailing dot");
	ok(wa_fetch_host_listed(&p, "media.lab") && wa_fetch_host_listed(&p, "media.lab.") &&
	   wa_fetch_host_listed(&p, "MEDIA.LAB"), "exact entry matches, any case, trailing dot");
	ok(!wa_fetch_host_listed(&p, "evil.media.lab") && !wa_fetch_host_listed(&p, "media.lab.evil") &&
	   !wa_fetch_host_listed(&p, "xmedia.lab"), "exact entry matches nothing else");
	ok(wa_fetch_host_listed(&p, "a.lab.example") && wa_fetch_host_listed(&p, "b.a.lab.example"),
	   "suffix entry matches names under it");
	ok(!wa_fetch_host_listed(&p, "lab.example") && !wa_fetch_host_listed(&p, "xlab.example"),
	   "suffix entry: not the name itself, not a longer label");
	ok(!wa_fetch_host_listed(NULL, "media.lab") && !wa_fetch_host_listed(&p, NULL), "NULLs match nothing");

	inet_pton(AF_INET, "10.0.0.1", &s4.sin_addr);
	ok(wa_addr_allowed_host(&p, "media.lab", (struct sockaddr *)&s4, why, sizeof why) == WA_OK,
	   "a listed host may reach a private address");
	ok(wa_addr_allowed_host(&p, "other.example", (struct sockaddr *)&s4, why, sizeof why) == WA_FETCH_EADDR,
	   "an unlisted host may not");
	ok(wa_addr_allowed_host(&p, NULL, (struct sockaddr *)&s4, why, sizeof why) == WA_FETCH_EADDR,
	   "no host: the address rule alone");
	inet_pton(AF_INET, "0.0.0.0", &s4.sin_addr);
	ok(wa_addr_allowed_host(&p, "media.lab", (struct sockaddr *)&s4, why, sizeof why) == WA_FETCH_EADDR,
	   "a listed host never reaches 0.0.0.0");
	inet_pton(AF_INET, "224.0.0.1", &s4.sin_addr);
	ok(wa_addr_allowed_host(&p, "media.lab", (struct sockaddr *)&s4, why, sizeof why) == WA_FETCH_EADDR,
	   "nor multicast");

	ok(wa_url_check("http://localhost/", &p, why, sizeof why) == WA_FETCH_EADDR, "localhost not listed");
	ok(wa_fetch_policy_set_hosts(&p, "localhost", err, sizeof err) == WA_OK &&
	   wa_url_check("http://localhost/", &p, why, sizeof why) == WA_OK, "localhost listed: passes");
	ok(wa_fetch_policy_set_hosts(&p, "10.0.0.1", err, sizeof err) == WA_EINVAL &&
	   strstr(err, "allow_nets") != NULL, "an address is refused, pointing to allow_nets");
	ok(wa_fetch_policy_set_hosts(&p, "a..b", err, sizeof err) == WA_EINVAL, "a bad name is refused");
	ok(wa_fetch_policy_set_hosts(&p, "*.lab", err, sizeof err) == WA_EINVAL, "a wildcard is refused");
	ok(wa_fetch_policy_set_hosts(&p, ".", err, sizeof err) == WA_EINVAL, "a lone dot is refused");
	ok(wa_fetch_policy_set_hosts(&p, "", err, sizeof err) == WA_OK && p.n_allow_hosts == 0, "empty list");
}

static void test_config(void)
{
	struct wa_fetch_policy p;
	struct wa_config *c = NULL;
	char err[256] = "";
	const char *good = "[media]\nfetch_max_bytes = 2m\nfetch_timeout_ms = 1500\n"
			   "fetch_connect_timeout_ms = 700\nfetch_max_redirects = 0\n"
			   "fetch_allow_loopback = true\nfetch_allow_private = yes\n"
			   "fetch_allow_nets = 192.0.2.0/24\nfetch_allow_hosts = media.lab\n";

	ok(wa_config_parse(&c, "", 0, "empty", err, sizeof err) == 0, "empty config");
	ok(wa_fetch_policy_from_config(c, "media.fetch", &p, err, sizeof err) == WA_OK, "defaults load");
	ok(p.max_bytes == 64ull << 20 && p.timeout_ms == 60000 && p.connect_timeout_ms == 10000 &&
	   p.max_redirects == 3 && !p.allow_loopback && !p.allow_private && p.n_allow_nets == 0 &&
	   p.n_allow_hosts == 0, "config defaults equal the built-in defaults");
	wa_config_free(c);

	ok(wa_config_parse(&c, good, strlen(good), "good", err, sizeof err) == 0, "config parses");
	ok(wa_fetch_policy_from_config(c, "media.fetch", &p, err, sizeof err) == WA_OK, "values load");
	ok(p.max_bytes == 2u << 20 && p.timeout_ms == 1500 && p.connect_timeout_ms == 700 &&
	   p.max_redirects == 0 && p.allow_loopback && p.allow_private && p.n_allow_nets == 1 &&
	   p.n_allow_hosts == 1,
	   "every key read");
	wa_config_free(c);

#define BAD(text, key, name) do { \
	const char *t_ = (text); \
	ok(wa_config_parse(&c, t_, strlen(t_), "bad", err, sizeof err) == 0 && \
	   wa_fetch_policy_from_config(c, "media.fetch", &p, err, sizeof err) == WA_EINVAL && \
	   strstr(err, key) != NULL, name); \
	wa_config_free(c); \
} while (0)
	BAD("[media]\nfetch_allow_private = maybe\n", "media.fetch_allow_private", "bad boolean refused");
	BAD("[media]\nfetch_max_bytes = 0\n", "media.fetch_max_bytes", "zero cap refused");
	BAD("[media]\nfetch_max_bytes = lots\n", "media.fetch_max_bytes", "bad size refused");
	BAD("[media]\nfetch_timeout_ms = 5\n", "media.fetch_timeout_ms", "timeout under 100 ms refused");
	BAD("[media]\nfetch_max_redirects = 21\n", "media.fetch_max_redirects", "too many redirects refused");
	BAD("[media]\nfetch_allow_nets = 10.0.0.1/8\n", "media.fetch_allow_nets", "bad net refused");
	BAD("[media]\nfetch_allow_hosts = 10.0.0.1\n", "media.fetch_allow_hosts", "bad host refused");
#undef BAD
	ok(wa_config_parse(&c, "", 0, "empty", err, sizeof err) == 0 &&
	   wa_fetch_policy_from_config(c, "nosuch.prefix", &p, err, sizeof err) == WA_EINVAL,
	   "unknown prefix refused");
	wa_config_free(c);
}

static const struct {
	const char *url;
	int want;
	const char *host;
	unsigned port;
} urls[] = {
	{ "http://example.com/a.jpg", WA_OK, "example.com", 80 },
	{ "https://example.com", WA_OK, "example.com", 443 },
	{ "HTTPS://Example.COM:8443/x?y=1#z", WA_OK, "example.com", 8443 },
	{ "http://example.com./", WA_OK, "example.com.", 80 },
	{ "http://my_host-1.example:1/", WA_OK, "my_host-1.example", 1 },
	{ "http://example.com:65535", WA_OK, "example.com", 65535 },
	{ "http://example.com?q", WA_OK, "example.com", 80 },
	{ "http://8.8.8.8/", WA_OK, "8.8.8.8", 80 },
	{ "http://[2a03:2880::1]:8080/", WA_OK, "2a03:2880::1", 8080 },
	{ "http://[::1]/", WA_OK, "::1", 80 },
	{ "http://a.b.c.d.e.123abc/", WA_OK, "a.b.c.d.e.123abc", 80 },
	{ "http://deadbeef/", WA_OK, "deadbeef", 80 },
	/* scheme */
	{ "file:///etc/passwd", WA_FETCH_ESCHEME, NULL, 0 },
	{ "gopher://example.com/", WA_FETCH_ESCHEME, NULL, 0 },
	{ "ftp://example.com/a", WA_FETCH_ESCHEME, NULL, 0 },
	{ "dict://127.0.0.1:6379/info", WA_FETCH_ESCHEME, NULL, 0 },
	{ "httpx://example.com/", WA_FETCH_ESCHEME, NULL, 0 },
	{ "ws://example.com/", WA_FETCH_ESCHEME, NULL, 0 },
	{ "example.com/a.jpg", WA_FETCH_EURL, NULL, 0 },
	{ "//example.com/a.jpg", WA_FETCH_EURL, NULL, 0 },
	{ "http:example.com", WA_FETCH_EURL, NULL, 0 },
	{ "http:/example.com", WA_FETCH_EURL, NULL, 0 },
	{ "", WA_FETCH_EURL, NULL, 0 },
	/* userinfo */
	{ "http://user:pass@example.com/", WA_FETCH_EUSERINFO, NULL, 0 },
	{ "http://user@example.com/", WA_FETCH_EUSERINFO, NULL, 0 },
	{ "http://example.com@127.0.0.1/", WA_FETCH_EUSERINFO, NULL, 0 },
	{ "http://@example.com/", WA_FETCH_EUSERINFO, NULL, 0 },
	/* host */
	{ "http:///a", WA_FETCH_EURL, NULL, 0 },
	{ "http://:80/", WA_FETCH_EURL, NULL, 0 },
	{ "http://exa mple.com/", WA_FETCH_EURL, NULL, 0 },
	{ "http://example.com\\@evil.com/", WA_FETCH_EURL, NULL, 0 },
	{ "http://exa%2ecom/", WA_FETCH_EURL, NULL, 0 },
	{ "http://a..b/", WA_FETCH_EURL, NULL, 0 },
	{ "http://.a/", WA_FETCH_EURL, NULL, 0 },
	{ "http://a.b../", WA_FETCH_EURL, NULL, 0 },
	{ "http://ex\xc3\xa4mple.com/", WA_FETCH_EURL, NULL, 0 },
	{ "http://example.com\t/", WA_FETCH_EURL, NULL, 0 },
	{ "http://example.com/\x7f", WA_FETCH_EURL, NULL, 0 },
	{ "http://aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.com/", WA_FETCH_EURL, NULL, 0 },
	/* numeric shorthands a resolver would read as 127.0.0.1 */
	{ "http://127.1/", WA_FETCH_EURL, NULL, 0 },
	{ "http://2130706433/", WA_FETCH_EURL, NULL, 0 },
	{ "http://0x7f000001/", WA_FETCH_EURL, NULL, 0 },
	{ "http://0x7f.0.0.1/", WA_FETCH_EURL, NULL, 0 },
	{ "http://0177.0.0.1/", WA_FETCH_EURL, NULL, 0 },
	{ "http://127.000.000.001/", WA_FETCH_EURL, NULL, 0 },
	{ "http://127.0.0.1./", WA_FETCH_EURL, NULL, 0 },
	{ "http://1.2.3.4.5/", WA_FETCH_EURL, NULL, 0 },
	{ "http://256.0.0.1/", WA_FETCH_EURL, NULL, 0 },
	{ "http://foo.0x10/", WA_FETCH_EURL, NULL, 0 },
	/* IPv6 literals */
	{ "http://::1/", WA_FETCH_EURL, NULL, 0 },
	{ "http://[::1/", WA_FETCH_EURL, NULL, 0 },
	{ "http://[fe80::1%25eth0]/", WA_FETCH_EURL, NULL, 0 },
	{ "http://[::1]x/", WA_FETCH_EURL, NULL, 0 },
	{ "http://[example.com]/", WA_FETCH_EURL, NULL, 0 },
	{ "http://[]/", WA_FETCH_EURL, NULL, 0 },
	/* port */
	{ "http://example.com:/", WA_FETCH_EURL, NULL, 0 },
	{ "http://example.com:0/", WA_FETCH_EURL, NULL, 0 },
	{ "http://example.com:65536/", WA_FETCH_EURL, NULL, 0 },
	{ "http://example.com:080000/", WA_FETCH_EURL, NULL, 0 },
	{ "http://example.com:8o/", WA_FETCH_EURL, NULL, 0 },
	{ "http://example.com:-1/", WA_FETCH_EURL, NULL, 0 },
};

static void test_parse(void)
{
	struct wa_url u;
	char why[256], big[WA_URL_MAX + 16];
	size_t i;
	int bad = 0;

	for (i = 0; i < sizeof urls / sizeof urls[0]; i++) {
		int rc = wa_url_parse(urls[i].url, &u, why, sizeof why);

		if (rc != urls[i].want ||
		    (rc == WA_OK && (strcmp(u.host, urls[i].host) != 0 || u.port != urls[i].port))) {
			printf("# %s: rc %d (%s) host '%s' port %u\n", urls[i].url, rc, why, u.host, u.port);
			bad++;
		}
	}
	ok(bad == 0, "URL syntax: accepted and refused forms");

	ok(wa_url_parse("https://[2a03:2880::1]/", &u, why, sizeof why) == WA_OK && u.host_af == AF_INET6 &&
	   u.https == 1, "IPv6 literal recorded");
	ok(wa_url_parse("http://10.0.0.1:81/p", &u, why, sizeof why) == WA_OK && u.host_af == AF_INET &&
	   u.host_addr[0] == 10 && u.path_off == strlen("http://10.0.0.1:81"), "IPv4 literal and path offset");
	ok(wa_url_parse("http://example.com/", &u, why, sizeof why) == WA_OK && u.host_af == 0,
	   "a name is no literal");

	wa_url_parse("file:///etc/passwd", &u, why, sizeof why);
	is_str(why, "the URL scheme 'file' is not allowed (only http and https)", "scheme reason");
	wa_url_parse("http://u:p@example.com/", &u, why, sizeof why);
	ok(strstr(why, "user name or password") != NULL, "userinfo reason");
	ok(strstr(why, "u:p") == NULL, "the reason does not echo credentials");

	memcpy(big, "http://example.com/", 19);
	memset(big + 19, 'a', sizeof big - 20);
	big[WA_URL_MAX] = '\0';
	ok(wa_url_parse(big, &u, why, sizeof why) == WA_OK, "WA_URL_MAX bytes accepted");
	big[WA_URL_MAX] = 'a';
	big[WA_URL_MAX + 1] = '\0';
	ok(wa_url_parse(big, &u, why, sizeof why) == WA_FETCH_ELONG, "one byte more refused");
	ok(wa_url_parse(NULL, &u, why, sizeof why) == WA_FETCH_EURL, "NULL refused");
	ok(wa_url_parse("gopher://x/", &u, NULL, 0) == WA_FETCH_ESCHEME, "why may be NULL");
}

static void test_check(void)
{
	struct wa_fetch_policy p;
	char why[256] = "";

	wa_fetch_policy_default(&p);
	ok(wa_url_check("https://example.com/a.jpg", &p, why, sizeof why) == WA_OK, "public name passes");
	ok(wa_url_check("http://8.8.8.8/", &p, why, sizeof why) == WA_OK, "public literal passes");
	is_int(wa_url_check("http://127.0.0.1:8080/", &p, why, sizeof why), WA_FETCH_EADDR, "loopback literal");
	is_str(why, "refused: 127.0.0.1 is a loopback address", "loopback reason");
	is_int(wa_url_check("http://169.254.169.254/latest/meta-data/", &p, why, sizeof why), WA_FETCH_EADDR,
	       "metadata literal");
	is_str(why, "refused: 169.254.169.254 is a cloud metadata address", "metadata reason");
	is_int(wa_url_check("http://10.0.0.1/", &p, why, sizeof why), WA_FETCH_EADDR, "private literal");
	is_int(wa_url_check("http://[::ffff:127.0.0.1]/", &p, why, sizeof why), WA_FETCH_EADDR,
	       "mapped loopback literal");
	is_int(wa_url_check("http://[fe80::1]/", &p, why, sizeof why), WA_FETCH_EADDR, "link-local literal");
	is_int(wa_url_check("http://0.0.0.0/", &p, why, sizeof why), WA_FETCH_EADDR, "0.0.0.0 literal");
	is_int(wa_url_check("http://[::]/", &p, why, sizeof why), WA_FETCH_EADDR, ":: literal");
	is_int(wa_url_check("http://localhost:8080/", &p, why, sizeof why), WA_FETCH_EADDR, "localhost");
	is_int(wa_url_check("http://a.b.LOCALHOST./", &p, why, sizeof why), WA_FETCH_EADDR, "*.localhost");
	ok(wa_url_check("http://localhost.example.com/", &p, why, sizeof why) == WA_OK,
	   "a name merely starting with localhost passes");
	ok(wa_url_check("http://127.0.0.1/", NULL, why, sizeof why) == WA_OK, "NULL policy: syntax only");
	p.allow_loopback = 1;
	ok(wa_url_check("http://127.0.0.1:8080/", &p, why, sizeof why) == WA_OK &&
	   wa_url_check("http://localhost/", &p, why, sizeof why) == WA_OK, "allow_loopback: literal, localhost");
	ok(wa_url_check("http://10.0.0.1/", &p, why, sizeof why) == WA_FETCH_EADDR, "still no private");
	ok(wa_url_check("ftp://127.0.0.1/", &p, why, sizeof why) == WA_FETCH_ESCHEME, "scheme before address");
}

static void test_codes(void)
{
	ok(wa_err_module(WA_FETCH_EADDR) == WA_ERR_FETCH_MODULE && wa_err_module(WA_FETCH_EURL) == 9,
	   "fetch codes are module 9");
	ok(wa_err_class(WA_FETCH_EURL) == WA_EINVAL && wa_err_class(WA_FETCH_ESCHEME) == WA_EINVAL &&
	   wa_err_class(WA_FETCH_EADDR) == WA_EDENIED && wa_err_class(WA_FETCH_ETOOBIG) == WA_ETOOBIG &&
	   wa_err_class(WA_FETCH_ETIMEDOUT) == WA_ETIMEDOUT && wa_err_class(WA_FETCH_EHTTP) == WA_EPROTO &&
	   wa_err_class(WA_FETCH_ENET) == WA_EIO && wa_err_class(WA_FETCH_ETLS) == WA_ECRYPTO,
	   "fetch codes fold into their classes");
	is_str(wa_fetch_strerror(WA_FETCH_EADDR), "refused address", "module strerror");
	is_str(wa_fetch_strerror(WA_ENOMEM), wa_strerror(WA_ENOMEM), "common codes fall through");
}

int main(void)
{
	test_classes();
	test_policy();
	test_hosts();
	test_config();
	test_parse();
	test_check();
	test_codes();
	return tap_done();
}
