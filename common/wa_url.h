/* wa_url: checking a URL that a client of the API gave us, before anything
 * fetches it, and the address rule every connection made for it must pass.
 *
 * A URL given by a client (media "by URL", webhook URLs) is an SSRF surface:
 * without a rule, "http://169.254.169.254/latest/meta-data/" or a redirect
 * to "http://10.0.0.1/admin" makes the gateway read a network the client
 * cannot reach. This module holds the two checks that need no network:
 *
 *   - wa_url_parse() / wa_url_check(): the syntax a URL must have (http or
 *     https only, a host, no userinfo, no control bytes, at most WA_URL_MAX
 *     bytes), and, with a policy, the address rule applied to a host written
 *     as an IP literal, so a worker answers 400 at request time, before
 *     anything is stored.
 *   - wa_addr_classify() / wa_addr_allowed(): which class an IP address is
 *     in and whether the policy lets a connection go there. wa_fetch.c calls
 *     wa_addr_allowed_host() on the address of EVERY socket it opens (each
 *     redirect hop, each address of a name), so a name that resolves to a
 *     private address, DNS rebinding and a redirect to a private address are
 *     all refused at connect time, not only at parse time.
 *
 * Refused unless the policy allows them (docs/fetch.md has the table):
 *   loopback     127.0.0.0/8, ::1                      allow_loopback
 *   private      10/8, 172.16/12, 192.168/16,          allow_private
 *                fc00::/7, fec0::/10, 100.64/10 (CGNAT)
 *   link-local   169.254/16, fe80::/10                 nets / hosts only
 *   metadata     169.254.169.254, fd00:ec2::254,       nets / hosts only
 *                100.100.100.200
 *   reserved     0/8 (but 0.0.0.0), 192.0.0/24, 192.0.2/24, 198.18/15,
 *                198.51.100/24, 203.0.113/24, 240/4, 2001:db8::/32,
 *                100::/64, ::/96 (IPv4-compatible), 2001::/32 (Teredo),
 *                64:ff9b:1::/48, anything outside 2000::/3
 *                                                      nets / hosts only
 *   never        0.0.0.0, ::, multicast 224/4, ff00::/8,
 *                broadcast 255.255.255.255
 * IPv6 forms that carry an IPv4 address are judged by that address:
 * IPv4-mapped ::ffff:a.b.c.d, NAT64 64:ff9b::a.b.c.d and 6to4 2002:AABB:CCDD::.
 * "allow_nets" is a list of CIDR networks allowed whatever their class
 * (e.g. a lab's media server at 10.1.2.3/32); "allow_hosts" a list of host
 * names whose addresses are allowed whatever their class ("media.lab", or
 * ".lab.example" for every name under lab.example). Neither ever opens the
 * "never" row.
 *
 * Errors: the WA_FETCH_* codes below (module 9 of common/wa_err.h); every
 * failing function also writes one line for the client into `why` (never
 * containing anything but the URL's host and the reason). Callers that
 * answer a client (issues 9 and 11) answer 400 with `why` for every code of
 * this module (wa_err_module(code) == WA_ERR_FETCH_MODULE); common codes
 * (WA_ENOMEM, WA_ESTORAGE, WA_EINTERNAL) are the gateway's own faults.
 *
 * Ownership: no allocation; parse results live in the caller's struct.
 * Threading: every function is reentrant and thread-safe. */
#ifndef WA_URL_H
#define WA_URL_H

#include <stddef.h>
#include <stdint.h>

#include "wa_err.h"

struct sockaddr;
struct wa_config;

/* Module 9 of common/wa_err.h. */
#define WA_ERR_FETCH_MODULE 9
enum wa_fetch_err {
	/* the URL itself (wa_url_parse / wa_url_check, each redirect target) */
	WA_FETCH_EURL = WA_ERR_MAKE(WA_ERR_FETCH_BASE, WA_EINVAL, 1),       /* bad syntax */
	WA_FETCH_ESCHEME = WA_ERR_MAKE(WA_ERR_FETCH_BASE, WA_EINVAL, 2),    /* not http(s) */
	WA_FETCH_EUSERINFO = WA_ERR_MAKE(WA_ERR_FETCH_BASE, WA_EINVAL, 3),  /* user:pass@ */
	WA_FETCH_ELONG = WA_ERR_MAKE(WA_ERR_FETCH_BASE, WA_EINVAL, 4),      /* > WA_URL_MAX */
	/* the address rule: literal at parse time, any socket at connect time */
	WA_FETCH_EADDR = WA_ERR_MAKE(WA_ERR_FETCH_BASE, WA_EDENIED, 1),
	/* the fetch (wa_fetch.h) */
	WA_FETCH_ETOOBIG = WA_ERR_MAKE(WA_ERR_FETCH_BASE, WA_ETOOBIG, 1),   /* over max_bytes */
	WA_FETCH_ETIMEDOUT = WA_ERR_MAKE(WA_ERR_FETCH_BASE, WA_ETIMEDOUT, 1), /* total time cap */
	WA_FETCH_ECONNTIMEDOUT = WA_ERR_MAKE(WA_ERR_FETCH_BASE, WA_ETIMEDOUT, 2), /* connect cap */
	WA_FETCH_ERESOLVE = WA_ERR_MAKE(WA_ERR_FETCH_BASE, WA_EUNAVAIL, 1), /* name unknown */
	WA_FETCH_ECONNECT = WA_ERR_MAKE(WA_ERR_FETCH_BASE, WA_EUNAVAIL, 2), /* refused, unreachable */
	WA_FETCH_EHTTP = WA_ERR_MAKE(WA_ERR_FETCH_BASE, WA_EPROTO, 1),      /* status not 2xx */
	WA_FETCH_EREDIRECTS = WA_ERR_MAKE(WA_ERR_FETCH_BASE, WA_EPROTO, 2), /* > max_redirects */
	WA_FETCH_ENET = WA_ERR_MAKE(WA_ERR_FETCH_BASE, WA_EIO, 1),          /* transfer broke */
	WA_FETCH_ETLS = WA_ERR_MAKE(WA_ERR_FETCH_BASE, WA_ECRYPTO, 1),      /* TLS / certificate */
};

