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

/* AES-CMAC through EVP_MAC: the OSSL_PARAM names are macros and must outlive the call, so the
   parameter array is built here. Returns 1 on success. */
static inline int tg_aes_cmac(const unsigned char *key, size_t key_len, const unsigned char *data,
                              size_t data_len, unsigned char out[16]) {
    const char *cipher = key_len == 16 ? "AES-128-CBC" : key_len == 24 ? "AES-192-CBC" : "AES-256-CBC";
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "CMAC", NULL);
    if (mac == NULL) return 0;
    EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(mac);
    int ok = 0;
    if (ctx != NULL) {
        OSSL_PARAM params[2];
        params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER, (char *)cipher, 0);
        params[1] = OSSL_PARAM_construct_end();
        size_t out_len = 0;
        ok = EVP_MAC_init(ctx, key, key_len, params) == 1
          && EVP_MAC_update(ctx, data, data_len) == 1
          && EVP_MAC_final(ctx, out, &out_len, 16) == 1
          && out_len == 16;
        EVP_MAC_CTX_free(ctx);
    }
    EVP_MAC_free(mac);
    return ok;
}
#endif
