/* sim_store: accounts, devices, offline queues and state.json (see sim_store.h). */
#include "sim_store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "wa/crypto.h"
#include "wa_log.h"
#include "wa_util.h"

struct sim_store *sim_store_new(const char *path)
{
	struct sim_store *st = calloc(1, sizeof *st);

	if (st == NULL)
		return NULL;
	if (path != NULL && snprintf(st->path, sizeof st->path, "%s", path) >= (int)sizeof st->path) {
		free(st);
		return NULL;
	}
	return st;
}

void sim_qnode_free(struct sim_qnode *q)
{
	if (q == NULL)
		return;
	free(q->data);
	free(q);
}

static void unanswered_free(struct sim_unanswered *u)
{
	if (u == NULL)
		return;
	free(u->data);
	free(u);
}

static void device_free(struct sim_device *d)
{
	struct sim_qnode *q, *nq;
	struct sim_unanswered *u, *nu;

	if (d == NULL)
		return;
	for (q = d->qhead; q; q = nq) {
		nq = q->next;
		sim_qnode_free(q);
	}
	for (u = d->uhead; u; u = nu) {
		nu = u->next;
		unanswered_free(u);
	}
	sim_devkeys_free(d->keys);
	free(d->adv);
	free(d);
}

static void account_free(struct sim_account *a)
{
	struct sim_device *d, *nd;

	if (a == NULL)
		return;
	for (d = a->devices; d; d = nd) {
		nd = d->next;
		device_free(d);
	}
	sim_phone_free(a->phone);
	sim_acstate_free(a->state);
	/* the phone's private identity key */
	memset(a->identity_priv, 0, sizeof a->identity_priv);
	free(a);
}

void sim_store_clear(struct sim_store *st)
{
	struct sim_account *a, *na;

	if (st == NULL)
		return;
	for (a = st->accounts; a; a = na) {
		na = a->next;
		account_free(a);
	}
	st->accounts = NULL;
	st->last = NULL;
	memset(st->index, 0, sizeof st->index);
	memset(st->lid_index, 0, sizeof st->lid_index);
	st->naccounts = 0;
	sim_groups_free(st->groups);
	st->groups = NULL;
}

void sim_store_free(struct sim_store *st)
{
	if (st == NULL)
		return;
	sim_store_clear(st);
	free(st);
}

int sim_number_valid(const char *number)
{
	size_t n;

	if (number == NULL)
		return 0;
	n = strlen(number);
	if (n < 5 || n > SIM_NUMBER_MAX || number[0] == '0')
		return 0;
	for (size_t i = 0; i < n; i++)
		if (number[i] < '0' || number[i] > '9')
			return 0;
	return 1;
}

static size_t bucket(const char *number)
{
	uint32_t h = 2166136261u;

	for (; *number; number++)
		h = (h ^ (uint8_t)*number) * 16777619u;
	return h % SIM_ACCOUNT_BUCKETS;
}

struct sim_account *sim_store_account_find(const struct sim_store *st, const char *number)
{
	struct sim_account *a;

	if (st == NULL || number == NULL)
		return NULL;
	for (a = st->index[bucket(number)]; a; a = a->hnext)
		if (strcmp(a->number, number) == 0)
			return a;
	return NULL;
}

struct sim_account *sim_store_account_find_lid(const struct sim_store *st, const char *lid)
{
	struct sim_account *a;

	if (st == NULL || lid == NULL)
		return NULL;
	for (a = st->lid_index[bucket(lid)]; a; a = a->lnext)
		if (strcmp(a->lid, lid) == 0)
			return a;
	return NULL;
}

struct sim_account *sim_store_account_find_u64(const struct sim_store *st, uint64_t username)
{
	char num[32];

	snprintf(num, sizeof num, "%llu", (unsigned long long)username);
	return sim_store_account_find(st, num);
}

int sim_store_account_add(struct sim_store *st, const char *number, const char *push_name,
			  const uint8_t identity_priv[32], const char *lid, uint32_t adv_raw_id,
			  struct sim_account **out)
{
	struct sim_account *a, **tail;

