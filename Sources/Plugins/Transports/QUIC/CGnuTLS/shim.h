#ifndef STOWAGE_GNUTLS_SHIM_H
#define STOWAGE_GNUTLS_SHIM_H
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <gnutls/crypto.h>
#include <gnutls/abstract.h>
#endif
