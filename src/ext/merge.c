/* SPDX-License-Identifier: MIT */
/* merge.c: one profile's samples into another (merge.h). Ids differ between profiles, so
 * every table src uses is mapped once, in id order (a stack's parent comes first). */
#include "ext/merge.h"

#include <stdlib.h>

static int
map_str(Profile *dst, const Profile *src, StrId id, StrId *out, Err *err)
{
    return profile_str(dst, profile_strp(src, id), profile_strlen(src, id), out, err);
}

int
merge_profiles(Profile *dst, const Profile *src, Err *err)
{
    size_t nf = profile_nframes(src), ns = profile_nstacks(src), nt = profile_nthreads(src);
    size_t np = profile_nprocs(src), nser = profile_nseries(src);
    FrameId *fmap = malloc((nf ? nf : 1) * sizeof *fmap);
    StackId *smap = malloc((ns ? ns : 1) * sizeof *smap);
    ThreadId *tmap = malloc((nt ? nt : 1) * sizeof *tmap);
    ProcId *pmap = malloc((np ? np : 1) * sizeof *pmap);
    SeriesId sermap[PROFILE_MAX_SERIES];
    int rc = -1;
    if (!fmap || !smap || !tmap || !pmap) {
        err_set(err, ERR_NOMEM, "out of memory merging profiles");
        goto done;
    }
    for (FrameId i = 0; i < nf; i++) {
        ProfFrame f = *profile_frame_at(src, i);
        if (map_str(dst, src, f.name, &f.name, err) < 0 ||
            map_str(dst, src, f.file, &f.file, err) < 0 ||
            profile_frame(dst, &f, &fmap[i], err) < 0)
            goto done;
    }
    smap[PROFILE_ROOT] = PROFILE_ROOT;
    for (StackId i = 1; i < ns; i++) {
        const ProfStack *st = profile_stack_at(src, i);
        if (profile_stack(dst, smap[st->parent], fmap[st->frame], &smap[i], err) < 0)
            goto done;
    }
    for (ProcId i = 0; i < np; i++) {
        const ProfProcess *pr = profile_proc_at(src, i);
        if (profile_process(dst, pr->pid, pr->ppid, profile_strp(src, pr->command), &pmap[i], err) <
            0)
            goto done;
    }
    for (ThreadId i = 0; i < nt; i++) {
        const ProfThread *th = profile_thread_at(src, i);
        if (profile_thread(dst, pmap[th->proc], th->tid, profile_strp(src, th->name), &tmap[i],
                           err) < 0)
            goto done;
    }
    for (SeriesId i = 0; i < nser; i++)
        if (profile_series(dst, profile_series_name(src, i), profile_series_unit(src, i),
                           &sermap[i], err) < 0)
            goto done;
    for (size_t i = 0; i < profile_nsamples(src); i++) {
        ProfSample s;
        profile_sample_at(src, i, &s);
        s.stack = smap[s.stack];
        s.thread = tmap[s.thread];
        s.series = sermap[s.series];
        if (profile_add_sample(dst, &s, err) < 0)
            goto done;
    }
    ProfileInfo *di = profile_info(dst);
    const ProfileInfo *si = profile_info_c(src);
    di->duration_ns += si->duration_ns;
    di->dropped += si->dropped;
    rc = 0;
done:
    free(fmap);
    free(smap);
    free(tmap);
    free(pmap);
    return rc;
}
