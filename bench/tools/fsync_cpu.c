// CPU and wall time per fdatasync of N freshly written 4 KiB pages (what a commit costs this
// machine): bench/tools/fsync_cpu PAGES COMMITS. Writes and removes ./fsprobe.dat.
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
static double now(void){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec*1e-9;}
static double cpu(void){struct rusage r;getrusage(RUSAGE_SELF,&r);return r.ru_utime.tv_sec+r.ru_utime.tv_usec*1e-6+r.ru_stime.tv_sec+r.ru_stime.tv_usec*1e-6;}
int main(int argc,char**argv){
  int pages=argc>1?atoi(argv[1]):1; int n=argc>2?atoi(argv[2]):2000;
  int fd=open("fsprobe.dat",O_RDWR|O_CREAT|O_TRUNC,0600); char buf[4096]; memset(buf,'x',sizeof buf);
  off_t off=0; double t0=now(),c0=cpu();
  for(int i=0;i<n;i++){ for(int p=0;p<pages;p++){pwrite(fd,buf,4096,off);off+=4096;} fdatasync(fd);}  
  double t1=now(),c1=cpu();
  printf("pages/commit=%d commits=%d wall/commit=%.1fus cpu/commit=%.1fus cpu/page=%.2fus\n",pages,n,(t1-t0)*1e6/n,(c1-c0)*1e6/n,(c1-c0)*1e6/n/pages);
  close(fd); unlink("fsprobe.dat");}
