#ifndef STOWAGE_NGTCP2_SHIM_H
#define STOWAGE_NGTCP2_SHIM_H
// ngtcp2 0.12 (Debian 12) with its GnuTLS crypto helper, in one module: the helper's header
// needs ngtcp2's types, and one module keeps them one set of types for Swift.
#include <ngtcp2/ngtcp2.h>
#include <ngtcp2/ngtcp2_crypto.h>
#include <ngtcp2/ngtcp2_crypto_gnutls.h>
#endif
