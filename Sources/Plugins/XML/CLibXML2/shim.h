#ifndef STOWAGE_LIBXML2_SHIM_H
#define STOWAGE_LIBXML2_SHIM_H
#include <libxml/xmlversion.h>
/* Debian's libxml2 is built with ICU; its headers then clash with Foundation's ICU module.
   Hiding the two ICU-only fields of xmlCharEncodingHandler is safe: Swift never touches them. */
#undef LIBXML_ICU_ENABLED
#include <libxml/parser.h>
#include <libxml/xmlwriter.h>
#include <libxml/xmlreader.h>
#include <libxml/xmlerror.h>
#endif
