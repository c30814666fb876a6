/* SPDX-License-Identifier: MIT */
/* proc.h: processes around a profile: starting a command (and knowing whether its exec
 * worked), telling whether a command is a Python program before running it, finding child
 * processes, per-thread scheduler state, and freezing a process with ptrace for --blocking.
 * Signals are cli/'s business; nothing here installs a handler. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/err.h"

/* Finds argv0 on path_env (a PATH value, as execvp would) and decides whether it runs
 * CPython: an ELF with _PyRuntime / Py_BytesMain or linking libpython3, or a script whose #!
 * line names such an interpreter (through /usr/bin/env too). Returns 0 for Python, 1 for a
 * shell script that may exec Python (pyenv shims, wrappers: known only once it runs), -1
 * with ERR_USAGE when it cannot be found or run, ERR_NOTPY when it is not Python. */
int proc_check_python(const char *argv0, const char *path_env, Err *err);
/* The same for a whole command, which may also be a wrapper that is not Python but runs a
 * command given among its arguments (env FOO=1 python3 ..., nice -n 5 ..., timeout 60 ...):
 * 1 when the first argument past its options and settings that names an executable is a
 * Python program, a script that may run one or such a wrapper again (four deep at most); that
 * command's error when it is not. */
int proc_check_command(char *const argv[], const char *path_env, Err *err);
/* Starts argv[0] with argv, returning once the exec has happened (or failed: the message
 * carries exec's errno). The child is in ferret's process group. */
int proc_spawn(char *const argv[], pid_t *pid, Err *err);
/* The exit status a shell would report for a waitpid status: the code, or 128+N after
 * signal N. */
int proc_exit_code(int wstatus);
/* Children of pid (all its threads' children), at most max. Returns the count (0 if none or
 * the process is gone). */
size_t proc_children(pid_t pid, pid_t *out, size_t max);
/* The threads (kernel tids) of pid, at most max; 0 if it is gone. */
size_t proc_tasks(pid_t pid, pid_t *out, size_t max);
/* Does pid exist and still run (not a zombie)? */
bool proc_alive(pid_t pid);
/* A live task of process pid (pid itself while its main thread lives), or 0 when none is. */
pid_t proc_live_task(pid_t pid);
/* The task through which a process's memory and mm-backed /proc files (maps, exe, root,
 * map_files, cmdline) can be read: pid itself, or, when its main thread has exited while
 * others run on (a zombie leader, to which the kernel gives no memory), a live thread. */
pid_t proc_mm_pid(pid_t pid);
/* Command line of pid with spaces between arguments (NUL-terminated, cut to cap). */
void proc_cmdline(pid_t pid, char *out, size_t cap);
/* Where the process's main stack starts (stat's startstack), or 0 if unknown: set anew, at a
 * random place, by every exec, even of the same executable. */
uint64_t proc_stack_start(pid_t pid);
/* A task's id as its own pid namespace sees it (the last NSpid of its status): what the
 * program itself, and so CPython's native_thread_id and glibc's tid, hold. Equal to tid
 * outside containers; 0 if unknown. */
pid_t proc_ns_tid(pid_t pid, pid_t tid);
/* Whether pid lives in another pid namespace than ferret (a container seen from its host). */
bool proc_other_pid_ns(pid_t pid);
/* Kernel name of a thread (/proc/PID/task/TID/comm). */
void proc_thread_comm(pid_t pid, pid_t tid, char *out, size_t cap);

/* A thread's scheduler state, read through files kept open. */
typedef struct {
    int fd;        /* /proc/PID/task/TID/stat, or -1 */
    int sched_fd;  /* /proc/PID/task/TID/schedstat, or -1 (kernels without it) */
    int last;      /* last state read from stat: 1 running, 0 not, -1 unknown */
    /* schedstat as of that read: time on a CPU (ns) and times scheduled in */
    uint64_t last_run_ns, last_switches;
    uint32_t reads;         /* how many times last was set: a reading's number */
    bool dead;              /* exited (zombie, or reaped) at the last read of stat */
    /* schedstat as proc_thread_must_walk read it at the caller's moment seen_at (0: none),
     * for proc_thread_running at the same moment */
    uint64_t seen_run_ns, seen_switches, seen_at;
    bool seen_known;
    uint32_t sched_reads; /* schedstat reads made */
} ThreadStat;
int proc_thread_stat_open(ThreadStat *s, pid_t pid, pid_t tid);
/* 1 if the thread is running or runnable (state R), 0 if it sleeps or waits, -1 if gone.
 * A thread that was asleep at the last call and has neither been scheduled in nor used any
 * CPU time since (schedstat, cheap to read) is still asleep: only then is the costly stat
 * file skipped. Both counts, because stat can say S of a thread still on its CPU: one that
 * marked itself asleep and is woken before it switches out runs on without being scheduled
 * in again, and only its CPU time shows it (at its next tick or switch). moment (nonzero) is
 * the caller's sampling moment: when the schedstat reading proc_thread_must_walk made at the
 * same moment says the thread is still asleep, it is not read again; 0 always reads. */
int proc_thread_running(ThreadStat *s, uint64_t moment);
/* True when the thread was asleep at the last proc_thread_running and has not run since (one
 * cheap read, as above, made only when it was asleep then): it cannot have changed anything,
 * its Python stack included. */
bool proc_thread_still_asleep(ThreadStat *s);
/* The thread was seen to execute since its state was last read (its stack changed): what the
 * kernel said then no longer holds (see proc_thread_running). */
void proc_thread_ran(ThreadStat *s);
/* Whether the thread's Python stack must be read at this sample; false only when it has been
 * asleep since the last reading of its state and its stack was read once after that reading
 * (*walked_at, the caller's, says which reading that was). The stack is read before the state,
 * and a thread can run on between the two and fall asleep further on, so only a stack read
 * after the reading is the one it sleeps in. The schedstat reading it makes is kept for
 * proc_thread_running at the same (nonzero) moment. */
bool proc_thread_must_walk(ThreadStat *s, uint32_t *walked_at, uint64_t moment);
/* Reads stat again and says whether the thread has exited (a zombie, or reaped) although a
 * Python thread state may still name it: a main thread that called pthread_exit leaves its
 * state behind. proc_thread_running's reads keep s->dead up to date too. */
bool proc_thread_dead(ThreadStat *s);
void proc_thread_stat_close(ThreadStat *s);

/* Freezing every thread of a process with ptrace (PTRACE_SEIZE once, PTRACE_INTERRUPT per
 * sample), so a sample sees a consistent stack. Signals that arrive while frozen are
 * delivered on resume. */
typedef struct {
    pid_t pid;
    bool leader_reaped; /* waitpid returned the process's own exit: leader_status has it */
    int leader_status;
    pid_t *tids;
    int *pending_sig; /* signal to deliver on resume, per tid */
    size_t n, cap;
} Freeze;
int freeze_init(Freeze *f, pid_t pid, Err *err);
/* Stops every thread (seizing threads created since the last call). */
int freeze_stop(Freeze *f, Err *err);
void freeze_resume(Freeze *f);
void freeze_fini(Freeze *f); /* detaches */