/* Short stable name of a WA_FETCH_* code ("refused address"), or
 * wa_strerror() of anything else. Never NULL. */
const char *wa_fetch_strerror(int err);

/* Longest URL accepted, in bytes (without the NUL). */
#define WA_URL_MAX 2048
/* Longest host name (RFC 1035); an IPv6 literal is shorter. */
#define WA_URL_HOST_MAX 253

/* ---- address classes ---- */

enum wa_addr_class {
	WA_ADDR_PUBLIC = 0,
	WA_ADDR_LOOPBACK,
	WA_ADDR_PRIVATE,     /* RFC 1918, ULA fc00::/7, site-local fec0::/10 */
	WA_ADDR_CGNAT,       /* 100.64.0.0/10 shared address space */
	WA_ADDR_LINKLOCAL,
	WA_ADDR_METADATA,    /* cloud instance metadata services */
	WA_ADDR_RESERVED,    /* documentation, benchmarking, future use, ... */
	WA_ADDR_UNSPECIFIED, /* 0.0.0.0, :: */
	WA_ADDR_MULTICAST,
	WA_ADDR_BROADCAST,
};

/* Class of a raw address: af AF_INET with 4 bytes or AF_INET6 with 16 (IPv6
 * forms carrying an IPv4 address are judged by it, see above). Any other af
 * gives WA_ADDR_RESERVED. */
enum wa_addr_class wa_addr_classify(int af, const void *addr);

/* Class of a socket address (AF_INET / AF_INET6; anything else, e.g. a unix
 * socket, is WA_ADDR_RESERVED). */
enum wa_addr_class wa_addr_classify_sa(const struct sockaddr *sa);

/* "loopback", "private", ... (stable, used in `why`). Never NULL. */
const char *wa_addr_class_name(enum wa_addr_class c);

/* ---- policy ---- */

struct wa_net {
	int af;              /* AF_INET or AF_INET6 */
	uint8_t addr[16];    /* network address (first 4 bytes for AF_INET) */
	unsigned prefix;     /* 0..32 or 0..128 */
};

#define WA_FETCH_ALLOW_NETS_MAX 16
#define WA_FETCH_ALLOW_HOSTS_MAX 16
#define WA_FETCH_PINS_MAX 4

/* What a fetch may do. Plain data: copy it freely, share it read-only
 * between threads. wa_fetch_policy_default() gives the built-in defaults,
 * wa_fetch_policy_from_config() the configured values. */
struct wa_fetch_policy {
	unsigned long long max_bytes; /* body size cap (Content-Length and stream) */
	long timeout_ms;              /* whole fetch, all redirect hops */
	long connect_timeout_ms;      /* one connection attempt */
	int max_redirects;            /* hops followed; 0 refuses any redirect */
	int allow_loopback;           /* dev stack and tests only */
	int allow_private;            /* private and CGNAT (labs) */
	size_t n_allow_nets;
	struct wa_net allow_nets[WA_FETCH_ALLOW_NETS_MAX];
	size_t n_allow_hosts;            /* lower case, no trailing dot */
	char allow_hosts[WA_FETCH_ALLOW_HOSTS_MAX][WA_URL_HOST_MAX + 1];
	/* Names resolved to fixed addresses instead of DNS, "host:port:address"
	 * as curl's CURLOPT_RESOLVE takes them. Not configurable: tests use it
	 * to make a name resolve to a refused address; the address rule applies
	 * to a pinned address exactly as to a DNS answer. */
	size_t n_pins;
	char pins[WA_FETCH_PINS_MAX][WA_URL_HOST_MAX + 64];
};

/* Built-in defaults (the defaults of the media.fetch_* keys): 64 MiB,
 * 60 s total, 10 s connect, 3 redirects, nothing but public addresses. */
void wa_fetch_policy_default(struct wa_fetch_policy *p);

