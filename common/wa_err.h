/* wa_err: the one error vocabulary of WA-AKG.
 *
 * Contract
 *   - A function that can fail returns an int: 0 (WA_OK) is success, a
 *     negative value is an error. Positive values are never errors; they are
 *     left to callers for counts, lengths and flags ("n bytes written").
 *   - The common codes below (-1 .. -99) say WHAT went wrong in terms every
 *     layer understands. "Out of memory" is WA_ENOMEM everywhere.
 *   - A module may need more detail than the common class (which MAC failed,
 *     why a certificate was rejected). Such module-specific codes live at or
 *     below -10000 and carry their common class inside the value (see
 *     "Module codes" below), so wa_err_class() folds any of them without a
 *     table and without common/ knowing the modules' enums.
 *   - A module's generic codes ARE the common values
 *     (WA_NOISE_ENOMEM == WA_ENOMEM), so code may switch on the exact module
 *     code while generic layers (HTTP mapping, logs, metrics) fold with
 *     wa_err_class() and switch on the handful of common codes.
 *
 * Modelled on nng's nng_strerror() and nginx's single NGX_* return-code set:
 * one small vocabulary, stable strings, no errno. These are NOT errno values
 * and NOT MariaDB / nng / libsignal codes (those are positive or live in
 * their own space; convert at the boundary). */
#ifndef WA_ERR_H
#define WA_ERR_H

/* Common codes. Values are fixed: they appear in logs and test vectors, so a
 * code is never renumbered; new codes are appended before WA_ERR_COMMON_MIN.
 *                                                            HTTP status  */
enum wa_err {
	WA_OK = 0,          /* success                                    200 */
	WA_EFAIL = -1,      /* failed, cause unspecified                  500
			     * Deliberately -1, nginx's NGX_ERROR: every
			     * "0 or -1" function of the tree already returns
			     * a code of this vocabulary. New code says more. */
	WA_ENOMEM = -2,     /* out of memory                              500 */
	WA_EINVAL = -3,     /* invalid argument or caller-supplied input  400 */
	WA_ETOOBIG = -4,    /* input or result over a size limit          413 */
	WA_EPROTO = -5,     /* the peer broke the protocol: malformed,    502
			     * truncated or unexpected data from the other end */
	WA_ECRYPTO = -6,    /* a cryptographic check failed (MAC, AEAD    502
			     * tag, signature, hash, certificate chain) or
			     * a key agreement / crypto library step failed */
	WA_ENOTFOUND = -7,  /* the thing asked for does not exist         404 */
	WA_ECONFLICT = -8,  /* conflicts with existing state: duplicate,  409
			     * already exists, stale version, identity changed */
	WA_ESTORAGE = -9,   /* storage backend failed (database down,     503
			     * lock, disk): temporary, retry later */
	WA_ETIMEDOUT = -10, /* no answer in time                          504 */
	WA_EUNAVAIL = -11,  /* a needed service or peer is unavailable    503
			     * right now: retry later */
	WA_EFULL = -12,     /* a capacity is exhausted: queue or store    503
			     * full, counter space used up */
	WA_EIO = -13,       /* I/O error on a socket, pipe or file        502 */
	WA_ECLOSED = -14,   /* connection or object already closed        503 */
	WA_EDENIED = -15,   /* authenticated but not allowed              403 */
	WA_EAUTH = -16,     /* not authenticated: credentials missing     401
			     * or wrong */
	WA_ESTATE = -17,    /* call out of order / object in the wrong    500
			     * state (a caller bug, not bad input) */
	WA_ENOTSUP = -18,   /* valid but not implemented / not supported  501 */
	WA_EINTERNAL = -19, /* internal bug or third-party library        500
			     * failure */
};

/* Lowest common code; -20 .. -99 are reserved for new ones. */
#define WA_ERR_COMMON_MIN WA_EINTERNAL

