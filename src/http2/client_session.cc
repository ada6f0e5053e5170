#include "http2/client_session.h"

#include <nghttp2/nghttp2.h>

#include "http2/nghttp2_glue.h"

namespace flexgate::http2 {

// One stream's response as it arrives.
struct ClientSession::StreamState {
  ResponseHead head;         // the header block being received (final once `responded`)
  FieldList trailers;        // the block after the body
  std::size_t header_bytes = 0;
  bool responded = false;    // the final head was delivered
  bool in_trailers = false;  // the current header block is the trailers
  bool failed = false;       // a stream error of ours: its closing reports no response
};

struct ClientSession::Callbacks {
  static ClientSession& self(void* user_data) { return *static_cast<ClientSession*>(user_data); }

  static StreamState* find(ClientSession& s, std::int32_t stream_id) {
    auto found = s.streams_.find(stream_id);
    return found != s.streams_.end() ? found->second.get() : nullptr;
  }

  // A stream error of ours (limit, malformed field): RST_STREAM, and no more of its frames.
  static int stream_error(ClientSession& s, nghttp2_session* session, std::int32_t stream_id, std::uint32_t code) {
    if (StreamState* stream = find(s, stream_id)) stream->failed = true;
    nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, stream_id, code);
    return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
  }

  static int on_begin_headers(nghttp2_session*, const nghttp2_frame* frame, void* user_data) {
    StreamState* stream = find(self(user_data), frame->hd.stream_id);
    if (stream == nullptr || frame->hd.type != NGHTTP2_HEADERS) return 0;
    stream->header_bytes = 0;
    stream->in_trailers = stream->responded;
    if (!stream->responded) stream->head = ResponseHead{};  // after a 1xx: a fresh head
    return 0;
  }

  static int on_header(nghttp2_session* session, const nghttp2_frame* frame, const std::uint8_t* name_data,
                       std::size_t name_length, const std::uint8_t* value_data, std::size_t value_length,
                       std::uint8_t /*flags*/, void* user_data) {
    ClientSession& s = self(user_data);
    StreamState* stream = find(s, frame->hd.stream_id);
    if (stream == nullptr || stream->failed) return 0;
    stream->header_bytes += name_length + value_length + 32;  // RFC 9113 6.5.2's accounting
    if (stream->header_bytes > s.limits_.max_header_list_size) {
      return stream_error(s, session, frame->hd.stream_id, NGHTTP2_INTERNAL_ERROR);
    }
    const std::string_view name(reinterpret_cast<const char*>(name_data), name_length);
    const std::string_view value(reinterpret_cast<const char*>(value_data), value_length);
    if (stream->in_trailers) {
      stream->trailers.emplace_back(std::string(name), std::string(value));
      return 0;
    }
    if (name == ":status") {
      // nghttp2 has checked: three digits, once, first.
      stream->head.status = (value[0] - '0') * 100 + (value[1] - '0') * 10 + (value[2] - '0');
      return 0;
    }
    if (name == "content-length") {
      std::int64_t length = 0;
      for (char c : value) length = length * 10 + (c - '0');  // nghttp2 checked the digits
      stream->head.content_length = length;
    }
    stream->head.fields.emplace_back(std::string(name), std::string(value));
    return 0;
  }

  // A field nghttp2 would otherwise drop silently (uppercase name, bad byte...): a stream error,
  // so a response that is not exactly what the upstream meant never reaches the client.
  static int on_invalid_header(nghttp2_session* session, const nghttp2_frame* frame, const std::uint8_t*,
                               std::size_t, const std::uint8_t*, std::size_t, std::uint8_t, void* user_data) {
    return stream_error(self(user_data), session, frame->hd.stream_id, NGHTTP2_PROTOCOL_ERROR);
  }

  static int on_frame_recv(nghttp2_session*, const nghttp2_frame* frame, void* user_data) {
    ClientSession& s = self(user_data);
    const std::int32_t stream_id = frame->hd.stream_id;
    const bool end_stream = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
    if (frame->hd.type == NGHTTP2_SETTINGS) s.settings_received_ = true;
    if (frame->hd.type == NGHTTP2_GOAWAY) {
      s.goaway_received_ = true;
      s.goaway_last_stream_id_ = frame->goaway.last_stream_id;
      return 0;
    }
    StreamState* stream = find(s, stream_id);
    if (stream == nullptr || stream->failed) return 0;
    if (frame->hd.type == NGHTTP2_HEADERS) {
      if (stream->in_trailers) {
        s.handler_.on_trailers(stream_id, std::move(stream->trailers));
        stream->trailers.clear();
      } else if (stream->head.status >= 200) {
        stream->responded = true;
        stream->head.end_stream = end_stream;
        s.handler_.on_response(stream_id, std::move(stream->head));
      } else {
        return 0;  // interim response (100, 103...): dropped; the final one follows
      }
    }
    if ((frame->hd.type == NGHTTP2_HEADERS || frame->hd.type == NGHTTP2_DATA) && end_stream && stream->responded) {
      s.handler_.on_response_end(stream_id);
    }
    return 0;
  }

