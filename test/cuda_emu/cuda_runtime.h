/*
 * test/cuda_emu/cuda_runtime.h -- a CPU stand-in for the part of CUDA this
 * project uses, so that the kernels of 03_model_gpu.cuh run, and are tested, on a
 * machine without a GPU. `make` builds build/emu/ with it (test_parity, the
 * trainers, 06_eval and bench, their GPU path running here):
 * g++ compiles the CUDA sources with this directory in front of the include
 * path, after sed has turned each launch `kernel<<<grid, block>>>(args)` into
 * `emu_launch("kernel", kernel, grid, block)(args)` (the Makefile's rule).
 *
 * It is not a GPU. It runs a kernel's blocks one after another (in a random
 * order), and the
 * threads of a block as coroutines (ucontext) on one core: a thread runs until
 * it reaches a barrier or ends, then the next one runs. What that checks:
 *   - the kernels' logic (indexing, reductions, masks) against the CPU layers,
 *     which is what test_parity compares;
 *   - barriers. __syncthreads() waits for every thread of the block that has
 *     not returned; __syncwarp() and the shuffles for the live lanes of their
 *     warp. Threads that wait at different barriers stop the program with a
 *     message (on a GPU: a hang or garbage);
 *   - missing barriers, often: warps run in a random order, each as far as it
 *     can before the next starts, and the lanes of a warp in a random order
 *     (emu_run_block), so a thread that reads what another writes without a
 *     barrier in between gets the wrong value in some launches;
 *   - device memory. Each cudaMalloc gets pages of its own that end at a guard
 *     page, and the pages are readable only while a kernel, a copy or cuBLAS
 *     runs. So a kernel writing past the end of a buffer, or host code
 *     dereferencing a device pointer, stops the program with the kernel's name;
 *     a kernel argument that is a host pointer is refused at the launch; new
 *     device memory reads as NaN (all bits set), so an element nobody wrote
 *     shows up;
 *   - launches: a grid of 0 blocks or a block of over 1024 threads (a GPU
 *     skips such a launch without a word unless the program asks);
 *   - races between blocks, with EMU_RACECHECK=1 (emu_race_check): every
 *     launch runs twice from the same memory, its blocks in one order and then
 *     in the reverse order, each block's own threads in the same order both
 *     times. A kernel whose blocks never read what another block writes, nor
 *     write where another writes, leaves the same bytes both times; where they
 *     differ, the emulator names the kernel, the buffer, the element and the
 *     blocks that write it. (Twice the time: test_parity_emu.sh turns it on.)
 * What it cannot check: races between blocks that write the same value (the
 * two orders then agree), the GPU's own rounding (its expf; the TF32 and bf16 products are rounded to
 * nearest here, which the tensor cores may do otherwise), code that relies on
 * lanes running in lockstep without __syncwarp, and anything about speed. A
 * kernel that passes here has the right logic; only a GPU shows it also runs
 * right there.
 */
#ifndef CUDA_EMU_RUNTIME_H
#define CUDA_EMU_RUNTIME_H

#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <setjmp.h>
#include <ucontext.h>
#include <unistd.h>

#include <functional>
#include <map>
#include <type_traits>
#include <vector>

#define CUDA_EMULATOR 1 /* test_parity prints that it ran here, not on a GPU */

/* ---- the language: qualifiers and the thread's coordinates ---- */
#define __global__
#define __device__
#define __host__
/* One copy per block: blocks run one at a time, so a static is the block's
 * own. Every kernel's shared variables sit together in one section of the
 * program, emu_shared, which the linker marks with __start_emu_shared and
 * __stop_emu_shared; the emulator fills it with NaN before each block
 * (emu_reset_shared), so a block never sees what the block before it left
 * there, and a read of an element nobody wrote shows up, as on the GPU. */
#define __shared__ static __attribute__((section("emu_shared")))
extern char __start_emu_shared[] __attribute__((weak)), __stop_emu_shared[] __attribute__((weak));
static inline void emu_reset_shared(void) {
    if (__start_emu_shared) memset(__start_emu_shared, 0xff, (size_t)(__stop_emu_shared - __start_emu_shared));
}

