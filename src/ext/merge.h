/* SPDX-License-Identifier: MIT */
/* merge.h: adding one profile's samples to another, re-interning everything they refer to
 * (a decorated function sampled at each call accumulates into one profile). */
#pragma once
#include "profile/profile.h"

/* Appends every sample of src to dst, with its strings, frames, stacks, processes, threads
 * and series (matched by name) re-interned in dst; dst's metadata and info are kept, its
 * duration extended by src's and its dropped count increased. Returns 0 or -1. */
int merge_profiles(Profile *dst, const Profile *src, Err *err);