	if (st == NULL || !sim_number_valid(number) || identity_priv == NULL || !sim_number_valid(lid))
		return -1;
	if (push_name == NULL)
		push_name = "";
	if (strlen(push_name) > SIM_PUSHNAME_MAX)
		return -1;
	if (sim_store_account_find(st, number) != NULL)
		return -2;
	if (st->naccounts >= SIM_MAX_ACCOUNTS)
		return -3;
	a = calloc(1, sizeof *a);
	if (a == NULL)
		return -1;
	snprintf(a->number, sizeof a->number, "%s", number);
	snprintf(a->push_name, sizeof a->push_name, "%s", push_name);
	snprintf(a->lid, sizeof a->lid, "%s", lid);
	memcpy(a->identity_priv, identity_priv, 32);
	if (wa_x25519_public(a->identity_priv, a->identity_pub) != 0) {
		account_free(a);
		return -1;
	}
	a->adv_raw_id = adv_raw_id;
	a->next_device = 1;
	a->next_key_index = 1;
	tail = st->last ? &st->last->next : &st->accounts;
	*tail = a;
	st->last = a;
	a->hnext = st->index[bucket(a->number)];
	st->index[bucket(a->number)] = a;
	a->lnext = st->lid_index[bucket(a->lid)];
	st->lid_index[bucket(a->lid)] = a;
	st->naccounts++;
	if (out)
		*out = a;
	return 0;
}

struct sim_device *sim_account_device(const struct sim_account *acc, uint16_t id)
{
	struct sim_device *d;

	if (acc == NULL)
		return NULL;
	for (d = acc->devices; d; d = d->next)
		if (d->id == id)
			return d;
	return NULL;
}

int sim_account_reserve_slot(struct sim_account *acc, uint16_t *slot, uint32_t *key_index)
{
	if (acc == NULL || acc->next_device == 0 || acc->next_device == UINT16_MAX ||
	    acc->next_key_index == UINT32_MAX)
		return -1;
	*slot = acc->next_device++;
	*key_index = acc->next_key_index++;
	return 0;
}

int sim_account_device_add(struct sim_account *acc, uint16_t id, struct sim_device **out)
{
	struct sim_device *d, **tail;

	if (acc == NULL || id == 0 || acc->ndevices >= SIM_MAX_DEVICES)
		return -1;
	for (tail = &acc->devices; *tail; tail = &(*tail)->next)
		if ((*tail)->id == id)
			return -1;
	d = calloc(1, sizeof *d);
	if (d == NULL)
		return -1;
	d->id = id;
	*tail = d;
	acc->ndevices++;
	*out = d;
	return 0;
}

int sim_account_device_remove(struct sim_account *acc, uint16_t id)
{
	struct sim_device **pp, *d;

	if (acc == NULL)
		return -1;
	for (pp = &acc->devices; *pp; pp = &(*pp)->next) {
		if ((*pp)->id == id) {
			d = *pp;
			*pp = d->next;
			acc->ndevices--;
			device_free(d);
			return 0;
		}
	}
	return -1;
}

int sim_device_set_adv(struct sim_device *d, const uint8_t *adv, size_t len)
{
	uint8_t *copy;

	if (d == NULL || adv == NULL || len == 0 || len > SIM_ADV_MAX)
		return -1;
	copy = malloc(len);
	if (copy == NULL)
		return -1;
	memcpy(copy, adv, len);
	free(d->adv);
	d->adv = copy;
	d->adv_len = len;
	return 0;
}

int sim_device_queue_push(struct sim_device *d, const uint8_t *data, size_t len)
{
	struct sim_qnode *q;

	if (d == NULL || data == NULL || len == 0)
		return -1;
	if (d->qcount >= SIM_QUEUE_MAX_NODES || len > SIM_QUEUE_MAX_BYTES - d->qbytes)
		return -1;
	q = calloc(1, sizeof *q);
	if (q == NULL)
		return -1;
	q->data = malloc(len);
	if (q->data == NULL) {
		free(q);
		return -1;
	}
	memcpy(q->data, data, len);
	q->len = len;
	if (d->qtail)
		d->qtail->next = q;
	else
		d->qhead = q;
	d->qtail = q;
	d->qcount++;
	d->qbytes += len;
	return 0;
}

