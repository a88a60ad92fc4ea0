#include "atomic_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>

#include "commands.hpp"
#include "gpuperf/error.hpp"

namespace gpuperf::cli {

namespace fs = std::filesystem;

namespace {

// An interrupt while the temporary file exists removes it, then ends the process as the signal would:
// the target keeps its previous content and no stray temporary is left behind.
char g_temp_path[4096];
volatile std::sig_atomic_t g_temp_active = 0;

extern "C" void remove_temp_and_reraise(int sig) {
  if (g_temp_active) ::unlink(g_temp_path);
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

struct TempGuard {
  struct sigaction old_int {
  }, old_term{};
  explicit TempGuard(const std::string& path) {
    std::strncpy(g_temp_path, path.c_str(), sizeof g_temp_path - 1);
    g_temp_active = 1;
    struct sigaction sa {};
    sa.sa_handler = remove_temp_and_reraise;
    sigemptyset(&sa.sa_mask);
    ::sigaction(SIGINT, &sa, &old_int);
    ::sigaction(SIGTERM, &sa, &old_term);
  }
  ~TempGuard() {
    g_temp_active = 0;
    ::sigaction(SIGINT, &old_int, nullptr);
    ::sigaction(SIGTERM, &old_term, nullptr);
  }
};

}  // namespace

void write_file_atomically(const fs::path& path, const std::string& content) {
  const std::string name = path.string();
  std::error_code ec;
  if (fs::is_directory(path, ec)) throw InputError({name, 0, 0}, "is a directory, cannot write the output there");
  fs::path dir = path.parent_path().empty() ? fs::path(".") : path.parent_path();
  if (!fs::is_directory(dir, ec)) throw InputError({name, 0, 0}, "output folder '" + dir.string() + "' does not exist");
  std::string tmpl = (dir / ("." + path.filename().string() + ".tmp.XXXXXX")).string();
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  int fd = ::mkstemp(buf.data());
  if (fd < 0) throw InputError({name, 0, 0}, std::string("cannot create a temporary file: ") + std::strerror(errno));
  const std::string tmp(buf.data());
  TempGuard guard(tmp);
  auto fail = [&](const char* what) {
    int err = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    throw InputError({name, 0, 0}, std::string(what) + ": " + std::strerror(err));
  };
  const char* p = content.data();
  std::size_t left = content.size();
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail("write failed");
    }
    p += n;
    left -= static_cast<std::size_t>(n);
  }
  if (::fchmod(fd, 0644) != 0) fail("cannot set permissions");
  if (::fsync(fd) != 0) fail("fsync failed");
  if (::close(fd) != 0) {
    ::unlink(tmp.c_str());
    throw InputError({name, 0, 0}, std::string("close failed: ") + std::strerror(errno));
  }
  if (::rename(tmp.c_str(), name.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    throw InputError({name, 0, 0}, std::string("cannot rename the temporary file into place: ") + std::strerror(err));
  }
}

void refuse_overwriting_inputs(const fs::path& out, const std::vector<fs::path>& inputs) {
  std::error_code ec;
  if (!fs::exists(out, ec)) return;
  for (const auto& in : inputs) {
    std::error_code ec2;
    if (fs::exists(in, ec2) && fs::equivalent(out, in, ec2))
      throw UsageError("--out '" + out.string() + "' is an input of this run ('" + in.string() +
                       "'); refusing to overwrite it");
  }
}

}  // namespace gpuperf::cli
