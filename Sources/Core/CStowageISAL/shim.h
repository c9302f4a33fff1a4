#ifndef STOWAGE_ISAL_SHIM_H
#define STOWAGE_ISAL_SHIM_H
#include <isa-l/crc.h>
#include <isa-l/erasure_code.h>
#endif
