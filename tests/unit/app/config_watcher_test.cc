#include "app/config_watcher.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace flexgate::app {
namespace {

namespace fs = std::filesystem;

// A fresh directory holding config.yml, removed at the end of the test.
class ConfigWatcherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
    directory_ = fs::temp_directory_path() / ("flexgate-watch-" + std::string(test->name()) + "-" +
                                              std::to_string(::getpid()));
    fs::remove_all(directory_);
    fs::create_directories(directory_);
    std::ofstream(config_path()) << "proxy: {}\n";
  }
  void TearDown() override { fs::remove_all(directory_); }

  fs::path config_path() const { return directory_ / "config.yml"; }

  // Whether the watcher's descriptor has an event to read now: inotify queues an event within the
  // syscall that caused it, so no waiting is needed.
  static bool readable(const ConfigWatcher& watcher) {
    pollfd entry{watcher.fd(), POLLIN, 0};
    return ::poll(&entry, 1, 0) == 1;
  }

  fs::path directory_;
};

TEST_F(ConfigWatcherTest, AWriteInPlaceIsSeenWhenTheWriterClosesTheFile) {
  ConfigWatcher watcher(config_path().string());
  ASSERT_TRUE(watcher.ok()) << watcher.error();
  EXPECT_FALSE(readable(watcher));
  std::ofstream(config_path(), std::ios::trunc) << "proxy: {port: 8081}\n";
  EXPECT_TRUE(readable(watcher));
  EXPECT_TRUE(watcher.poll());
  EXPECT_FALSE(readable(watcher));
}

// The main thread sleeps on the watcher's descriptor: a log kept open beside the config (the
// gateway's own access log, in a bench or a small deployment) must not wake it on every write.
TEST_F(ConfigWatcherTest, WritesToAnotherOpenFileInTheDirectoryWakeNobody) {
  std::ofstream log(directory_ / "access.log");
  ASSERT_TRUE(log.is_open());
  ConfigWatcher watcher(config_path().string());
  ASSERT_TRUE(watcher.ok()) << watcher.error();
  for (int line = 0; line < 100; ++line) {
    log << "{\"status\":200}\n";
    log.flush();
  }
  EXPECT_FALSE(readable(watcher));
  EXPECT_FALSE(watcher.poll());
}

// Another file written and closed is read as an event but is not a hint for the config.
TEST_F(ConfigWatcherTest, AnotherFileClosedAfterWritingIsNotAHint) {
  ConfigWatcher watcher(config_path().string());
  ASSERT_TRUE(watcher.ok()) << watcher.error();
  std::ofstream(directory_ / "other.yml") << "x: 1\n";
  EXPECT_TRUE(readable(watcher));
  EXPECT_FALSE(watcher.poll());
  EXPECT_FALSE(readable(watcher));
}

TEST_F(ConfigWatcherTest, AFileRenamedOverTheConfigIsSeen) {
  ConfigWatcher watcher(config_path().string());
  ASSERT_TRUE(watcher.ok()) << watcher.error();
  std::ofstream(directory_ / "config.yml.tmp") << "proxy: {port: 8082}\n";
  fs::rename(directory_ / "config.yml.tmp", config_path());
  EXPECT_TRUE(watcher.poll());
}

}  // namespace
}  // namespace flexgate::app