  static int on_data_chunk(nghttp2_session*, std::uint8_t /*flags*/, std::int32_t stream_id, const std::uint8_t* data,
                           std::size_t length, void* user_data) {
    ClientSession& s = self(user_data);
    StreamState* stream = find(s, stream_id);
    if (stream == nullptr || stream->failed || !stream->responded) return 0;
    s.handler_.on_response_body(stream_id, std::span<const std::uint8_t>(data, length));
    return 0;
  }

  static int on_stream_close(nghttp2_session*, std::int32_t stream_id, std::uint32_t error_code, void* user_data) {
    ClientSession& s = self(user_data);
    auto found = s.streams_.find(stream_id);
    if (found == s.streams_.end()) return 0;
    const bool failed = found->second->failed;
    const bool responded = found->second->responded;
    s.streams_.erase(found);
    --s.open_streams_;
    // Never processed by the upstream (RFC 9113 8.7): safe to send again, even a POST.
    const bool retryable = !responded && (error_code == NGHTTP2_REFUSED_STREAM ||
                                          (s.goaway_received_ && stream_id > s.goaway_last_stream_id_));
    if (failed && error_code == NGHTTP2_NO_ERROR) error_code = NGHTTP2_PROTOCOL_ERROR;
    s.handler_.on_stream_closed(stream_id, error_code, retryable);
    return 0;
  }

  static ssize_t read_body(nghttp2_session*, std::int32_t stream_id, std::uint8_t* buffer, std::size_t length,
                           std::uint32_t* data_flags, nghttp2_data_source*, void* user_data) {
    bool end = false;
    const std::size_t n = self(user_data).handler_.read_request_body(stream_id, buffer, length, end);
    return glue::pulled(n, end, data_flags);
  }
};

ClientSession::ClientSession(ClientHandler& handler, const ClientLimits& limits) : handler_(handler), limits_(limits) {
  nghttp2_session_callbacks* callbacks = glue::new_callbacks<Callbacks>();
  nghttp2_option* option = glue::new_options(limits.max_continuations);
  nghttp2_session_client_new2(&session_, callbacks, this, option);
  nghttp2_option_del(option);
  nghttp2_session_callbacks_del(callbacks);
  const nghttp2_settings_entry settings[] = {
      {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, limits.max_header_list_size},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, limits.initial_window_size},
  };
  nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings, sizeof settings / sizeof settings[0]);
  glue::set_connection_window(session_, limits.initial_window_size);
}

ClientSession::~ClientSession() { nghttp2_session_del(session_); }

std::error_code ClientSession::receive(std::span<const char> bytes) {
  const auto* data = reinterpret_cast<const std::uint8_t*>(bytes.data());
  const ssize_t read = nghttp2_session_mem_recv(session_, data, bytes.size());
  if (read < 0) {
    failure_ = nghttp2_strerror(static_cast<int>(read));
    nghttp2_session_terminate_session(session_, NGHTTP2_PROTOCOL_ERROR);
    return std::make_error_code(std::errc::protocol_error);
  }
  return {};
}

std::span<const std::uint8_t> ClientSession::output() { return glue::take_output(session_); }

bool ClientSession::wants_read() const { return nghttp2_session_want_read(session_) != 0; }
bool ClientSession::wants_write() const { return nghttp2_session_want_write(session_) != 0; }

std::size_t ClientSession::stream_capacity() const {
  if (goaway_received_ || nghttp2_session_check_request_allowed(session_) == 0) return 0;
  // Client stream ids are odd and end at 2^31-1: a long-lived connection runs out of them.
  if (nghttp2_session_get_next_stream_id(session_) >= (1U << 31) - 2) return 0;
  const std::uint32_t limit =
      nghttp2_session_get_remote_settings(session_, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS);
  return limit > open_streams_ ? limit - open_streams_ : 0;
}

std::int32_t ClientSession::submit(const OutgoingRequest& request, bool has_body) {
  if (!can_open_stream()) return -1;
  glue::NvList nva;
  nva.add(":method", request.method);
  nva.add(":scheme", request.scheme);
  nva.add(":authority", request.authority);
  nva.add(":path", request.path);
  for (const auto& [name, value] : request.fields) nva.add(name, value);
  nghttp2_data_provider provider{};
  provider.read_callback = &Callbacks::read_body;
  const std::int32_t stream_id =
      nghttp2_submit_request(session_, nullptr, nva.data(), nva.size(), has_body ? &provider : nullptr, nullptr);
  if (stream_id < 0) return stream_id;
  streams_.emplace(stream_id, std::make_unique<StreamState>());
  ++open_streams_;
  return stream_id;
}

void ClientSession::resume(std::int32_t stream_id) { nghttp2_session_resume_data(session_, stream_id); }

void ClientSession::consume(std::int32_t stream_id, std::size_t bytes) {
  nghttp2_session_consume(session_, stream_id, bytes);
}

void ClientSession::reset(std::int32_t stream_id, std::uint32_t error_code) {
  if (auto found = streams_.find(stream_id); found != streams_.end()) found->second->failed = true;
  nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, stream_id, error_code);
}

void ClientSession::shut_down() {
  nghttp2_submit_goaway(session_, NGHTTP2_FLAG_NONE, 0, NGHTTP2_NO_ERROR, nullptr, 0);
}

}  // namespace flexgate::http2
