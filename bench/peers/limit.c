// The C limit: the same workloads as the Node peers, with nothing between the
// program and the kernel. Compiled by bench/run.mjs.
//   limit <W1|W2|W4> <blocking|epoll> '<arg>' [untimed]
//   (W1: file; W2: trips; W4: size; untimed: W2 with no clock read per trip,
//   for bench/instructions.mjs, which counts what the round trips cost)
// Prints one JSON line like the Node peers.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <signal.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define RAW "stty raw -echo cs8 -parenb"

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double cpu(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static int epfd = -1;

// Starts `sh -c "RAW; printf R; script"` on a new pty; returns the master.
static int start(const char* script, pid_t* pid, int nonblocking) {
  int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (m < 0 || grantpt(m) || unlockpt(m)) exit(2);
  char cmd[4096];
  snprintf(cmd, sizeof(cmd), "%s; printf R; %s", RAW, script);
  *pid = fork();
  if (*pid == 0) {
    int s = open(ptsname(m), O_RDWR | O_NOCTTY);
    dup2(s, 0), dup2(s, 1), dup2(s, 2);
    close(s);
    execl("/bin/sh", "sh", "-c", cmd, (char*)0);
    _exit(127);
  }
  if (nonblocking) {
    fcntl(m, F_SETFL, fcntl(m, F_GETFL) | O_NONBLOCK);
    epfd = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN | EPOLLET};
    epoll_ctl(epfd, EPOLL_CTL_ADD, m, &ev);
  }
  return m;
}

// read(2) for either mode: in epoll mode, waits for an edge on EAGAIN.
static ssize_t rd(int m, char* buf, size_t n, int nonblocking) {
  for (;;) {
    ssize_t r = read(m, buf, n);
    if (r >= 0 || errno == EINTR) {
      if (r >= 0) return r;
      continue;
    }
    if (nonblocking && errno == EAGAIN) {
      struct epoll_event ev;
      epoll_wait(epfd, &ev, 1, -1);
      continue;
    }
    return -1;  // EIO: the slave is gone.
  }
}

static void skip_ready(int m, int nb) {
  char c;
  while (rd(m, &c, 1, nb) == 1 && c != 'R') {
  }
}

int main(int argc, char** argv) {
  if (argc < 4) return 2;
  int nb = strcmp(argv[2], "epoll") == 0;
  static char buf[65536];
  pid_t pid;
  if (strcmp(argv[1], "W1") == 0) {
    char script[4096];
    snprintf(script, sizeof(script), "exec cat %s", argv[3]);
    double c0 = cpu(), t0 = now();
    int m = start(script, &pid, nb);
    skip_ready(m, nb);
    long long bytes = 0;
    const char* out = getenv("LIMIT_OUT");
    int fd = out ? open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600) : -1;
    for (ssize_t r; (r = rd(m, buf, sizeof(buf), nb)) > 0;) {
      bytes += r;
      if (fd >= 0 && write(fd, buf, r) != r) return 3;
    }
    waitpid(pid, 0, 0);
    printf("{\"bytes\":%lld,\"seconds\":%.6f,\"cpuSeconds\":%.6f}\n", bytes, now() - t0, cpu() - c0);
    return 0;
  }
  if (strcmp(argv[1], "W2") == 0) {
    int trips = atoi(argv[3]);
    int timed = argc < 5 || strcmp(argv[4], "untimed") != 0;
    int m = start("exec cat", &pid, nb);
    skip_ready(m, nb);
    double* lat = malloc(sizeof(double) * trips);
    char msg[64];
    memset(msg, 'e', sizeof(msg));
    double c0 = cpu();
    for (int i = 0; i < trips; i++) {
      double t = timed ? now() : 0;
      if (write(m, msg, 64) != 64) return 3;
      for (int got = 0; got < 64;) {
        ssize_t r = rd(m, buf, 64 - got, nb);
        if (r <= 0) return 3;
        got += r;
      }
      lat[i] = timed ? (now() - t) * 1e6 : 0;
    }
    if (!timed) {
      printf("{\"trips\":%d}\n", trips);
      kill(pid, SIGKILL);
      return 0;
    }
    double cpuUs = (cpu() - c0) * 1e6 / trips;
    int cmp(const void* a, const void* b) { double x = *(const double*)a, y = *(const double*)b; return x < y ? -1 : x > y; }
    qsort(lat, trips, sizeof(double), cmp);
    printf("{\"trips\":%d,\"p50\":%.3f,\"p99\":%.3f,\"cpuUsPerTrip\":%.3f}\n", trips, lat[trips / 2], lat[trips * 99 / 100], cpuUs);
    kill(pid, SIGKILL);
    return 0;
  }
  if (strcmp(argv[1], "W4") == 0) {
    long long size = atoll(argv[3]);
    char script[256];
    snprintf(script, sizeof(script), "exec head -c %lld > /dev/null", size);
    int m = start(script, &pid, 0);
    skip_ready(m, 0);
    memset(buf, 'w', sizeof(buf));
    double c0 = cpu(), t0 = now();
    for (long long sent = 0; sent < size;) {
      size_t n = size - sent < (long long)sizeof(buf) ? size - sent : sizeof(buf);
      ssize_t r = write(m, buf, n);
      if (r < 0 && errno != EINTR) return 3;
      if (r > 0) sent += r;
    }
    int status;
    waitpid(pid, &status, 0);
    long long bytes = WIFEXITED(status) && WEXITSTATUS(status) == 0 ? size : 0;
    printf("{\"bytes\":%lld,\"seconds\":%.6f,\"cpuSeconds\":%.6f}\n", bytes, now() - t0, cpu() - c0);
    return 0;
  }
  return 2;
}
