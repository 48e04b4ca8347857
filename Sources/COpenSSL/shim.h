#ifndef TOKENGATE_COPENSSL_SHIM_H
#define TOKENGATE_COPENSSL_SHIM_H
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/core_names.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <openssl/hmac.h>

/* Function-like macros do not import into Swift: wrap the ones we need. */
static inline void tg_openssl_free(void *p) { OPENSSL_free(p); }
#endif
