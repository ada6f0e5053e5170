#pragma once
// What the server and client sessions share over nghttp2 (internal to http2/): the callback set,
// the options, the connection window, pulling a body and draining output.

#include <nghttp2/nghttp2.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace flexgate::http2::glue {

// A name/value pair for nghttp2, which copies them into its frames (no NO_COPY flags).
inline nghttp2_nv make_nv(std::string_view name, std::string_view value) {
  return nghttp2_nv{reinterpret_cast<std::uint8_t*>(const_cast<char*>(name.data())),
                    reinterpret_cast<std::uint8_t*>(const_cast<char*>(value.data())), name.size(), value.size(),
                    NGHTTP2_NV_FLAG_NONE};
}

// The name/value list of one header block, on the stack up to kInline fields (a typical response),
// in a vector beyond: submitting a response allocates nothing for its list.
// NOLINTNEXTLINE(cppcoreguidelines-pro-type-member-init): only the first size_ entries are read
class NvList {
 public:
  static constexpr std::size_t kInline = 32;
  void add(std::string_view name, std::string_view value) {
    if (size_ < kInline) {
      inline_[size_] = make_nv(name, value);
    } else {
      if (overflow_.empty()) overflow_.assign(inline_.begin(), inline_.end());
      overflow_.push_back(make_nv(name, value));
    }
    ++size_;
  }
  const nghttp2_nv* data() const { return size_ <= kInline ? inline_.data() : overflow_.data(); }
  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

 private:
  std::array<nghttp2_nv, kInline> inline_;  // left uninitialized: a response fills a few
  std::vector<nghttp2_nv> overflow_;
  std::size_t size_ = 0;
};

// The callbacks of a session side: `C` has on_begin_headers, on_header, on_invalid_header,
// on_frame_recv, on_data_chunk and on_stream_close. Free with nghttp2_session_callbacks_del().
template <typename C>
nghttp2_session_callbacks* new_callbacks() {
  nghttp2_session_callbacks* callbacks = nullptr;
  nghttp2_session_callbacks_new(&callbacks);
  nghttp2_session_callbacks_set_on_begin_headers_callback(callbacks, &C::on_begin_headers);
  nghttp2_session_callbacks_set_on_header_callback(callbacks, &C::on_header);
  nghttp2_session_callbacks_set_on_invalid_header_callback(callbacks, &C::on_invalid_header);
  nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, &C::on_frame_recv);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, &C::on_data_chunk);
  nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, &C::on_stream_close);
  return callbacks;
}

// Options of both sides. Received-body windows open as the consumer takes bytes (consume()), not
// as they arrive; nghttp2's own flood guards bound CONTINUATIONs, SETTINGS and queued control
// frames. Free with nghttp2_option_del().
inline nghttp2_option* new_options(std::uint64_t max_continuations) {
  nghttp2_option* option = nullptr;
  nghttp2_option_new(&option);
  nghttp2_option_set_no_auto_window_update(option, 1);
  nghttp2_option_set_max_send_header_block_length(option, 64 * 1024);
  nghttp2_option_set_max_continuations(option, max_continuations);
  nghttp2_option_set_max_settings(option, 32);
  nghttp2_option_set_max_outbound_ack(option, 1000);
  return option;
}

// The connection window: room for a few streams' bodies at once (each stream has its own).
inline void set_connection_window(nghttp2_session* session, std::uint32_t stream_window) {
  nghttp2_session_set_local_window_size(
      session, NGHTTP2_FLAG_NONE, 0,
      static_cast<std::int32_t>(std::min<std::uint64_t>(std::uint64_t{stream_window} * 4, (1U << 31) - 1)));
}

// A data provider's answer after pulling `n` bytes: the bytes, the end, or a pause (0 without
// the end defers the stream until it is resumed).
inline ssize_t pulled(std::size_t n, bool end, std::uint32_t* data_flags) {
  if (end) *data_flags |= NGHTTP2_DATA_FLAG_EOF;
  if (n == 0 && !end) return NGHTTP2_ERR_DEFERRED;
  return static_cast<ssize_t>(n);
}

// Bytes to send now (empty when there are none); valid until the next call on `session`.
inline std::span<const std::uint8_t> take_output(nghttp2_session* session) {
  const std::uint8_t* data = nullptr;
  const ssize_t length = nghttp2_session_mem_send(session, &data);
  if (length <= 0) return {};
  return {data, static_cast<std::size_t>(length)};
}

}  // namespace flexgate::http2::glue
