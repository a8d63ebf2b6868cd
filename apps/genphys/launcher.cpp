// train --nproc: fork/exec of the local ranks with torchrun's variables.
#include "launcher.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "genphys/errors.hpp"

namespace genphys::cli {
namespace {

constexpr const char* kLaunchedVariable = "GENPHYS_LOCAL_LAUNCH";

std::vector<pid_t> g_children;
volatile sig_atomic_t g_forwarded = 0;

extern "C" void forward_signal(int signo) {
  g_forwarded = signo;
  for (pid_t pid : g_children)
    if (pid > 0) ::kill(pid, signo);
}

// This process's arguments as the kernel has them, without --nproc K / --nproc=K.
std::vector<std::string> arguments_without_nproc() {
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  const std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::string> args;
  for (std::size_t start = 0; start < all.size();) {
    const std::size_t end = all.find('\0', start);
    args.push_back(all.substr(start, end - start));
    start = end == std::string::npos ? all.size() : end + 1;
  }
  std::vector<std::string> kept;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--nproc") {
      ++i;
      continue;
    }
    if (args[i].rfind("--nproc=", 0) == 0) continue;
    kept.push_back(args[i]);
  }
  return kept;
}

// A port the kernel has free on loopback now (bound to port 0, then released for rank 0's store).
int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw InputError(std::string("--nproc: cannot open a socket: ") + std::strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    throw InputError(std::string("--nproc: cannot find a free port: ") + std::strerror(errno));
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

int exit_code(int status) { return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status); }

}  // namespace

bool quiet_local_rank() {
  const char* launched = std::getenv(kLaunchedVariable);
  const char* rank = std::getenv("RANK");
  return launched != nullptr && rank != nullptr && std::string(rank) != "0";
}

int run_local_ranks(int nproc) {
  if (std::getenv("WORLD_SIZE") != nullptr)
    throw InputError("--nproc starts the ranks itself: drop it under torchrun (WORLD_SIZE is set)");
  const std::vector<std::string> args = arguments_without_nproc();
  const char* port_set = std::getenv("MASTER_PORT");
  const std::string port = port_set ? port_set : std::to_string(free_port());

  struct sigaction forward {}, old[3];
  forward.sa_handler = forward_signal;
  sigemptyset(&forward.sa_mask);
  const int signals[3] = {SIGINT, SIGTERM, SIGHUP};
  for (int i = 0; i < 3; ++i) sigaction(signals[i], &forward, &old[i]);

  g_children.assign(std::size_t(nproc), 0);
  for (int r = 0; r < nproc; ++r) {
    const pid_t pid = ::fork();
    if (pid < 0) {
      forward_signal(SIGTERM);
      throw InputError(std::string("--nproc: cannot start a rank: ") + std::strerror(errno));
    }
    if (pid == 0) {
      for (int i = 0; i < 3; ++i) sigaction(signals[i], &old[i], nullptr);
      ::setenv("MASTER_ADDR", "127.0.0.1", 1);
      ::setenv("MASTER_PORT", port.c_str(), 1);
      ::setenv("RANK", std::to_string(r).c_str(), 1);
      ::setenv("LOCAL_RANK", std::to_string(r).c_str(), 1);
      ::setenv("WORLD_SIZE", std::to_string(nproc).c_str(), 1);
      ::setenv("LOCAL_WORLD_SIZE", std::to_string(nproc).c_str(), 1);
      ::setenv(kLaunchedVariable, "1", 1);
      std::vector<char*> argv;
      for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      ::execv("/proc/self/exe", argv.data());
      std::fprintf(stderr, "genphys: error: rank %d: cannot start: %s\n", r, std::strerror(errno));
      ::_exit(127);
    }
    g_children[std::size_t(r)] = pid;
  }

  int first_failure = 0, running = nproc;
  std::chrono::steady_clock::time_point kill_at{};
  while (running > 0) {
    int status = 0;
    const pid_t pid = ::waitpid(-1, &status, first_failure ? WNOHANG : 0);
    if (pid < 0 && errno == EINTR) continue;
    if (pid < 0) break;
    if (pid == 0) {  // a rank failed: the others should notice on their own, else they are killed
      if (std::chrono::steady_clock::now() > kill_at)
        for (pid_t child : g_children)
          if (child > 0) ::kill(child, SIGKILL);
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      continue;
    }
    for (auto& child : g_children)
      if (child == pid) child = 0;
    --running;
    if (exit_code(status) != 0 && first_failure == 0) {
      first_failure = exit_code(status);
      kill_at = std::chrono::steady_clock::now() + std::chrono::seconds(kPeerGraceSeconds);
    }
  }
  for (int i = 0; i < 3; ++i) sigaction(signals[i], &old[i], nullptr);
  return first_failure;
}

}  // namespace genphys::cli
