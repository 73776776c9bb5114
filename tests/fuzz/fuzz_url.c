// fuzz-sources: common/wa_url.c common/wa_err.c common/wa_config.c common/wa_config_keys.c
/* Fuzz target: the URL check every client-given URL passes (media by URL,
 * webhook URLs) and the address classifier behind the fetch address rule.
 * Properties: no crash; an accepted URL has a host of at most 253 bytes and
 * a port in 1..65535, its path starts at path_off, and the URL rebuilt from
 * the parts parses to the same scheme, host, port and literal; an accepted
 * IP literal passes the default policy only if it is public; an IPv4
 * address and its IPv4-mapped IPv6 form are in the same class; a NULL
 * policy allows exactly the public class; a parsed network list fits; a
 * parsed host list fits and each exact entry matches itself. */
#include "fuzz.h"
#include "wa_url.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void check_url(const char *s)
{
	struct wa_url u, v;
	struct wa_fetch_policy p;
	char why[256], again[WA_URL_MAX + 400];
	int rc;

	rc = wa_url_parse(s, &u, why, sizeof why);
	if (rc == WA_OK) {
		size_t len = strlen(s), hl = strlen(u.host);

		if (hl == 0 || hl > WA_URL_HOST_MAX || u.port < 1 || u.port > 65535 || u.path_off > len)
			abort();
		if (s[u.path_off] != '\0' && !strchr("/?#", s[u.path_off]))
			abort();
		snprintf(again, sizeof again, "%s://%s%s%s:%u%s", u.https ? "https" : "http",
			 u.host_af == AF_INET6 ? "[" : "", u.host, u.host_af == AF_INET6 ? "]" : "",
			 u.port, s + u.path_off);
		if (strlen(again) <= WA_URL_MAX) {
			if (wa_url_parse(again, &v, why, sizeof why) != WA_OK)
				abort();
			if (v.https != u.https || strcmp(v.host, u.host) != 0 || v.port != u.port ||
			    v.host_af != u.host_af || memcmp(v.host_addr, u.host_addr, 16) != 0)
				abort();
		}
		wa_fetch_policy_default(&p);
		if (u.host_af && wa_url_check(s, &p, why, sizeof why) == WA_OK &&
		    wa_addr_classify(u.host_af, u.host_addr) != WA_ADDR_PUBLIC)
			abort();
	} else if (rc >= 0 || wa_err_module(rc) != WA_ERR_FETCH_MODULE || why[0] == '\0') {
		abort();                          /* a refusal is a fetch code with a reason */
	}
	wa_fetch_policy_default(&p);
	if (wa_fetch_policy_set_nets(&p, s, why, sizeof why) == WA_OK) {
		size_t i;

		if (p.n_allow_nets > WA_FETCH_ALLOW_NETS_MAX)
			abort();
		for (i = 0; i < p.n_allow_nets; i++)
			if (p.allow_nets[i].prefix > (p.allow_nets[i].af == AF_INET ? 32u : 128u))
				abort();
	}
	if (wa_fetch_policy_set_hosts(&p, s, why, sizeof why) == WA_OK) {
		size_t i;

		if (p.n_allow_hosts > WA_FETCH_ALLOW_HOSTS_MAX)
			abort();
		for (i = 0; i < p.n_allow_hosts; i++)
			if (p.allow_hosts[i][0] != '.' && !wa_fetch_host_listed(&p, p.allow_hosts[i]))
				abort();                  /* an exact entry matches itself */
	}
}

static void check_addr(const uint8_t *data, size_t size)
{
	uint8_t a6[16] = { 0 }, m[16] = { [10] = 0xff, [11] = 0xff };
	enum wa_addr_class c4, c6;
	char why[128];

	memcpy(a6, data, size < 16 ? size : 16);
	memcpy(m + 12, a6, 4);
	c4 = wa_addr_classify(AF_INET, a6);
	if (wa_addr_classify(AF_INET6, m) != c4)
		abort();
	c6 = wa_addr_classify(AF_INET6, a6);
	if ((wa_addr_allowed_raw(NULL, AF_INET, a6, why, sizeof why) == WA_OK) != (c4 == WA_ADDR_PUBLIC))
		abort();
	if ((wa_addr_allowed_raw(NULL, AF_INET6, a6, why, sizeof why) == WA_OK) != (c6 == WA_ADDR_PUBLIC))
		abort();
	(void)wa_addr_class_name(c6);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s;

	check_addr(data, size);
	if (size > WA_URL_MAX + 64)
		size = WA_URL_MAX + 64;
	s = malloc(size + 1);
	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	check_url(s);
	free(s);
	return 0;
}