/* Read "<prefix>_max_bytes", "<prefix>_timeout_ms",
 * "<prefix>_connect_timeout_ms", "<prefix>_max_redirects",
 * "<prefix>_allow_loopback", "<prefix>_allow_private",
 * "<prefix>_allow_nets" and "<prefix>_allow_hosts" (prefix "media.fetch" for the media keys, see
 * docs/configuration.md). Returns 0, or WA_EINVAL with err naming the key
 * and what is wrong with its value (a bad config must stop the process, not
 * fall back to allowing more). */
int wa_fetch_policy_from_config(const struct wa_config *cfg, const char *prefix,
				struct wa_fetch_policy *p, char *err, size_t errlen);

/* Only the address rule, from "<prefix>allow_loopback", "<prefix>allow_private",
 * "<prefix>allow_nets" and "<prefix>allow_hosts" (prefix "hooks." for the
 * webhook keys), into *p (its other fields untouched). 0, or WA_EINVAL with
 * err naming the key. */
int wa_fetch_policy_allow_from_config(const struct wa_config *cfg, const char *prefix,
				      struct wa_fetch_policy *p, char *err, size_t errlen);

/* Parse a comma- or space-separated CIDR list ("10.1.2.0/24, fd00::1") into
 * p->allow_nets (replacing it; an address without "/n" is one host). Returns
 * 0, or WA_EINVAL (bad entry, host bits set, more than
 * WA_FETCH_ALLOW_NETS_MAX entries) with err saying which entry. */
int wa_fetch_policy_set_nets(struct wa_fetch_policy *p, const char *list, char *err, size_t errlen);

/* Parse a comma- or space-separated list of host names into p->allow_hosts
 * (replacing it): "name" matches that name only, ".name" every name under
 * it (not name itself); case and a trailing dot do not matter. IP
 * addresses are refused (they belong in allow_nets). Returns 0, or
 * WA_EINVAL with err saying which entry. */
int wa_fetch_policy_set_hosts(struct wa_fetch_policy *p, const char *list, char *err, size_t errlen);

/* 1 if host (as in struct wa_url) is in p->allow_hosts, else 0. */
int wa_fetch_host_listed(const struct wa_fetch_policy *p, const char *host);

/* Whether a connection to socket address sa is allowed: 0, or WA_FETCH_EADDR
 * with why = "10.0.0.1 is a private address". A NULL policy allows public
 * addresses only. */
int wa_addr_allowed(const struct wa_fetch_policy *p, const struct sockaddr *sa,
		    char *why, size_t cap);

/* The same for a raw address (af, 4 or 16 bytes). */
int wa_addr_allowed_raw(const struct wa_fetch_policy *p, int af, const void *addr,
			char *why, size_t cap);

/* The rule for a connection to sa made for host (the URL's host; NULL for
 * none): as wa_addr_allowed(), except that any address but the "never" row
 * is allowed when host is in p->allow_hosts. wa_fetch calls this. */
int wa_addr_allowed_host(const struct wa_fetch_policy *p, const char *host,
			 const struct sockaddr *sa, char *why, size_t cap);

/* ---- URL syntax ---- */

struct wa_url {
	int https;                       /* 1 for https, 0 for http */
	char host[WA_URL_HOST_MAX + 1];  /* lower case; IPv6 without brackets */
	int host_af;                     /* AF_INET / AF_INET6 for an IP literal, else 0 */
	uint8_t host_addr[16];           /* the literal's address when host_af != 0 */
	unsigned port;                   /* explicit or 80 / 443 */
	size_t path_off;                 /* offset in the URL of the path ("" = "/") */
};

/* Parse an absolute http(s) URL: scheme "http" or "https" (any case) then
 * "://"; an authority of host[:port] with no userinfo ('@'); the host a DNS
 * name (letters, digits, '-', '_', labels of 1..63, at most 253 bytes), a
 * dotted-quad IPv4 address, or a bracketed IPv6 literal (no zone id); the
 * port, if given, 1..65535. A host that looks numeric (its last label all
 * digits or 0x-hex, e.g. "127.1", "2130706433", "0x7f.1") must be a strict
 * dotted quad: the shorthand forms resolvers accept are refused. The whole
 * URL is printable ASCII without spaces, backslashes, control or non-ASCII
 * bytes (a client percent-encodes them; non-ASCII host names come as
 * punycode), at most WA_URL_MAX bytes. Returns 0 and fills *u, or a
 * WA_FETCH_E* code with why. url must be NUL-terminated. */
int wa_url_parse(const char *url, struct wa_url *u, char *why, size_t cap);

/* wa_url_parse() and, when p is not NULL, the address rule for a host that is
 * an IP literal, and "localhost" / "*.localhost" refused unless loopback is
 * allowed (by allow_loopback, allow_nets or allow_hosts); other names are
 * checked at connect time, by wa_fetch.
 * This is the request-time check: 0, or a WA_FETCH_E* code with why. */
int wa_url_check(const char *url, const struct wa_fetch_policy *p, char *why, size_t cap);

#endif
