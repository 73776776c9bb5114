/* sim_media: the media host's blob table and the media_conn IQ
 * (docs/protocol.md 9.1, 9.3, 9.4). The HTTP side (upload / download) is in
 * sim_media_http.c; this part has no sockets so the fuzz target links it.
 *
 * One table per process (wa-sim runs one server): a file-level state used
 * only on the lws service thread, so it needs no lock. Bounded: at most
 * SIM_MEDIA_BLOBS blobs and SIM_MEDIA_TOTAL bytes; the oldest blobs are
 * dropped to make room. Blobs are the encrypted files (ciphertext ‖ mac)
 * exactly as uploaded; wa-sim never sees media keys of companions. */
#include "sim_media.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wa/crypto.h"
#include "wa_log.h"
#include "wa_util.h"

struct blob {
	char id[40];                 /* hex, the direct path's file name */
	char mms_type[24];
	uint8_t enc_sha[32];
	uint8_t *data;
	size_t len;
	struct blob *next;
};

static struct {
	char host[128];              /* "127.0.0.1:PORT" advertised; "" = no media host */
	char auth[SIM_MEDIA_AUTH_HEX + 1]; /* hex digits and their NUL */
	struct blob *head, *tail;
	size_t n, bytes;
	unsigned long long seq;
} g;

int sim_media_configure(const char *hostport)
{
	uint8_t r[SIM_MEDIA_AUTH_BYTES];

	if (hostport == NULL || strlen(hostport) >= sizeof g.host || wa_random(r, sizeof r) != 0)
		return -1;
	snprintf(g.host, sizeof g.host, "%s", hostport);
	wa_hex_encode(r, sizeof r, g.auth);
	return 0;
}

int sim_media_rotate_auth(void)
{
	uint8_t r[SIM_MEDIA_AUTH_BYTES];

	if (g.host[0] == '\0' || wa_random(r, sizeof r) != 0)
		return -1;
	wa_hex_encode(r, sizeof r, g.auth);
	return 0;
}

const char *sim_media_host(void)
{
	return g.host[0] ? g.host : NULL;
}

const char *sim_media_auth(void)
{
	return g.auth;
}

void sim_media_clear(void)
{
	struct blob *b, *nb;

	for (b = g.head; b; b = nb) {
		nb = b->next;
		free(b->data);
		free(b);
	}
	g.head = g.tail = NULL;
	g.n = g.bytes = 0;
}

int sim_media_put(const uint8_t *data, size_t len, const char *mms_type, char *direct_path, size_t cap)
{
	struct blob *b;

	if (g.host[0] == '\0' || len == 0 || len > SIM_MEDIA_BLOB_MAX)
		return -1;
	while (g.head && (g.n >= SIM_MEDIA_BLOBS || g.bytes + len > SIM_MEDIA_TOTAL)) {
		b = g.head;
		g.head = b->next;
		if (g.head == NULL)
			g.tail = NULL;
		g.n--;
		g.bytes -= b->len;
		free(b->data);
		free(b);
	}
	b = calloc(1, sizeof *b);
	if (b == NULL || (b->data = malloc(len)) == NULL) {
		free(b);
		return -1;
	}
	memcpy(b->data, data, len);
	b->len = len;
	wa_sha256(data, len, b->enc_sha);
	snprintf(b->id, sizeof b->id, "%llx%016llx", ++g.seq, (unsigned long long)len * 2654435761u);
	snprintf(b->mms_type, sizeof b->mms_type, "%s", mms_type ? mms_type : "image");
	/* the shape of real direct paths: /v/t62.7118-24/<file>?ccb=…&oh=…&oe=… */
	snprintf(direct_path, cap, "/v/t62.7118-24/%s.enc?ccb=11-4&oh=sim&oe=0", b->id);
	if (g.tail)
		g.tail->next = b;
	else
		g.head = b;
	g.tail = b;
	g.n++;
	g.bytes += len;
	return 0;
}

int sim_media_get(const char *path, const uint8_t **data, size_t *len)
{
	const char *p = strstr(path ? path : "", "/v/t62.7118-24/"), *e;
	struct blob *b;
	size_t n;

	if (p == NULL)
		return -1;
	p += strlen("/v/t62.7118-24/");
	e = strstr(p, ".enc");
	if (e == NULL)
		return -1;
	n = (size_t)(e - p);
	for (b = g.head; b; b = b->next) {
		if (strlen(b->id) == n && memcmp(b->id, p, n) == 0) {
			*data = b->data;
			*len = b->len;
			return 0;
		}
	}
	return -1;
}

/* <iq xmlns="w:m" type="set"><media_conn/></iq> (9.1) */
int sim_iq_media_conn(struct sim_conn *c, struct wa_node *iq, struct wa_node *child)
{
	struct wa_node *mc, *h;

	(void)child;
	if (g.host[0] == '\0')
		return sim_conn_iq_error(c, iq, 503, "service-unavailable") == 0 ? 0 : -1;
	mc = wa_node_new_attrs("media_conn", "auth", g.auth, "ttl", "300", "auth_ttl", "21600", "max_buckets", "12",
			       NULL);
	h = mc ? wa_node_add_new(mc, "host") : NULL;
	if (h == NULL || wa_node_set_attr(h, "hostname", g.host) ||
	    wa_node_set_attr_uint(h, "maxContentLengthBytes", SIM_MEDIA_BLOB_MAX) || sim_conn_iq_result(c, iq, mc) != 0) {
		wa_node_free(mc);
		return -1;
	}
	return 0;
}