struct sim_qnode *sim_device_queue_take(struct sim_device *d)
{
	struct sim_qnode *h;

	if (d == NULL)
		return NULL;
	h = d->qhead;
	d->qhead = d->qtail = NULL;
	d->qcount = 0;
	d->qbytes = 0;
	return h;
}

/* Copy src into dst (cap bytes); -1 when it does not fit (nothing is cut). */
static int copy_str(char *dst, size_t cap, const char *src)
{
	size_t n = strlen(src);

	if (n >= cap)
		return -1;
	memcpy(dst, src, n + 1);
	return 0;
}

/* Unlink and free the oldest kept message. */
static void unanswered_drop_oldest(struct sim_device *d)
{
	struct sim_unanswered *u = d->uhead;

	d->uhead = u->next;
	if (d->uhead == NULL)
		d->utail = NULL;
	d->ucount--;
	d->ubytes -= u->len;
	unanswered_free(u);
}

int sim_device_unanswered_add(struct sim_device *d, const char *tag, const char *id, const char *from,
			      const char *participant, const uint8_t *data, size_t len)
{
	struct sim_unanswered *u;
	int dropped = 0;

	if (d == NULL || id == NULL || from == NULL || data == NULL || len == 0 || len > SIM_UNANSWERED_MAX_BYTES)
		return -1;
	u = calloc(1, sizeof *u);
	if (u == NULL)
		return -1;
	if (copy_str(u->id, sizeof u->id, id) || copy_str(u->from, sizeof u->from, from) ||
	    copy_str(u->participant, sizeof u->participant, participant ? participant : "") ||
	    (u->data = malloc(len)) == NULL) {
		unanswered_free(u);
		return -1;
	}
	memcpy(u->data, data, len);
	u->len = len;
	u->kind = tag != NULL && strcmp(tag, "notification") == 0 ? SIM_UNANS_NOTIFICATION
		  : tag != NULL && strcmp(tag, "receipt") == 0     ? SIM_UNANS_RECEIPT
								    : SIM_UNANS_MESSAGE;
	while (d->uhead && (d->ucount >= SIM_UNANSWERED_MAX || len > SIM_UNANSWERED_MAX_BYTES - d->ubytes)) {
		unanswered_drop_oldest(d);
		dropped++;
		d->udropped++;
	}
	if (d->utail)
		d->utail->next = u;
	else
		d->uhead = u;
	d->utail = u;
	d->ucount++;
	d->ubytes += len;
	return dropped;
}

int sim_device_unanswered_remove(struct sim_device *d, const char *id,
				 int (*match)(void *ctx, const struct sim_unanswered *u), void *ctx)
{
	struct sim_unanswered **pp, *u;
	int n = 0;

	if (d == NULL || id == NULL)
		return 0;
	d->utail = NULL;
	for (pp = &d->uhead; (u = *pp) != NULL;) {
		if (strcmp(u->id, id) == 0 && (match == NULL || match(ctx, u))) {
			*pp = u->next;
			d->ucount--;
			d->ubytes -= u->len;
			unanswered_free(u);
			n++;
			continue;
		}
		d->utail = u;
		pp = &u->next;
	}
	return n;
}

/* ---- persistence ---- */

static json_t *hexval(const uint8_t *p, size_t n)
{
	char buf[2 * SIM_ADV_MAX + 1];

	if (n > SIM_ADV_MAX)
		return NULL;
	wa_hex_encode(p, n, buf);
	return json_string(buf);
}

