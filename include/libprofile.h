/*
 * libprofile - umbrella header.
 * SPDX-License-Identifier: MIT
 */
/**
 * @file libprofile.h
 * @brief Umbrella header: includes every public libprofile header.
 *
 * Include this one header, or only the module headers you use; both work.
 */
#ifndef LIBPROFILE_H
#define LIBPROFILE_H

#include "libprofile/core.h"
#include "libprofile/identity.h"
#include "libprofile/io.h"
#include "libprofile/rfm.h"
#include "libprofile/kmeans.h"
#include "libprofile/clv.h"
#include "libprofile/tags.h"
#include "libprofile/profiles.h"

#endif /* LIBPROFILE_H */
