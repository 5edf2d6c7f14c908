/*
 * Run-time version queries.
 * SPDX-License-Identifier: MIT
 */
#include "core/common.h"

uint32_t lp_version(void) { return LP_VERSION_NUMBER; }

const char *lp_version_string(void) { return LP_VERSION_STRING; }
