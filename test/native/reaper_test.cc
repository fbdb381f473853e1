// The orphans' reaper (native/reaper.cc) on its own, without Node: children
// handed over from several threads at once, and one already a zombie, must
// all be reaped; its thread is joined at exit. Output is TAP;
// scripts/test-asan.mjs runs it under ThreadSanitizer, .ci/run against
// libkqueue too.

#include "../../native/core/reaper.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "tap.h"

namespace {

using tap::Die;
using tap::Ok;

// The process's state letter from /proc/<pid>/stat, or 0 once it is gone
// (reaped: a zombie still has its entry).
char State(pid_t pid) {
  char path[64];
  snprintf(path, sizeof(path), "/proc/%d/stat", static_cast<int>(pid));
  FILE* f = fopen(path, "r");
  if (f == nullptr) return 0;
  char buf[512];
  size_t n = fread(buf, 1, sizeof(buf) - 1, f);
  fclose(f);
  buf[n] = 0;
  const char* close_paren = strrchr(buf, ')');
  return close_paren != nullptr && close_paren[1] == ' ' ? close_paren[2] : '?';
}

// Waits, at most 5 s, until every pid in `pids` is gone.
bool AllGone(const std::vector<pid_t>& pids) {
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  for (;;) {
    bool gone = true;
    for (pid_t pid : pids) gone = gone && State(pid) == 0;
    if (gone) return true;
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

// A child that exits when the write end of `gate` is closed (or at once
// with no gate).
pid_t Child(const int* gate) {
  pid_t pid = fork();
  if (pid < 0) Die("fork");
  if (pid == 0) {
    if (gate != nullptr) close(gate[1]);
    char c;
    if (gate != nullptr) {
      while (read(gate[0], &c, 1) > 0) {
      }
    }
    _exit(0);
  }
  return pid;
}

void TestAdoptFromThreads() {
  int gate[2];
  if (pipe(gate) != 0) Die("pipe");
  std::vector<pid_t> pids;
  for (int i = 0; i < 20; i++) pids.push_back(Child(gate));
  close(gate[0]);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; t++) {
    threads.emplace_back([&pids, t] {
      for (size_t i = t; i < pids.size(); i += 4) kqc::AdoptOrphan(pids[i]);
    });
  }
  for (std::thread& t : threads) t.join();
  bool running = true;
  for (pid_t pid : pids) running = running && State(pid) != 0;
  Ok(running, "20 running children handed over from 4 threads at once");
  close(gate[1]);  // They exit now.
  Ok(AllGone(pids), "each was reaped when it exited");
}

void TestAdoptZombie() {
  pid_t pid = Child(nullptr);
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (State(pid) != 'Z' && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  Ok(State(pid) == 'Z', "a child that has exited is a zombie");
  kqc::AdoptOrphan(pid);
  Ok(AllGone({pid}), "handed over, it is reaped");
}

}  // namespace

int main() {
  tap::Plan(4);
  TestAdoptFromThreads();
  TestAdoptZombie();
  // The reaper's thread is woken and joined by its atexit handler.
  return tap::Done();
}
