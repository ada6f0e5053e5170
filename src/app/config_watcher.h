#pragma once
// Notices when the config file may have changed, for hot reload: inotify on the file's directory,
// so editors that write a new file and rename it over the old one, and Kubernetes ConfigMap
// updates (an atomic swap of the `..data` symlink the file points through), are seen as well as
// writes in place. Events are only hints: the caller compares the file's bytes with what it
// loaded last and reloads only when they differ.

#include <string>

namespace flexgate::app {

class ConfigWatcher {
 public:
  // Watches the directory of `path`. When inotify is not available, ok() is false and poll()
  // never reports a change (SIGHUP and the admin API still reload).
  explicit ConfigWatcher(const std::string& path);
  ~ConfigWatcher();
  ConfigWatcher(const ConfigWatcher&) = delete;
  ConfigWatcher& operator=(const ConfigWatcher&) = delete;

  bool ok() const { return fd_ >= 0; }
  // The inotify descriptor, readable when poll() has something to read (-1 when !ok()).
  int fd() const { return fd_; }
  const std::string& error() const { return error_; }

  // Reads every pending event without blocking; true when any may have changed the file: its
  // own name, a "..name" entry (Kubernetes' ..data symlink), or the directory itself.
  bool poll();

 private:
  int fd_ = -1;
  int watch_ = -1;
  std::string file_name_;  // the config's name in the watched directory
  std::string error_;
};

// The whole file, or "" when it cannot be read (the reload then reports why).
std::string read_config_bytes(const std::string& path);

}  // namespace flexgate::app
