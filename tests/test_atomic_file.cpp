// Outputs are replaced atomically: a failed or interrupted run leaves the previous file intact and no
// temporary file behind.
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "atomic_file.hpp"
#include "gpuperf/error.hpp"

namespace fs = std::filesystem;

namespace {
fs::path fresh_dir(const char* name) {
  fs::path d = fs::temp_directory_path() / name;
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}
std::string read(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}
int files_in(const fs::path& d) {
  int n = 0;
  for (const auto& e : fs::directory_iterator(d)) n += e.is_regular_file() ? 1 : 0;
  return n;
}
}  // namespace

TEST(AtomicFile, ReplacesTheContentAndLeavesNoTemporary) {
  fs::path d = fresh_dir("gpuperf_atomic_1");
  gpuperf::cli::write_file_atomically(d / "out.yaml", "one\n");
  gpuperf::cli::write_file_atomically(d / "out.yaml", "two\n");
  EXPECT_EQ(read(d / "out.yaml"), "two\n");
  EXPECT_EQ(files_in(d), 1);
  fs::remove_all(d);
}

TEST(AtomicFile, AMissingFolderIsAnInputErrorAndWritesNothing) {
  EXPECT_THROW(gpuperf::cli::write_file_atomically("/nonexistent-gpuperf-dir/x.yaml", "x"), gpuperf::InputError);
}

TEST(AtomicFile, ADirectoryTargetIsRefused) {
  fs::path d = fresh_dir("gpuperf_atomic_2");
  EXPECT_THROW(gpuperf::cli::write_file_atomically(d, "x"), gpuperf::InputError);
  fs::remove_all(d);
}

TEST(AtomicFile, AnInterruptedCalibrationLeavesThePreviousFileIntact) {
  fs::path d = fresh_dir("gpuperf_atomic_3");
  fs::path out = d / "cal.yaml";
  std::ofstream(out) << "previous\n";
  std::string outs = out.string();
  std::vector<std::string> args = {
      GPUPERF_BINARY, "calibrate", "--measurements", "survey-sd512", "survey-sd-hires", "survey-llama13b-4bit",
      "--out",        outs};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  ASSERT_EQ(posix_spawn(&pid, GPUPERF_BINARY, nullptr, nullptr, argv.data(), environ), 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(700));  // mid-fit: the full run takes seconds
  kill(pid, SIGINT);
  int status = 0;
  waitpid(pid, &status, 0);
  // The fit with leave-one-out refits takes seconds: the run was stopped in the middle.
  EXPECT_TRUE(WIFSIGNALED(status));
  EXPECT_EQ(read(out), "previous\n");
  EXPECT_EQ(files_in(d), 1);
  fs::remove_all(d);
}
