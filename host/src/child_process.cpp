// fork + execv with three capture pipes, a poll loop with a deadline, and SIGKILL to the child's process
// group when it runs over (a plugin's static constructor may fork, and may hang forever).
#include "child_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <sstream>
#include <stdexcept>
#include <system_error>
#include <thread>

namespace trl::host {
namespace {

constexpr size_t kMaxCapture = 1 << 20;  // a plugin printing forever must not fill our memory

using Clock = std::chrono::steady_clock;

struct Pipe {
  int read = -1;
  int write = -1;
};

Pipe make_pipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw std::system_error(errno, std::generic_category(), "pipe2");
  return {fds[0], fds[1]};
}

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

// In the child, between fork and exec: only async-signal-safe calls.
void move_fd(int from, int to) {
  if (from == to) {
    ::fcntl(to, F_SETFD, 0);  // dup2 onto itself would keep O_CLOEXEC
  } else {
    ::dup2(from, to);  // the new descriptor has FD_CLOEXEC clear
  }
}

void append_capped(std::string& dst, const char* data, size_t n) {
  dst.append(data, n);
  if (dst.size() > kMaxCapture) dst.erase(0, dst.size() - kMaxCapture);
}

void kill_group(pid_t pid) {
  ::kill(-pid, SIGKILL);
  ::kill(pid, SIGKILL);  // in case setpgid had not run yet
}

std::string seconds_text(double s) {
  std::ostringstream out;
  out << s;
  return out.str();
}

}  // namespace

std::string ChildResult::describe() const {
  if (!started) return "could not be started";
  if (timed_out) return "timed out after " + seconds_text(timeout_s) + " s and was killed";
  if (signal != 0) {
    const char* name = ::strsignal(signal);
    return "killed by signal " + std::to_string(signal) + " (" + (name != nullptr ? name : "unknown") + ")";
  }
  if (exited) return "exit code " + std::to_string(exit_code);
  return "ended in an unknown way";
}

std::vector<std::string> ChildResult::last_err_lines(size_t n) const {
  std::vector<std::string> lines;
  std::istringstream in(err);
  std::string line;
  while (std::getline(in, line))
    if (line.find_first_not_of(" \t\r") != std::string::npos) lines.push_back(line);
  if (lines.size() > n) lines.erase(lines.begin(), lines.end() - static_cast<std::ptrdiff_t>(n));
  return lines;
}

ChildResult run_child(const std::vector<std::string>& argv, double timeout_s, int report_fd) {
  ChildResult r;
  r.timeout_s = timeout_s;
  if (argv.empty() || report_fd < 3) throw std::invalid_argument("run_child: need argv[0] and a report fd >= 3");

  Pipe out = make_pipe(), err = make_pipe(), rep = make_pipe();
  std::vector<char*> cargv;
  for (const std::string& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);

  const pid_t pid = ::fork();
  if (pid < 0) {
    const int e = errno;
    for (Pipe* p : {&out, &err, &rep}) close_fd(p->read), close_fd(p->write);
    throw std::system_error(e, std::generic_category(), "fork");
  }
  if (pid == 0) {
    ::setpgid(0, 0);
    const int devnull = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (devnull >= 0) move_fd(devnull, 0);
    move_fd(out.write, 1);
    move_fd(err.write, 2);
    move_fd(rep.write, report_fd);
    ::execv(cargv[0], cargv.data());
    static const char kMessage[] = "trl-host: exec of the probe failed\n";
    (void)!::write(2, kMessage, sizeof kMessage - 1);
    ::_exit(127);
  }
  r.started = true;
  close_fd(out.write);
  close_fd(err.write);
  close_fd(rep.write);

  const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                           std::chrono::duration<double>(timeout_s));
  bool killed = false;
  auto kill_at_deadline = [&] {
    if (!killed && Clock::now() >= deadline) {
      kill_group(pid);
      killed = true;
      r.timed_out = true;
    }
  };

  struct Stream {
    int* fd;
    std::string* into;
  };
  Stream streams[] = {{&out.read, &r.out}, {&err.read, &r.err}, {&rep.read, &r.report}};
  // After a kill, a grandchild outside the group could still hold a pipe: drain for a short grace only.
  const auto drain_limit = [&] { return deadline + std::chrono::seconds(2); };
  for (;;) {
    pollfd fds[3];
    Stream* which[3];
    nfds_t n = 0;
    for (Stream& s : streams) {
      if (*s.fd < 0) continue;
      fds[n] = {*s.fd, POLLIN, 0};
      which[n++] = &s;
    }
    if (n == 0) break;
    kill_at_deadline();
    if (killed && Clock::now() >= drain_limit()) break;
    const auto left = (killed ? drain_limit() : deadline) - Clock::now();
    const int wait_ms = static_cast<int>(
        std::max<int64_t>(1, std::chrono::duration_cast<std::chrono::milliseconds>(left).count()));
    const int ready = ::poll(fds, n, wait_ms);
    if (ready < 0 && errno != EINTR) break;
    for (nfds_t i = 0; ready > 0 && i < n; ++i) {
      if ((fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
      char buffer[65536];
      const ssize_t got = ::read(fds[i].fd, buffer, sizeof buffer);
      if (got > 0) {
        append_capped(*which[i]->into, buffer, static_cast<size_t>(got));
      } else if (got == 0 || (errno != EINTR && errno != EAGAIN)) {
        close_fd(*which[i]->fd);
      }
    }
  }
  for (Stream& s : streams) close_fd(*s.fd);

  // The pipes are closed, but the child may live on (it closed them itself, or ignores them).
  int status = 0;
  for (;;) {
    const pid_t done = ::waitpid(pid, &status, killed ? 0 : WNOHANG);
    if (done == pid) break;
    if (done < 0 && errno != EINTR) return r;
    kill_at_deadline();
    if (!killed) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  if (WIFEXITED(status)) {
    r.exited = true;
    r.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    r.signal = WTERMSIG(status);
  }
  if (r.timed_out) r.signal = 0;  // our own SIGKILL: the timeout is the story
  return r;
}

}  // namespace trl::host
