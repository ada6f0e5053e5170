#include "app/config_watcher.h"

#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string_view>

#include "core/errno_text.h"

namespace flexgate::app {

ConfigWatcher::ConfigWatcher(const std::string& path) {
  fd_ = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd_ < 0) {
    error_ = std::string("inotify_init1: ") + errno_text(errno);
    return;
  }
  const std::filesystem::path absolute = std::filesystem::absolute(path);
  const std::filesystem::path directory = absolute.parent_path();
  file_name_ = absolute.filename().string();
  // Every way a file's content can change under a directory: a write in place (seen as the writer
  // closes it), a new file renamed over it, a symlink swapped, a file removed and created again.
  // Not IN_MODIFY: it comes with every write to any file here, and a log kept open beside the
  // config (the gateway's own access log, say) would wake the main thread for each of its writes.
  const std::uint32_t mask =
      IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF;
  watch_ = ::inotify_add_watch(fd_, directory.c_str(), mask);
  if (watch_ < 0) {
    error_ = "inotify_add_watch " + directory.string() + ": " + errno_text(errno);
    ::close(fd_);
    fd_ = -1;
  }
}

ConfigWatcher::~ConfigWatcher() {
  if (fd_ >= 0) ::close(fd_);
}

bool ConfigWatcher::poll() {
  if (fd_ < 0) return false;
  bool changed = false;
  alignas(inotify_event) char buffer[4096];
  for (;;) {
    const ssize_t n = ::read(fd_, buffer, sizeof buffer);
    if (n <= 0) break;  // EAGAIN: drained
    for (ssize_t at = 0; at < n;) {
      const auto* event = reinterpret_cast<const inotify_event*>(buffer + at);
      const std::string_view name = event->len > 0 ? std::string_view(event->name) : std::string_view();
      // The file itself, the directory itself, or a Kubernetes-style "..data" symlink swap. Other
      // files of a busy directory (/tmp) are not hints.
      if (name == file_name_ || name.starts_with("..") || (event->mask & (IN_DELETE_SELF | IN_MOVE_SELF)) != 0) {
        changed = true;
      }
      at += static_cast<ssize_t>(sizeof(inotify_event) + event->len);
    }
  }
  return changed;
}

std::string read_config_bytes(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return {};
  std::ostringstream bytes;
  bytes << file.rdbuf();
  return bytes.str();
}

}  // namespace flexgate::app
