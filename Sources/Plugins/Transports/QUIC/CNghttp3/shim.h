#ifndef STOWAGE_NGHTTP3_SHIM_H
#define STOWAGE_NGHTTP3_SHIM_H
#include <nghttp3/nghttp3.h>
#endif