struct uint3 { unsigned x, y, z; };
struct dim3 {
    unsigned x, y, z;
    dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
};
/* set by the scheduler before it resumes a thread */
static uint3 threadIdx, blockIdx;
static dim3 blockDim, gridDim;

/* ---- errors ---- */
typedef enum {
    cudaSuccess = 0,
    cudaErrorInvalidValue = 1,
    cudaErrorMemoryAllocation = 2,
    cudaErrorInvalidConfiguration = 9,
    cudaErrorInvalidDevicePointer = 17,
} cudaError_t;
typedef enum {
    cudaMemcpyHostToHost = 0,
    cudaMemcpyHostToDevice = 1,
    cudaMemcpyDeviceToHost = 2,
    cudaMemcpyDeviceToDevice = 3,
    cudaMemcpyDefault = 4,
} cudaMemcpyKind;

static inline const char *cudaGetErrorString(cudaError_t e) {
    switch (e) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidValue: return "invalid argument (emulator)";
    case cudaErrorMemoryAllocation: return "out of memory (emulator)";
    case cudaErrorInvalidConfiguration: return "invalid configuration argument (emulator)";
    case cudaErrorInvalidDevicePointer: return "invalid device pointer (emulator)";
    }
    return "unknown error (emulator)";
}

/* A bug the emulator found: say what, and stop (exit status 3). */
[[noreturn]] static void emu_fail(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "CUDA emulator: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    fflush(stderr);
    _exit(3);
}

/* ------------------------------------------------------------------------ */
/* device memory                                                             */
/* ------------------------------------------------------------------------ */
/* One allocation: `pages` (a multiple of the page size, then one guard page
 * that is never readable); the buffer sits at their end, so its last byte is
 * the last byte before the guard page. */
struct EmuAllocation {
    char *pages;
    size_t page_bytes; /* without the guard page */
    char *start;
    size_t bytes;
};
static std::vector<EmuAllocation> emu_allocations;
static int emu_device_open = 0;  /* >0: device pages readable (a kernel, copy or cuBLAS runs) */
static const char *emu_kernel = NULL; /* the kernel running, for the messages */

static inline size_t emu_page_size(void) { return (size_t)sysconf(_SC_PAGESIZE); }

/* the allocation that holds [p, p + n), or NULL */
static inline const EmuAllocation *emu_find(const void *p, size_t n) {
    const char *c = (const char *)p;
    for (const EmuAllocation &a : emu_allocations)
        if (c >= a.start && c + n <= a.start + a.bytes) return &a;
    return NULL;
}

/* device pages readable (open) or not (closed): kernels, copies and cuBLAS
 * open them for as long as they run, host code finds them closed */
static inline void emu_set_device_access(int open) {
    emu_device_open += open ? 1 : -1;
    if (emu_device_open > 1 || (emu_device_open == 1 && !open)) return; /* nested */
    for (const EmuAllocation &a : emu_allocations)
        if (mprotect(a.pages, a.page_bytes, emu_device_open ? PROT_READ | PROT_WRITE : PROT_NONE))
            emu_fail("mprotect failed");
}

/* A segmentation fault: say whose and where, when it touched device pages. */
static void emu_on_segfault(int sig, siginfo_t *info, void *context) {
    (void)context;
    const char *addr = (const char *)info->si_addr;
    for (const EmuAllocation &a : emu_allocations) {
        if (addr < a.pages || addr >= a.pages + a.page_bytes + emu_page_size()) continue;
        if (addr >= a.pages + a.page_bytes)
            emu_fail("%s%s touched byte %zu of a %zu-byte device buffer, past its end",
                     emu_kernel ? "kernel " : "host code", emu_kernel ? emu_kernel : "",
                     (size_t)(addr - a.start), a.bytes);
        if (!emu_device_open)
            emu_fail("host code read or wrote device memory (byte %zd of a %zu-byte buffer): "
                     "a device pointer dereferenced on the host", (ssize_t)(addr - a.start), a.bytes);
    }
    if (emu_kernel) emu_fail("kernel %s touched address %p, which is not device memory", emu_kernel, info->si_addr);
    signal(sig, SIG_DFL); /* not ours: the usual crash */
}

