#ifndef SB_CRYPTO_H
#define SB_CRYPTO_H
// libcrypto (OpenSSL 3) is opened the first time a script uses gw.sha256, gw.hmac_sha256 or
// gw.crypto.rsa_sha256_verify or _sign, or the response cache hashes a key, instead of being linked: linked,
// its relocated data and the code its initialization touches cost 1.4 MB of RSS in every gateway
// (bench/idle-rss), most of which never verify a JWT.
#include <openssl/core_names.h>
#include <openssl/decoder.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/param_build.h>
#include <openssl/sha.h>

#define SB_CRYPTO_FUNCTIONS(X) \
    X(SHA256) X(HMAC) X(EVP_sha256) X(ERR_clear_error) X(BN_bin2bn) X(BN_free) \
    X(OSSL_PARAM_BLD_new) X(OSSL_PARAM_BLD_push_BN) X(OSSL_PARAM_BLD_to_param) X(OSSL_PARAM_BLD_free) \
    X(OSSL_PARAM_free) X(EVP_PKEY_CTX_new_from_name) X(EVP_PKEY_fromdata_init) X(EVP_PKEY_fromdata) \
    X(EVP_PKEY_CTX_free) X(EVP_PKEY_free) X(OSSL_DECODER_CTX_new_for_pkey) X(OSSL_DECODER_from_data) \
    X(OSSL_DECODER_CTX_free) X(EVP_MD_CTX_new) X(EVP_MD_CTX_free) X(EVP_DigestVerifyInit) X(EVP_DigestVerify) \
    X(EVP_DigestSignInit) X(EVP_DigestSign)

/// The libcrypto functions the glue uses, by their own names.
struct sb_crypto {
#define SB_CRYPTO_FIELD(name) __typeof__(name) *name;
    SB_CRYPTO_FUNCTIONS(SB_CRYPTO_FIELD)
#undef SB_CRYPTO_FIELD
};

/// The functions (libcrypto.so.3 opened on the first call, once); NULL when it cannot be opened,
/// with the reason in `*why` when `why` is not NULL.
const struct sb_crypto *sb_crypto(const char **why);

#endif
