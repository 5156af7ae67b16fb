// LD_PRELOAD malloc counter for bench/tools/mallocs_per_request.sh: counts calls and bytes;
// SIGUSR2 prints "MCOUNT calls bytes" to stderr.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <unistd.h>
static atomic_long n_malloc, n_bytes;
extern void* __libc_malloc(size_t);
void* malloc(size_t s){ atomic_fetch_add_explicit(&n_malloc,1,memory_order_relaxed); atomic_fetch_add_explicit(&n_bytes,s,memory_order_relaxed); return __libc_malloc(s);} 
static void dump(int sig){ char b[128]; int l=snprintf(b,sizeof b,"MCOUNT %ld %ld\n",atomic_load(&n_malloc),atomic_load(&n_bytes)); write(2,b,l);} 
__attribute__((constructor)) static void init(void){ signal(SIGUSR2,dump);} 
