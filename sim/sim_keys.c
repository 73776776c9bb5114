/* sim_keys: wa-sim's certificate root, Noise static key and the chain that
 * links them (docs/protocol.md 1.5). Files in the state directory:
 *   root.key    root private key, hex, mode 0600 (never leaves the sim)
 *   root.pub    root public key, hex + newline: what clients must trust
 *   root.json   {"publicKey": "<hex>", "serial": <issuer serial>} (same as
 *               GET /admin/root-key)
 *   server.key  Noise static private key, hex, mode 0600
 * The chain (intermediate + leaf) is rebuilt at every start: intermediate
 * serial 1 / issuerSerial 0 signed by the root, leaf serial 2 / issuer 1
 * with the static key, valid for ten years. */
#include "sim.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "wa/cert.h"
#include "wa/crypto.h"
#include "wa_log.h"
#include "wa_util.h"

void sim_derive(uint64_t seed, const char *label, uint8_t out[32])
{
	uint8_t buf[8 + 256];
	size_t n = strlen(label);

	if (n > 256)
		n = 256;
	for (int i = 0; i < 8; i++)
		buf[i] = (uint8_t)(seed >> (56 - 8 * i));
	memcpy(buf + 8, label, n);
	wa_sha256(buf, 8 + n, out);
}

static void clamp(uint8_t k[32])
{
	k[0] &= 248;
	k[31] &= 127;
	k[31] |= 64;
}

static int read_hex_file(const char *path, uint8_t out[32])
{
	char text[80];
	FILE *f = fopen(path, "r");
	size_t n;

	if (f == NULL)
		return -1;
	n = fread(text, 1, sizeof text - 1, f);
	fclose(f);
	text[n] = '\0';
	while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == '\r' || text[n - 1] == ' '))
		text[--n] = '\0';
	if (n != 64 || wa_hex_decode(text, out, 32) != 0)
		return -2;
	return 0;
}

static int write_text_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	size_t len = strlen(text), off = 0;

	if (fd < 0)
		return -1;
	while (off < len) {
		ssize_t w = write(fd, text + off, len - off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			close(fd);
			return -1;
		}
		off += (size_t)w;
	}
	if (fchmod(fd, mode) != 0) {
		close(fd);
		return -1;
	}
	return close(fd);
}

/* Load a private key file or create it (seeded or random), mode 0600. */
static int load_priv(const char *dir, const char *file, int seeded, uint64_t seed, const char *label,
		     uint8_t priv[32])
{
	char path[4200], hex[80];
	int r;

	snprintf(path, sizeof path, "%s/%s", dir, file);
	r = read_hex_file(path, priv);
	if (r == 0)
		return 0;
	if (r == -2) {
		wa_error("sim: '%s' is not a 32-byte hex key", path);
		return -1;
	}
	if (seeded)
		sim_derive(seed, label, priv);
	else if (wa_random(priv, 32) != 0)
		return -1;
	clamp(priv);
	wa_hex_encode(priv, 32, hex);
	hex[64] = '\n';
	hex[65] = '\0';
	r = write_text_file(path, hex, 0600);
	memset(hex, 0, sizeof hex);
	if (r != 0) {
		wa_error("sim: cannot write '%s': %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

int sim_keys_load(struct sim_keys *k, const char *dir, int seeded, uint64_t seed)
{
	struct wa_cert_details inter, leaf;
	uint8_t inter_priv[32], nonces[128];
	struct wa_buf chain = WA_BUF_INIT;
	char path[4200], hex[80];
	uint64_t now = (uint64_t)time(NULL);
	int rc = -1;

	memset(k, 0, sizeof *k);
	if (load_priv(dir, "root.key", seeded, seed, "root", k->root_priv) != 0 ||
	    load_priv(dir, "server.key", seeded, seed, "server-static", k->static_priv) != 0)
		goto out;
	if (wa_x25519_public(k->root_priv, k->root_pub) != 0 ||
	    wa_x25519_public(k->static_priv, k->static_pub) != 0)
		goto out;
	k->root_serial = WA_CERT_ISSUER_SERIAL;
	wa_hex_encode(k->root_pub, 32, hex);
	hex[64] = '\n';
	hex[65] = '\0';
	snprintf(path, sizeof path, "%s/root.pub", dir);
	if (write_text_file(path, hex, 0644) != 0) {
		wa_error("sim: cannot write '%s': %s", path, strerror(errno));
		goto out;
	}
	{
		char json[160];

		snprintf(json, sizeof json, "{\"publicKey\": \"%.64s\", \"serial\": %u}\n", hex,
			 (unsigned)k->root_serial);
		snprintf(path, sizeof path, "%s/root.json", dir);
		if (write_text_file(path, json, 0644) != 0) {
			wa_error("sim: cannot write '%s': %s", path, strerror(errno));
			goto out;
		}
	}
	/* The intermediate key is not kept: a new one per start is as valid. */
	if (seeded) {
		sim_derive(seed, "intermediate", inter_priv);
		sim_derive(seed, "cert-nonce-1", nonces);
		sim_derive(seed, "cert-nonce-2", nonces + 32);
		sim_derive(seed, "cert-nonce-3", nonces + 64);
		sim_derive(seed, "cert-nonce-4", nonces + 96);
	} else if (wa_random(inter_priv, 32) != 0 || wa_random(nonces, sizeof nonces) != 0) {
		goto out;
	}
	clamp(inter_priv);
	memset(&inter, 0, sizeof inter);
	inter.serial = 1;
	inter.issuer_serial = k->root_serial;
	if (wa_x25519_public(inter_priv, inter.key) != 0)
		goto out;
	inter.not_before = now - 86400;
	inter.not_after = now + 10ull * 365 * 86400;
	leaf = inter;
	leaf.serial = 2;
	leaf.issuer_serial = 1;
	memcpy(leaf.key, k->static_pub, 32);
	if (wa_cert_chain_build(k->root_priv, &inter, inter_priv, &leaf, nonces, &chain) != 0) {
		wa_error("sim: cannot build the certificate chain");
		goto out;
	}
	k->chain = wa_buf_steal(&chain, &k->chain_len);
	if (k->chain == NULL)
		goto out;
	rc = 0;
out:
	memset(inter_priv, 0, sizeof inter_priv);
	wa_buf_free(&chain);
	if (rc != 0)
		sim_keys_release(k);
	return rc;
}

void sim_keys_release(struct sim_keys *k)
{
	if (k == NULL)
		return;
	free(k->chain);
	memset(k, 0, sizeof *k);
}
