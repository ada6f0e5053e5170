// libFuzzer target: any bytes given to the config loader yield a config or errors, never a crash,
// a hang or an escaping exception. Seeds: fuzz/corpus/config/.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "config/loader.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const flexgate::config::LoadResult result = flexgate::config::load_config_text(text, "fuzz.yml");
  // Exactly one of: a config, or at least one error. Formatting every error must work too.
  if (result.ok() == !result.errors.empty()) __builtin_trap();
  std::size_t total = 0;
  for (const auto& error : result.errors) total += error.to_string().size();
  if (result.ok() && result.config->find_upstream("x") == nullptr) total += 1;
  return total == static_cast<std::size_t>(-1) ? 1 : 0;
}
