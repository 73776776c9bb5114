/* h_util: small helpers shared by the stored-data handlers (users, access,
 * bot, auto-replies, scheduler, webhooks, labels, notifications, system,
 * media, store).
 *
 * Return convention, the same for every helper below that takes a struct
 * wa_req (and the one wa_validate_* and wa_req_json follow):
 *   < 0  the helper has already replied with the error (400 naming the
 *        field, or 500/503); the handler returns at once:
 *            if (helper(r, ...) < 0)
 *                    return -1;
 *     0  OK; for an optional input: absent (outputs as documented)
 *     1  an optional input is present and valid (outputs set)
 * No other values. Helpers that take no request reply nothing: parsers and
 * checks return 0 (valid) or -1 (invalid), wa_cron_valid is a predicate
 * (1 valid, 0 not), wa_media_remove_unreferenced returns a count.
 *
 * Nothing here writes to the database. Thread-safety: per request only. */
#ifndef WA_FCGI_H_UTIL_H
#define WA_FCGI_H_UTIL_H

#include "fcgi/validate.h"

#include <jansson.h>
#include <stddef.h>

/* A row id as the API shows it: 1-19 decimal digits, not zero. Returns 0 and
 * sets *out, or -1. */
int wa_id_parse(const char *s, unsigned long long *out);

/* Path parameter `name` as a row id into *out: 0, or -1 after a 400 naming
 * it when malformed. */
int wa_path_id(struct wa_req *r, const char *name, unsigned long long *out);

/* Body field `name` as a row id: a string or integer ("12" or 12). Returns 1
 * and sets *out, 0 when absent/null and not required, -1 after a 400. */
int wa_body_id(struct wa_req *r, const char *name, int required, unsigned long long *out);

/* Read the JSON body (an empty body is {} when allow_empty) and check it
 * against `fields` (may be NULL). Returns 0 or -1 after the reply. */
int wa_body_begin(struct wa_req *r, int allow_empty, const struct wa_field *fields);

/* (wa_body_begin also enforces the maximum length given in `values` for
 * WA_F_STR0 fields, which wa_validate_body does not check.) */

/* Integer body field in [min, max]: 1 present (*out set), 0 absent or null
 * (*out untouched), -1 after a 400. */
int wa_body_int_range(struct wa_req *r, const char *name, long long min, long long max, long long *out);

/* Body field that must be an array (may be empty, at most `max` entries) of
 * JIDs or phone numbers. Returns 1 and a new array of normalised JIDs in
 * *out, 0 when absent (or null), -1 after a 400. */
int wa_body_jid_list(struct wa_req *r, const char *name, size_t max, json_t **out);

/* Body field that is a string or null (nullable): 1 present (*out the
 * string, or NULL for an explicit null), 0 absent (*out NULL), -1 after a
 * 400 (wrong type or longer than maxlen bytes). */
int wa_body_str_null(struct wa_req *r, const char *name, size_t maxlen, const char **out);

/* An http:// or https:// URL with a host, no spaces/control characters, at
 * most 2048 bytes. Returns 0, or -1 after a 400 naming `field`. */
int wa_check_http_url(struct wa_req *r, const char *field, const char *url);

/* A media reference: an http(s) URL (as wa_check_http_url) or one of our
 * own files "/api/media/<name>" with a valid media file name. "" and NULL
 * pass (= none). Returns 0, or -1 after a 400 naming `field`. */
int wa_check_media_url(struct wa_req *r, const char *field, const char *url);

/* A 5-field cron expression (minute hour day-of-month month day-of-week),
 * each field "*" or a comma list of N or N-M, optionally "/step", numbers
 * in range; at most 128 bytes. 1 if valid, else 0. */
int wa_cron_valid(const char *expr);

/* Replace the string member `key` of `row` by its parsed JSON value (for
 * JSON columns); unparsable or missing becomes `def` (copied; NULL = []). */
void wa_row_json_col(json_t *row, const char *key, json_t *def);

/* Replace the integer member `key` by a JSON boolean (for computed 0/1
 * columns that the driver does not type as TINYINT(1)). */
void wa_row_bool_col(json_t *row, const char *key);

/* Move members `keys[i]` (NULL-terminated) of `row` into a new object member
 * `dst` named by the same key without the leading '_' (e.g. "_sessions" ->
 * {"sessions": ..}). */
void wa_row_nest(json_t *row, const char *dst, const char *const *keys);

/* Compact JSON text of v (malloc'd) or NULL. */
char *wa_json_text(const json_t *v);

/* Reply 200 with a bare JSON array of rows (steals rows); NULL (a failed
 * query) -> wa_reply_db_error. 0, or -1 after the error reply. */
int wa_reply_rows(struct wa_req *r, json_t *rows);

/* Reply to a failed database call of this request (call it right after
 * the failure, after any wa_db_rollback): 503 "database_unavailable" when
 * the database could not be reached or the connection was lost
 * (wa_db_err() is WA_ESTORAGE: a transaction then left nothing behind, see
 * db.h), else 500 with `message`. Always -1, like wa_reply_error. */
int wa_reply_db_error(struct wa_req *r, const char *message);

/* Query parameter into buf: 1 present (buf set, may be ""), 0 absent, -1
 * after a 400 naming it (malformed escape or longer than len - 1 bytes). */
int wa_query_get(struct wa_req *r, const char *name, char *buf, size_t len);

/* Boolean query parameter ("true"/"1", "false"/"0"): 1 present (*out 1 or
 * 0), 0 absent or empty (*out untouched), -1 after a 400. */
int wa_query_bool(struct wa_req *r, const char *name, int *out);

/* Integer query parameter in [min, max]: 1 present (*out set), 0 absent or
 * empty (*out = def), -1 after a 400 naming it. */
int wa_query_int(struct wa_req *r, const char *name, long long min, long long max, long long def,
		 long long *out);

/* Parse an ISO-8601 date-time into UTC milliseconds since the epoch.
 * Accepted: YYYY-MM-DD, optionally followed by 'T' or ' ' and
 * HH:MM[:SS[.fff]] and a zone Z / +HH:MM / +HHMM / +HH (none = UTC); years
 * 1970-9999, real calendar days. Returns 0 or -1. */
int wa_iso8601_parse(const char *s, long long *ms_out);

/* UTC milliseconds -> "YYYY-MM-DD HH:MM:SS.fff" for a DATETIME(3) value. */
int wa_sql_datetime(long long ms, char *out, size_t len);

/* Unlink from media.dir the files named by rows {"f": name} that no
 * media_files row names any more (call after the rows were deleted and
 * committed). Names that are not plain media file names are skipped.
 * Returns how many files were removed. */
size_t wa_media_remove_unreferenced(struct wa_req *r, json_t *files);

#endif
