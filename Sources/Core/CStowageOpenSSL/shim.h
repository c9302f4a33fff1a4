#ifndef STOWAGE_OPENSSL_SHIM_H
#define STOWAGE_OPENSSL_SHIM_H
/* SHA256_Init/Update/Final are deprecated in OpenSSL 3 but still supported: they hash without
   the EVP provider tables, whose first use costs about 0.7 ms (see SHA256.hash). */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/params.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#endif