static json_t *device_to_json(const struct sim_device *d)
{
	json_t *o = json_object();

	if (o == NULL)
		return NULL;
	if (json_object_set_new(o, "id", json_integer(d->id)) ||
	    json_object_set_new(o, "noisePub", hexval(d->noise_pub, 32)) ||
	    json_object_set_new(o, "identityPub", hexval(d->identity_pub, 32)) ||
	    json_object_set_new(o, "registrationId", json_integer(d->registration_id)) ||
	    json_object_set_new(o, "spkId", json_integer(d->spk_id)) ||
	    json_object_set_new(o, "spkPub", hexval(d->spk_pub, 32)) ||
	    json_object_set_new(o, "spkSig", hexval(d->spk_sig, 64)) ||
	    json_object_set_new(o, "keyIndex", json_integer(d->key_index)) ||
	    json_object_set_new(o, "adv", hexval(d->adv, d->adv_len)) ||
	    json_object_set_new(o, "pairedAt", json_integer((json_int_t)d->paired_at)) ||
	    json_object_set_new(o, "platform", json_string(d->platform))) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *account_to_json(const struct sim_account *a)
{
	json_t *o = json_object(), *devs = json_array();
	const struct sim_device *d;

	if (o == NULL || devs == NULL)
		goto fail;
	for (d = a->devices; d; d = d->next)
		if (json_array_append_new(devs, device_to_json(d)))
			goto fail;
	if (json_object_set_new(o, "number", json_string(a->number)) ||
	    json_object_set_new(o, "pushName", json_string(a->push_name)) ||
	    json_object_set_new(o, "lid", json_string(a->lid)) ||
	    json_object_set_new(o, "identityPriv", hexval(a->identity_priv, 32)) ||
	    json_object_set_new(o, "advRawId", json_integer(a->adv_raw_id)) ||
	    json_object_set_new(o, "nextDevice", json_integer(a->next_device)) ||
	    json_object_set_new(o, "nextKeyIndex", json_integer(a->next_key_index)))
		goto fail;
	if (json_object_set_new(o, "devices", devs)) {
		devs = NULL;
		goto fail;
	}
	return o;
fail:
	json_decref(devs);
	json_decref(o);
	return NULL;
}

int sim_store_save(const struct sim_store *st)
{
	json_t *root = NULL, *accs = NULL;
	const struct sim_account *a;
	char tmp[4200];
	char *text = NULL;
	int fd = -1, rc = -1;
	size_t len, off = 0;

	if (st == NULL)
		return -1;
	if (st->path[0] == '\0')
		return 0;
	root = json_object();
	accs = json_array();
	if (root == NULL || accs == NULL)
		goto out;
	for (a = st->accounts; a; a = a->next)
		if (json_array_append_new(accs, account_to_json(a)))
			goto out;
	if (json_object_set_new(root, "version", json_integer(1)))
		goto out;
	if (json_object_set_new(root, "accounts", accs)) {
		accs = NULL;
		goto out;
	}
	accs = NULL;
	text = json_dumps(root, JSON_INDENT(1) | JSON_SORT_KEYS);
	if (text == NULL)
		goto out;
	snprintf(tmp, sizeof tmp, "%s.tmp", st->path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		wa_error("sim: cannot write '%s': %s", tmp, strerror(errno));
		goto out;
	}
	len = strlen(text);
	while (off < len) {
		ssize_t w = write(fd, text + off, len - off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			wa_error("sim: cannot write '%s': %s", tmp, strerror(errno));
			goto out;
		}
		off += (size_t)w;
	}
	if (fsync(fd) != 0 || close(fd) != 0) {
		fd = -1;
		goto out;
	}
	fd = -1;
	if (rename(tmp, st->path) != 0) {
		wa_error("sim: cannot rename '%s': %s", tmp, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	if (text) {
		memset(text, 0, strlen(text)); /* holds private keys */
		free(text);
	}
	json_decref(accs);
	json_decref(root);
	return rc;
}

static int get_hex(json_t *o, const char *key, uint8_t *out, size_t n)
{
	const char *s = json_string_value(json_object_get(o, key));

	if (s == NULL || strlen(s) != 2 * n)
		return -1;
	return wa_hex_decode(s, out, n);
}

static int get_uint(json_t *o, const char *key, unsigned long long max, unsigned long long *out)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    (unsigned long long)json_integer_value(v) > max)
		return -1;
	*out = (unsigned long long)json_integer_value(v);
	return 0;
}

static int load_device(struct sim_account *a, json_t *o)
{
	struct sim_device *d, **tail;
	unsigned long long v;
	const char *adv = json_string_value(json_object_get(o, "adv"));
	const char *plat = json_string_value(json_object_get(o, "platform"));
	uint8_t advbuf[SIM_ADV_MAX];
	size_t advlen;

	if (a->ndevices >= SIM_MAX_DEVICES || adv == NULL || strlen(adv) % 2 != 0 ||
	    strlen(adv) / 2 > SIM_ADV_MAX || strlen(adv) == 0)
		return -1;
	advlen = strlen(adv) / 2;
	if (wa_hex_decode(adv, advbuf, advlen) != 0)
		return -1;
	d = calloc(1, sizeof *d);
	if (d == NULL)
		return -1;
	if (get_uint(o, "id", 65535, &v) || v == 0)
		goto fail;
	d->id = (uint16_t)v;
	if (get_hex(o, "noisePub", d->noise_pub, 32) || get_hex(o, "identityPub", d->identity_pub, 32) ||
	    get_hex(o, "spkPub", d->spk_pub, 32) || get_hex(o, "spkSig", d->spk_sig, 64))
		goto fail;
	if (get_uint(o, "registrationId", UINT32_MAX, &v))
		goto fail;
	d->registration_id = (uint32_t)v;
	if (get_uint(o, "spkId", 0xFFFFFF, &v))
		goto fail;
	d->spk_id = (uint32_t)v;
	if (get_uint(o, "keyIndex", UINT32_MAX, &v))
		goto fail;
	d->key_index = (uint32_t)v;
	if (get_uint(o, "pairedAt", UINT64_MAX >> 1, &v))
		goto fail;
	d->paired_at = v;
	snprintf(d->platform, sizeof d->platform, "%s", plat ? plat : "");
	if (sim_device_set_adv(d, advbuf, advlen))
		goto fail;
	for (tail = &a->devices; *tail; tail = &(*tail)->next)
		if ((*tail)->id == d->id)
			goto fail;
	*tail = d;
	a->ndevices++;
	return 0;
fail:
	device_free(d);
	return -1;
}

static int load_account(struct sim_store *st, json_t *o)
{
	const char *number = json_string_value(json_object_get(o, "number"));
	const char *push = json_string_value(json_object_get(o, "pushName"));
	const char *lid = json_string_value(json_object_get(o, "lid"));
	uint8_t priv[32];
	unsigned long long raw, nd, nk;
	struct sim_account *a;
	json_t *devs, *dv;
	size_t i;
	int rc = -1;

	if (get_hex(o, "identityPriv", priv, 32) || get_uint(o, "advRawId", UINT32_MAX, &raw) ||
	    get_uint(o, "nextDevice", 65535, &nd) || get_uint(o, "nextKeyIndex", UINT32_MAX, &nk))
		goto out;
	if (sim_store_account_add(st, number, push, priv, lid, (uint32_t)raw, &a) != 0)
		goto out;
	a->next_device = (uint16_t)nd;
	a->next_key_index = (uint32_t)nk;
	devs = json_object_get(o, "devices");
	if (!json_is_array(devs))
		goto out;
	json_array_foreach(devs, i, dv)
		if (load_device(a, dv) != 0)
			goto out;
	rc = 0;
out:
	memset(priv, 0, sizeof priv);
	return rc;
}

int sim_store_load(struct sim_store *st)
{
	json_error_t err;
	json_t *root, *accs, *o;
	size_t i;

	if (st == NULL)
		return -1;
	if (st->path[0] == '\0' || access(st->path, F_OK) != 0)
		return 0;
	root = json_load_file(st->path, 0, &err);
	if (root == NULL) {
		wa_error("sim: cannot load '%s': %s (line %d)", st->path, err.text, err.line);
		return -1;
	}
	accs = json_object_get(root, "accounts");
	if (!json_is_array(accs)) {
		json_decref(root);
		wa_error("sim: '%s' has no accounts array", st->path);
		return -1;
	}
	json_array_foreach(accs, i, o) {
		if (load_account(st, o) != 0) {
			wa_error("sim: '%s': account %zu is malformed", st->path, i);
			sim_store_clear(st);
			json_decref(root);
			return -1;
		}
	}
	json_decref(root);
	return 0;
}