static inline void emu_install_segfault_handler(void) {
    static int installed = 0;
    if (installed) return;
    installed = 1;
    static char alt_stack[1 << 16]; /* the handler must run even if a stack overflowed */
    stack_t ss;
    memset(&ss, 0, sizeof ss);
    ss.ss_sp = alt_stack;
    ss.ss_size = sizeof alt_stack;
    sigaltstack(&ss, NULL);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = emu_on_segfault;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigaction(SIGSEGV, &sa, NULL);
}

static inline cudaError_t cudaMalloc(void **p, size_t bytes) {
    emu_install_segfault_handler();
    size_t page = emu_page_size(), rounded = (bytes + 3) / 4 * 4;
    size_t page_bytes = (rounded + page - 1) / page * page;
    if (page_bytes == 0) page_bytes = page;
    char *pages = (char *)mmap(NULL, page_bytes + page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (pages == MAP_FAILED) return cudaErrorMemoryAllocation;
    EmuAllocation a = {pages, page_bytes, pages + page_bytes - rounded, bytes};
    emu_allocations.push_back(a);
    mprotect(pages, page_bytes, PROT_READ | PROT_WRITE);
    memset(pages, 0xff, page_bytes); /* as a float: NaN; as an int: -1 */
    if (!emu_device_open) mprotect(pages, page_bytes, PROT_NONE);
    *p = a.start;
    return cudaSuccess;
}

/* as in CUDA's own header: cudaMalloc(&float_pointer, bytes) without a cast */
template <class T> static inline cudaError_t cudaMalloc(T **p, size_t bytes) { return cudaMalloc((void **)p, bytes); }

static inline cudaError_t cudaFree(void *p) {
    if (!p) return cudaSuccess;
    for (size_t k = 0; k < emu_allocations.size(); k++) {
        if (emu_allocations[k].start != (char *)p) continue;
        munmap(emu_allocations[k].pages, emu_allocations[k].page_bytes + emu_page_size());
        emu_allocations.erase(emu_allocations.begin() + (long)k);
        return cudaSuccess;
    }
    return cudaErrorInvalidDevicePointer; /* not the start of a live allocation */
}

static inline cudaError_t cudaMemset(void *p, int value, size_t bytes) {
    if (bytes == 0) return cudaSuccess;
    if (!emu_find(p, bytes)) return cudaErrorInvalidValue;
    emu_set_device_access(1);
    memset(p, value, bytes);
    emu_set_device_access(0);
    return cudaSuccess;
}

/* The direction must match where the pointers point, and a copy must stay
 * inside one allocation: cudaMemcpy on a GPU checks less, and a wrong one
 * corrupts memory or fails later. */
static inline cudaError_t cudaMemcpy(void *dst, const void *src, size_t bytes, cudaMemcpyKind kind) {
    if (bytes == 0) return cudaSuccess;
    int dst_dev = emu_find(dst, bytes) != NULL, src_dev = emu_find(src, bytes) != NULL;
    int want_dst = kind == cudaMemcpyHostToDevice || kind == cudaMemcpyDeviceToDevice;
    int want_src = kind == cudaMemcpyDeviceToHost || kind == cudaMemcpyDeviceToDevice;
    if (kind != cudaMemcpyDefault && (dst_dev != want_dst || src_dev != want_src))
        emu_fail("cudaMemcpy of %zu bytes, kind %d: the destination is %s memory and the source %s memory "
                 "(or a range runs past its buffer)", bytes, (int)kind, dst_dev ? "device" : "host",
                 src_dev ? "device" : "host");
    emu_set_device_access(1);
    memcpy(dst, src, bytes);
    emu_set_device_access(0);
    return cudaSuccess;
}

/* ---- the device: one, which is this CPU ---- */
struct cudaDeviceProp {
    char name[256];
    int multiProcessorCount;
    int major, minor;
};
static inline cudaError_t cudaGetDeviceCount(int *n) { *n = 1; return cudaSuccess; }
static inline cudaError_t cudaSetDevice(int d) { return d == 0 ? cudaSuccess : cudaErrorInvalidValue; }
static inline cudaError_t cudaDeviceSynchronize(void) { return cudaSuccess; } /* launches run to completion */
static cudaError_t emu_last_error = cudaSuccess;
static inline cudaError_t cudaGetLastError(void) {
    cudaError_t e = emu_last_error;
    emu_last_error = cudaSuccess;
    return e;
}
static inline cudaError_t cudaGetDeviceProperties(cudaDeviceProp *prop, int device) {
    memset(prop, 0, sizeof *prop);
    snprintf(prop->name, sizeof prop->name, "CUDA emulator on the CPU (test/cuda_emu, not a GPU)");
    prop->multiProcessorCount = 1;
    return device == 0 ? cudaSuccess : cudaErrorInvalidValue;
}

/* ------------------------------------------------------------------------ */
/* running a kernel: blocks in turn, a block's threads as coroutines         */
/* ------------------------------------------------------------------------ */
enum { EMU_RUNNABLE, EMU_AT_WARP_BARRIER, EMU_AT_BLOCK_BARRIER, EMU_DONE };
static const char *const EMU_STATE_NAMES[] = {"running", "__syncwarp/shuffle", "__syncthreads", "returned"};
#define EMU_WARP 32
#define EMU_STACK_BYTES (256 * 1024)

struct EmuThread {
    ucontext_t context; /* where it starts (makecontext) */
    jmp_buf resume;     /* where it waits (_setjmp), once it has started */
    char *stack;
    int state, started;
    int shuffles; /* how many this thread has done: its mailbox is emu_mailbox[shuffles % 2] */
};
static std::vector<EmuThread> emu_threads; /* the block's threads (stacks kept between blocks) */
static jmp_buf emu_scheduler;              /* where a thread returns to when it waits or ends */
static int emu_current;                    /* the thread running now */
static std::function<void()> emu_body;     /* the kernel with its arguments */
static float emu_mailbox[2][1024];         /* shuffles' values, one per thread; two, used in turn */
static uint64_t emu_rng;                   /* the shuffled orders (emu_shuffle) */
static uint64_t emu_launch_count = 0;      /* launches so far: each launch's orders come from its number */

/* a well-mixed 64-bit number from n (splitmix64's finalizer): the seeds */
static inline uint64_t emu_mix(uint64_t n) {
    n += 0x9e3779b97f4a7c15ull;
    n = (n ^ (n >> 30)) * 0xbf58476d1ce4e5b9ull;
    n = (n ^ (n >> 27)) * 0x94d049bb133111ebull;
    return n ^ (n >> 31);
}

/* Coroutines cost two context switches a thread; a kernel that never waits
 * at a barrier does not need them. So the first launch of each kernel runs
 * with coroutines and notes whether any thread waited; later launches of a
 * kernel that never did run its threads as plain calls, one after another
 * (a valid schedule when threads never wait for each other). If such a
 * kernel then reaches a barrier after all, the emulator stops and says so. */
static std::map<const void *, int> emu_kernel_waited; /* kernel -> whether a thread ever waited */
static int emu_plain_calls = 0;                       /* this launch runs threads as plain calls */
static int emu_waited = 0;                            /* a thread of this launch waited */

/* thread t of the block runs now: its coordinates */
static inline void emu_set_current(int t) {
    emu_current = t;
    threadIdx.x = t % blockDim.x;
    threadIdx.y = t / blockDim.x % blockDim.y;
    threadIdx.z = t / (blockDim.x * blockDim.y);
}

static void emu_thread_main(void) {
    emu_body();
    emu_threads[emu_current].state = EMU_DONE;
    _longjmp(emu_scheduler, 1); /* its stack is abandoned */
}

/* Switching threads. makecontext gives each thread its own stack and a start
 * (emu_thread_main); after that a switch is _setjmp (save where I am) and
 * _longjmp (go where another saved itself), which costs a few dozen
 * instructions, where swapcontext also saves and restores the signal mask
 * with a system call at every switch. Jumping between stacks is what glibc's
 * fortified longjmp refuses, hence -U_FORTIFY_SOURCE in the Makefile. */

/* switch from the scheduler to thread t, until it waits or ends */
__attribute__((noinline)) static void emu_resume(int t) { /* noinline: _setjmp in a function of its own */
    EmuThread *th = &emu_threads[t];
    emu_set_current(t);
    if (_setjmp(emu_scheduler)) return; /* back from the thread */
    if (!th->started) {
        th->started = 1;
        setcontext(&th->context); /* the first time: start on its own stack */
    }
    _longjmp(th->resume, 1);
}

/* the running thread waits at a barrier; returns when the barrier opens */
static inline void emu_wait(int barrier) {
    if (emu_plain_calls)
        emu_fail("kernel %s reached a barrier in this launch and none in its first, so this launch runs "
                 "without coroutines; set EMU_ALWAYS_COROUTINES=1", emu_kernel);
    emu_waited = 1;
    emu_threads[emu_current].state = barrier;
    if (!_setjmp(emu_threads[emu_current].resume)) _longjmp(emu_scheduler, 1);
}

/* a barrier opens when every thread of its group that has not returned waits at it */
static inline int emu_release(int first, int count, int barrier) {
    int waiting = 0, live = 0;
    for (int t = first; t < first + count; t++) {
        if (emu_threads[t].state == EMU_DONE) continue;
        live++;
        waiting += emu_threads[t].state == barrier;
    }
    if (live == 0 || waiting != live) return 0;
    for (int t = first; t < first + count; t++)
        if (emu_threads[t].state == barrier) emu_threads[t].state = EMU_RUNNABLE;
    return 1;
}

/* a random order of 0..n-1 (fixed seeds, so a program's runs repeat) */
static inline void emu_shuffle(std::vector<int> &order, int n) {
    for (int k = n - 1; k > 0; k--) {
        emu_rng = emu_rng * 6364136223846793005ull + 1442695040888963407ull;
        int j = (int)((emu_rng >> 33) % (uint64_t)(k + 1));
        int tmp = order[k]; order[k] = order[j]; order[j] = tmp;
    }
}

/* Run the threads of one block. The order is one a GPU may choose too (its
 * warps run independently, and since Volta so do the lanes of a warp), picked
 * to expose a missing barrier: the warps go in a random order, each as far as
 * it can (until its threads wait at __syncthreads or return) before the next
 * starts; within a warp the lanes run in a random order, each until it waits
 * at a warp barrier. So a warp that writes what another reads without a
 * __syncthreads in between, or a lane that reads another's value without a
 * __syncwarp, gets the wrong value in some launches. */
/* a thread ready to start at emu_thread_main on its own stack (noinline:
 * getcontext, like _setjmp, is best kept in a function of its own) */
__attribute__((noinline)) static void emu_thread_init(EmuThread *th) {
    if (!th->stack) th->stack = (char *)malloc(EMU_STACK_BYTES);
    getcontext(&th->context);
    th->context.uc_stack.ss_sp = th->stack;
    th->context.uc_stack.ss_size = EMU_STACK_BYTES;
    th->context.uc_link = NULL; /* never returns: it jumps back to the scheduler */
    makecontext(&th->context, emu_thread_main, 0);
    th->state = EMU_RUNNABLE;
    th->started = 0;
    th->shuffles = 0;
}

static inline void emu_run_block(int n_threads) {
    emu_reset_shared();
    if ((int)emu_threads.size() < n_threads) emu_threads.resize(n_threads);
    for (int t = 0; t < n_threads; t++) emu_thread_init(&emu_threads[t]);
    int n_warps = (n_threads + EMU_WARP - 1) / EMU_WARP;
    std::vector<int> warps(n_warps), lanes(EMU_WARP);
    for (;;) {
        for (int w = 0; w < n_warps; w++) warps[w] = w;
        emu_shuffle(warps, n_warps);
        for (int k = 0; k < n_warps; k++) {
            int first = warps[k] * EMU_WARP;
            int count = n_threads - first < EMU_WARP ? n_threads - first : EMU_WARP;
            do { /* run the warp's runnable lanes, in a random order, until each waits or returns */
                int n = 0;
                for (int t = first; t < first + count; t++)
                    if (emu_threads[t].state == EMU_RUNNABLE) lanes[n++] = t;
                emu_shuffle(lanes, n);
                for (int j = 0; j < n; j++) emu_resume(lanes[j]);
            } while (emu_release(first, count, EMU_AT_WARP_BARRIER)); /* all lanes there: go on */
        }
        int done = 1;
        for (int t = 0; t < n_threads; t++) done &= emu_threads[t].state == EMU_DONE;
        if (done) return;
        if (emu_release(0, n_threads, EMU_AT_BLOCK_BARRIER)) continue;
        /* nobody can run and no barrier opens: threads wait at different ones */
        char states[256] = "";
        for (int t = 0; t < n_threads && strlen(states) < 200; t++)
            if (emu_threads[t].state != EMU_DONE)
                snprintf(states + strlen(states), sizeof states - strlen(states), " thread %d at %s;", t,
                         EMU_STATE_NAMES[emu_threads[t].state]);
        emu_fail("kernel %s, block %u: its threads wait at different barriers, which never open "
                 "(a hang on a GPU):%s", emu_kernel, blockIdx.x, states);
    }
}

/* a kernel that never waits: its threads one after another, as plain calls */
static inline void emu_run_block_plain(int n_threads) {
    emu_reset_shared();
    for (int t = 0; t < n_threads; t++) {
        emu_set_current(t);
        emu_body();
    }
}

/* ---- the barriers and warp operations a kernel calls ---- */
static inline void __syncthreads(void) { emu_wait(EMU_AT_BLOCK_BARRIER); }

static inline void emu_check_full_warp(const char *what, unsigned mask) {
    if (emu_plain_calls) emu_wait(EMU_AT_WARP_BARRIER); /* stops with the message above */
    if (mask != 0xffffffffu) emu_fail("kernel %s: %s with mask %#x (only full warps are emulated)", emu_kernel, what, mask);
    int first = emu_current / EMU_WARP * EMU_WARP;
    if (first + EMU_WARP > (int)(blockDim.x * blockDim.y * blockDim.z))
        emu_fail("kernel %s: %s in a warp of fewer than 32 threads (the block size is not a multiple of 32)",
                 emu_kernel, what);
    for (int t = first; t < first + EMU_WARP; t++)
        if (emu_threads[t].state == EMU_DONE)
            emu_fail("kernel %s, block %u: %s with the full mask while lane %d of the warp has returned "
                     "(undefined on a GPU)", emu_kernel, blockIdx.x, what, t - first);
}

static inline void __syncwarp(unsigned mask = 0xffffffffu) {
    emu_check_full_warp("__syncwarp", mask);
    emu_wait(EMU_AT_WARP_BARRIER);
}

/* Every lane posts its value, the warp meets, each reads its partner's
 * (lane ^ lane_mask). Consecutive shuffles use the two mailboxes in turn: a
 * lane can post its next value while a slower lane still reads this one, and
 * cannot post the one after before every lane has reached the next meeting,
 * that is, has read. */
static inline float __shfl_xor_sync(unsigned mask, float v, int lane_mask) {
    emu_check_full_warp("__shfl_xor_sync", mask);
    int me = emu_current, partner = me / EMU_WARP * EMU_WARP + ((me % EMU_WARP) ^ (lane_mask & (EMU_WARP - 1)));
    float *mailbox = emu_mailbox[emu_threads[me].shuffles++ % 2];
    mailbox[me] = v;
    emu_wait(EMU_AT_WARP_BARRIER);
    return mailbox[partner];
}

/* ---- the launch: emu_launch("name", kernel, grid, block)(args...) ---- */
/* A kernel argument that is a pointer must point into device memory (or be
 * NULL); so must the two pointers of the Rows struct of 03_model.cu. */
static inline void emu_check_pointer(const char *kernel, int k, const void *p, const char *what) {
    if (p && !emu_find(p, 1))
        emu_fail("kernel %s: argument %d%s is a host pointer (%p); a kernel can only read device memory",
                 kernel, k, what, p);
}
template <class Arg> static void emu_check_argument(const char *kernel, int k, const Arg &a) {
    if constexpr (std::is_pointer_v<Arg>) emu_check_pointer(kernel, k, (const void *)a, "");
    if constexpr (requires { a.pos; a.seq_first; }) { /* Rows */
        emu_check_pointer(kernel, k, a.pos, " (.pos)");
        emu_check_pointer(kernel, k, a.seq_first, " (.seq_first)");
    }
}

/* ---- the race check between blocks (EMU_RACECHECK=1) ---- */
/* Every allocation's bytes: as they were before the launch (to put them back),
 * and as the first order left them (to compare with the second). */
static std::vector<std::vector<char>> emu_saved, emu_first_order;
static inline void emu_save_memory(std::vector<std::vector<char>> &saved) {
    saved.resize(emu_allocations.size());
    for (size_t k = 0; k < emu_allocations.size(); k++)
        saved[k].assign(emu_allocations[k].start, emu_allocations[k].start + emu_allocations[k].bytes);
}
static inline void emu_restore_memory(const std::vector<std::vector<char>> &saved) {
    for (size_t k = 0; k < emu_allocations.size(); k++)
        memcpy(emu_allocations[k].start, saved[k].data(), emu_allocations[k].bytes);
}
/* the first byte where memory differs from `saved`: its allocation and offset; 0 if none */
static inline int emu_first_difference(const std::vector<std::vector<char>> &saved, size_t *alloc, size_t *byte) {
    for (size_t k = 0; k < emu_allocations.size(); k++) {
        if (!memcmp(emu_allocations[k].start, saved[k].data(), emu_allocations[k].bytes)) continue;
        size_t b = 0;
        while (emu_allocations[k].start[b] == saved[k][b]) b++;
        *alloc = k;
        *byte = b;
        return 1;
    }
    return 0;
}

template <class... Params> struct EmuLaunch {
    const char *name;
    void (*kernel)(Params...);
    dim3 grid, block;

    template <class... Args> void operator()(Args... args) {
        int k = 0;
        (emu_check_argument(name, k++, args), ...);
        unsigned threads = block.x * block.y * block.z;
        if (threads == 0 || threads > 1024 || grid.x == 0 || grid.y == 0 || grid.z == 0 || grid.y > 65535 ||
            grid.z > 65535)
            emu_fail("kernel %s launched with grid (%u, %u, %u) and block (%u, %u, %u): an invalid configuration "
                     "(on a GPU the launch fails and nothing runs)", name, grid.x, grid.y, grid.z, block.x, block.y,
                     block.z);
        emu_body = [&]() { kernel(args...); };
        emu_kernel = name;
        gridDim = grid;
        blockDim = block;
        std::map<const void *, int>::iterator seen = emu_kernel_waited.find((const void *)kernel);
        emu_plain_calls = seen != emu_kernel_waited.end() && !seen->second && !getenv("EMU_ALWAYS_COROUTINES");
        emu_waited = 0;
        /* the blocks in a random order: a GPU runs them in any order, or at once */
        seed = emu_mix(emu_launch_count++);
        int n_blocks = (int)(grid.x * grid.y * grid.z);
        std::vector<int> blocks(n_blocks);
        for (int b = 0; b < n_blocks; b++) blocks[b] = b;
        emu_rng = seed;
        emu_shuffle(blocks, n_blocks);
        emu_set_device_access(1);
        if (getenv("EMU_RACECHECK")) emu_race_check(blocks);
        else run_blocks(blocks);
        emu_set_device_access(0);
        emu_kernel_waited[(const void *)kernel] |= emu_waited;
        emu_kernel = NULL;
    }

    uint64_t seed = 0; /* this launch's: block b's threads run in an order drawn from seed and b */

    /* run these blocks, one after another, in this order */
    void run_blocks(const std::vector<int> &blocks) {
        unsigned threads = block.x * block.y * block.z;
        for (int b : blocks) {
            blockIdx.x = (unsigned)b % grid.x;
            blockIdx.y = (unsigned)b / grid.x % grid.y;
            blockIdx.z = (unsigned)b / (grid.x * grid.y);
            emu_rng = emu_mix(seed ^ emu_mix((uint64_t)b + 1)); /* the same for the block in either order */
            if (emu_plain_calls) emu_run_block_plain((int)threads);
            else emu_run_block((int)threads);
        }
    }

    /* Run the blocks in their order, then again from the same memory in the
     * reverse order: each pair of blocks meets in both orders, so a block that
     * reads what another writes, or writes where another writes, leaves other
     * bytes the second time (unless the values happen to agree). */
    void emu_race_check(const std::vector<int> &blocks) {
        emu_save_memory(emu_saved);
        run_blocks(blocks);
        emu_save_memory(emu_first_order);
        emu_restore_memory(emu_saved);
        std::vector<int> reversed(blocks.rbegin(), blocks.rend());
        run_blocks(reversed);
        size_t alloc, byte;
        if (!emu_first_difference(emu_first_order, &alloc, &byte)) return;
        /* a race. The element, as a float, after each order; then which blocks
         * write it, each run alone from the memory before the launch */
        size_t element = byte / 4; /* every buffer here holds 4-byte floats or ints */
        float in_order, reversed_order;
        memcpy(&in_order, emu_first_order[alloc].data() + element * 4, 4);
        memcpy(&reversed_order, emu_allocations[alloc].start + element * 4, 4);
        char writers[160] = "";
        int n_writers = 0;
        for (int b = 0; b < (int)blocks.size() && n_writers < 4; b++) {
            emu_restore_memory(emu_saved);
            run_blocks(std::vector<int>(1, b));
            if (!memcmp(emu_allocations[alloc].start + element * 4, emu_saved[alloc].data() + element * 4, 4)) continue;
            snprintf(writers + strlen(writers), sizeof writers - strlen(writers), "%s%d", n_writers ? ", " : "", b);
            n_writers++;
        }
        const char *why = n_writers > 1  ? "two blocks write the same place"
                          : n_writers == 1 ? "what that block writes depends on whether other blocks ran first: "
                                             "it reads what another block writes"
                                           : "what the blocks write there depends on the order they run in";
        emu_fail("kernel %s: a race between blocks. Its %d blocks, run in one order and then in the reverse "
                 "order from the same memory, leave different values in element %zu of a %zu-byte device "
                 "buffer (%.9g, then %.9g). Blocks that write it, each run alone: %s. So %s",
                 emu_kernel, (int)blocks.size(), element, emu_allocations[alloc].bytes, in_order, reversed_order,
                 n_writers ? writers : "none", why);
    }
};

template <class... Params>
static EmuLaunch<Params...> emu_launch(const char *name, void (*kernel)(Params...), dim3 grid, dim3 block,
                                       size_t shared_bytes = 0) {
    if (shared_bytes) emu_fail("kernel %s: dynamic shared memory is not emulated", name);
    return EmuLaunch<Params...>{name, kernel, grid, block};
}

#endif /* CUDA_EMU_RUNTIME_H */