/* Module codes
 *
 * A module-specific code is built with WA_ERR_MAKE(base, class, n):
 *
 *     value = base + class * 100 - n        base = -10000 * module id
 *                                            class = a common code (-1..-99)
 *                                            n = 0..99, detail within class
 *
 * so -value = module*10000 + (-class)*100 + n: the decimal digits of a logged
 * code read as module / class / detail (-20601 is noise, ECRYPTO, detail 1).
 * wa_err_class() recovers the class with two divisions. Codes from -100 to
 * -9999 are reserved and never used, so no module code can be mistaken for
 * a common one (nor for libsignal's SG_ERR_* codes, -1 .. -9999, which
 * wa/signal.c converts at its boundary).
 *
 * Module ids (a new module takes the next id and documents it here): */
#define WA_ERR_BINARY_BASE   (-10000) /* wa/binary.h      enum wa_bin_err      */
#define WA_ERR_NOISE_BASE    (-20000) /* wa/noise.h       enum wa_noise_err    */
#define WA_ERR_CERT_BASE     (-30000) /* wa/cert.h        enum wa_cert_err     */
#define WA_ERR_MEDIA_BASE    (-40000) /* wa/mediacrypto.h enum wa_media_err    */
#define WA_ERR_APPSTATE_BASE (-50000) /* wa/appstate.h    enum wa_appstate_err */
#define WA_ERR_SIGNAL_BASE   (-60000) /* wa/signal.h      enum wa_sig_err      */
#define WA_ERR_SIGSTORE_BASE (-70000) /* wa/sigstore.h    WA_SIGSTORE_*        */
#define WA_ERR_CLIENT_BASE   (-80000) /* sim/client/waclient.h WACLIENT_*      */
#define WA_ERR_FETCH_BASE    (-90000) /* common/wa_url.h   enum wa_fetch_err    */
#define WA_ERR_MODULE_MAX 99          /* module ids 1..99: codes >= -999999 */

/* A module-specific code: base from the list above, cls a common code (not
 * WA_OK), n in 0..99. A constant expression, usable in enum initialisers. */
#define WA_ERR_MAKE(base, cls, n) ((base) + (cls) * 100 - (n))

/* Text for any code: common codes have their own string, module-specific
 * codes give their class's string (the module's own strerror has the detail),
 * WA_OK gives "ok", a positive value "not an error". Never NULL; any other
 * value gives "unknown error". The strings are static and stable. */
const char *wa_strerror(int err);

/* Fold any code into its common class: a common code is returned as is, a
 * module-specific code yields the class it was built with, 0 and positive
 * values yield WA_OK (they are not errors), anything unknown (a reserved
 * value, an unknown class) yields WA_EFAIL. */
int wa_err_class(int err);

/* Module id of a module-specific code (1 for binary, ... see the list above),
 * 0 for a common code, WA_OK or anything that is not a module code. */
int wa_err_module(int err);

/* HTTP status for any code, after folding with wa_err_class():
 *   WA_OK (and positive)                     200
 *   WA_EINVAL                                400 Bad Request
 *   WA_EAUTH                                 401 Unauthorized
 *   WA_EDENIED                               403 Forbidden
 *   WA_ENOTFOUND                             404 Not Found
 *   WA_ECONFLICT                             409 Conflict
 *   WA_ETOOBIG                               413 Content Too Large
 *   WA_EFAIL, WA_ENOMEM, WA_ESTATE,
 *   WA_EINTERNAL                             500 Internal Server Error
 *   WA_ENOTSUP                               501 Not Implemented
 *   WA_EPROTO, WA_ECRYPTO, WA_EIO            502 Bad Gateway (the far end
 *                                                 - WhatsApp, a peer, the
 *                                                 engine - sent bad data or
 *                                                 the link to it failed)
 *   WA_ESTORAGE, WA_EUNAVAIL, WA_EFULL,
 *   WA_ECLOSED                               503 Service Unavailable (retry)
 *   WA_ETIMEDOUT                             504 Gateway Timeout
 *   anything unknown                         500 */
int wa_err_http_status(int err);

#endif
