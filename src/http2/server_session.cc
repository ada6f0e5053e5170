#include "http2/server_session.h"

#include <nghttp2/nghttp2.h>

#include <algorithm>
#include <cassert>
#include <chrono>

#include "http2/nghttp2_glue.h"

namespace flexgate::http2 {

// A request header block being received.
struct ServerSession::Pending {
  std::int32_t stream_id = 0;
  Request request;
  std::size_t header_bytes = 0;
  std::string host;  // a `host` field, compared with :authority at the end
  bool has_host = false;
  bool trailers = false;  // the block is the request's trailer section (fields in request.fields)

  // Ready for a new header block; the strings and the field list keep their storage.
  void reset(std::int32_t id, bool trailer_section) {
    stream_id = id;
    request.method.clear();
    request.scheme.clear();
    request.authority.clear();
    request.path.clear();
    request.fields.clear();
    request.end_stream = false;
    request.content_length = -1;
    header_bytes = 0;
    host.clear();
    has_host = false;
    trailers = trailer_section;
  }
};

namespace {

// Spare header-block states a connection keeps: enough for a burst of concurrent new streams.
constexpr std::size_t kMaxSparePending = 16;

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Field values with leading or trailing whitespace are malformed (RFC 9113 8.2.1); nghttp2 checks
// it too, this keeps the rule here whatever the library version.
bool has_edge_whitespace(std::string_view value) {
  return !value.empty() && (value.front() == ' ' || value.front() == '\t' || value.back() == ' ' || value.back() == '\t');
}

// Fields that describe a connection, not a message (RFC 9113 8.2.2), and framing or routing
// fields: never in a trailer section either way across the gateway.
bool forbidden_in_trailers(std::string_view name) {
  return name == "connection" || name == "keep-alive" || name == "proxy-connection" ||
         name == "transfer-encoding" || name == "upgrade" || name == "te" || name == "host" ||
         name == "content-length" || name == "trailer" || name == "http2-settings";
}

}  // namespace

struct ServerSession::Callbacks {
  static ServerSession& self(void* user_data) { return *static_cast<ServerSession*>(user_data); }

  // Submits the handler's response trailers for `stream_id`; false when there are none to send.
  static bool submit_trailers(ServerSession& s, nghttp2_session* session, std::int32_t stream_id) {
    const std::vector<std::pair<std::string, std::string>>* trailers = s.handler_.response_trailers(stream_id);
    if (trailers == nullptr || trailers->empty()) return false;
    glue::NvList nva;
    for (const auto& [name, value] : *trailers) {
      if (name.empty() || name.front() == ':' || forbidden_in_trailers(name)) continue;
      nva.add(name, value);
    }
    if (nva.empty()) return false;
    return nghttp2_submit_trailer(session, stream_id, nva.data(), nva.size()) == 0;
  }

  static Pending* find(ServerSession& s, std::int32_t stream_id) {
    for (auto& pending : s.pending_) {
      if (pending->stream_id == stream_id) return pending.get();
    }
    return nullptr;
  }
  // Takes the block state of `stream_id` out of the pending ones (nullptr when there is none).
  static std::unique_ptr<Pending> take(ServerSession& s, std::int32_t stream_id) {
    for (auto it = s.pending_.begin(); it != s.pending_.end(); ++it) {
      if ((*it)->stream_id != stream_id) continue;
      std::unique_ptr<Pending> pending = std::move(*it);
      s.pending_.erase(it);
      return pending;
    }
    return nullptr;
  }
  static void recycle(ServerSession& s, std::unique_ptr<Pending> pending) {
    if (pending != nullptr && s.spare_.size() < kMaxSparePending) s.spare_.push_back(std::move(pending));
  }
  static void drop(ServerSession& s, std::int32_t stream_id) { recycle(s, take(s, stream_id)); }

  static bool note_reset(ServerSession& s) {
    const std::int64_t now = now_ms();
    if (now - s.reset_window_start_ms_ >= 1000) {
      s.reset_window_start_ms_ = now;
      s.resets_in_window_ = 0;
    }
    if (++s.resets_in_window_ > s.limits_.max_resets_per_second) {
      s.flood_ = true;
      s.failure_ = "too many stream resets (rapid reset)";
      return false;
    }
    return true;
  }

  static int on_begin_headers(nghttp2_session*, const nghttp2_frame* frame, void* user_data) {
    ServerSession& s = self(user_data);
    if (frame->hd.type != NGHTTP2_HEADERS) return 0;
    // A HEADERS frame on an open request stream is its trailer section (nghttp2 refuses any other).
    const bool trailers = frame->headers.cat == NGHTTP2_HCAT_HEADERS;
    if (frame->headers.cat != NGHTTP2_HCAT_REQUEST && !trailers) return 0;
    std::unique_ptr<Pending> pending;
    if (s.spare_.empty()) {
      pending = std::make_unique<Pending>();
    } else {
      pending = std::move(s.spare_.back());
      s.spare_.pop_back();
    }
    pending->reset(frame->hd.stream_id, trailers);
    s.pending_.push_back(std::move(pending));
    return 0;
  }

  static int on_header(nghttp2_session* session, const nghttp2_frame* frame, const std::uint8_t* name_data,
                       std::size_t name_length, const std::uint8_t* value_data, std::size_t value_length,
                       std::uint8_t /*flags*/, void* user_data) {
    ServerSession& s = self(user_data);
    Pending* pending = find(s, frame->hd.stream_id);
    if (pending == nullptr) return 0;
    const std::string_view name(reinterpret_cast<const char*>(name_data), name_length);
    const std::string_view value(reinterpret_cast<const char*>(value_data), value_length);
    pending->header_bytes += name_length + value_length + 32;
    if (pending->header_bytes > s.limits_.max_header_list_size || has_edge_whitespace(value)) {
      nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, frame->hd.stream_id,
                                pending->header_bytes > s.limits_.max_header_list_size ? NGHTTP2_REFUSED_STREAM
                                                                                       : NGHTTP2_PROTOCOL_ERROR);
      drop(s, frame->hd.stream_id);
      return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    }
    Request& request = pending->request;
    if (pending->trailers) {
      // Strict like the head: a pseudo-header or a connection-specific field is a stream error.
      if ((!name.empty() && name.front() == ':') || forbidden_in_trailers(name)) {
        nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, frame->hd.stream_id, NGHTTP2_PROTOCOL_ERROR);
        drop(s, frame->hd.stream_id);
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
      }
      request.fields.emplace_back(std::string(name), std::string(value));
      return 0;
    }
    if (!name.empty() && name.front() == ':') {
      // nghttp2 has checked that these are known, single, first and complete.
      if (name == ":method") request.method.assign(value);
      else if (name == ":scheme") request.scheme.assign(value);
      else if (name == ":authority") request.authority.assign(value);
      else if (name == ":path") request.path.assign(value);
      return 0;
    }
    if (name == "host") {
      if (pending->has_host) {
        nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, frame->hd.stream_id, NGHTTP2_PROTOCOL_ERROR);
        drop(s, frame->hd.stream_id);
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
      }
      pending->has_host = true;
      pending->host.assign(value);
      return 0;
    }
    if (name == "content-length") {
      std::int64_t length = 0;
      for (char c : value) length = length * 10 + (c - '0');  // nghttp2 checked the digits
      request.content_length = length;
    }
    request.fields.emplace_back(std::string(name), std::string(value));
    return 0;
  }

  // A field nghttp2 would otherwise drop silently (uppercase name, bad byte...): a stream error.
  static int on_invalid_header(nghttp2_session* session, const nghttp2_frame* frame, const std::uint8_t*,
                               std::size_t, const std::uint8_t*, std::size_t, std::uint8_t, void* user_data) {
    drop(self(user_data), frame->hd.stream_id);
    nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, frame->hd.stream_id, NGHTTP2_PROTOCOL_ERROR);
    return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
  }

  static int on_frame_recv(nghttp2_session* session, const nghttp2_frame* frame, void* user_data) {
    ServerSession& s = self(user_data);
    const std::int32_t stream_id = frame->hd.stream_id;
    const bool end_stream = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
    switch (frame->hd.type) {
      case NGHTTP2_HEADERS: {
        // Out of the pending ones before the handler runs (it may reset streams), back to the
        // spares after.
        std::unique_ptr<Pending> pending = take(s, stream_id);
        if (pending == nullptr) {
          if (end_stream) s.handler_.on_request_end(stream_id);  // after trailers
          return 0;
        }
        if (pending->trailers) {
          auto fields = std::move(pending->request.fields);
          recycle(s, std::move(pending));
          s.handler_.on_request_trailers(stream_id, std::move(fields));
          if (end_stream) s.handler_.on_request_end(stream_id);
          return 0;
        }
        Request& request = pending->request;
        // CONNECT and extended CONNECT are not served; without :authority a Host field stands in,
        // and both must agree (a disagreement is how requests get routed twice).
        bool valid = request.method != "CONNECT" && !request.path.empty() && request.path.front() == '/';
        if (valid && pending->has_host) {
          if (request.authority.empty()) {
            request.authority = pending->host;
          } else if (request.authority != pending->host) {
            valid = false;
          }
        }
        if (!valid) {
          recycle(s, std::move(pending));
          nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, stream_id, NGHTTP2_PROTOCOL_ERROR);
          return 0;
        }
        request.end_stream = end_stream;
        s.handler_.on_request(stream_id, request);
        recycle(s, std::move(pending));
        if (end_stream) s.handler_.on_request_end(stream_id);
        return 0;
      }
      case NGHTTP2_DATA:
        if (end_stream) s.handler_.on_request_end(stream_id);
        return 0;
      case NGHTTP2_RST_STREAM:
        return note_reset(s) ? 0 : NGHTTP2_ERR_CALLBACK_FAILURE;
      default:
        return 0;
    }
  }

  static int on_data_chunk(nghttp2_session*, std::uint8_t /*flags*/, std::int32_t stream_id, const std::uint8_t* data,
                           std::size_t length, void* user_data) {
    self(user_data).handler_.on_body(stream_id, std::span<const std::uint8_t>(data, length));
    return 0;
  }

  static int on_stream_close(nghttp2_session*, std::int32_t stream_id, std::uint32_t error_code, void* user_data) {
    ServerSession& s = self(user_data);
    drop(s, stream_id);
    s.handler_.on_stream_closed(stream_id, error_code);
    return 0;
  }

  static ssize_t read_body(nghttp2_session* session, std::int32_t stream_id, std::uint8_t* buffer,
                           std::size_t length, std::uint32_t* data_flags, nghttp2_data_source*, void* user_data) {
    ServerSession& s = self(user_data);
    bool end = false;
    const std::size_t n = s.handler_.read_response_body(stream_id, buffer, length, end);
    // Trailers go out after this last DATA frame, and they carry END_STREAM instead of it.
    if (end && submit_trailers(s, session, stream_id)) *data_flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
    return glue::pulled(n, end, data_flags);
  }
};

ServerSession::ServerSession(Handler& handler, const Limits& limits) : handler_(handler), limits_(limits) {
  nghttp2_session_callbacks* callbacks = glue::new_callbacks<Callbacks>();
  nghttp2_option* option = glue::new_options(limits.max_continuations);
  // The reset-rate guard of nghttp2 too, on top of ours.
  nghttp2_option_set_stream_reset_rate_limit(option, limits.max_resets_per_second, limits.max_resets_per_second);
  // Response fields go out as literals or static-table entries, as nginx and HAProxy send them:
  // searching and filling a dynamic table cost ~3,700 instructions per response (bench/cost.sh,
  // h2c), for a few dozen bytes saved on fields that mostly differ (ids, lengths, dates).
  nghttp2_option_set_max_deflate_dynamic_table_size(option, 0);
  nghttp2_session_server_new2(&session_, callbacks, this, option);
  nghttp2_option_del(option);
  nghttp2_session_callbacks_del(callbacks);
  const nghttp2_settings_entry settings[] = {
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, limits.max_concurrent_streams},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, limits.max_header_list_size},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, limits.initial_window_size},
      {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
  };
  nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings, sizeof settings / sizeof settings[0]);
  glue::set_connection_window(session_, limits.initial_window_size);
}

ServerSession::~ServerSession() { nghttp2_session_del(session_); }

std::error_code ServerSession::receive(std::span<const char> bytes) {
  const auto* data = reinterpret_cast<const std::uint8_t*>(bytes.data());
  const ssize_t read = nghttp2_session_mem_recv(session_, data, bytes.size());
  if (read < 0 || flood_) {
    if (failure_.empty()) failure_ = nghttp2_strerror(static_cast<int>(read));
    // Tell the client why (nghttp2 has queued a GOAWAY for protocol errors).
    nghttp2_session_terminate_session(session_, flood_ ? NGHTTP2_ENHANCE_YOUR_CALM : NGHTTP2_PROTOCOL_ERROR);
    return std::make_error_code(std::errc::protocol_error);
  }
  return {};
}

std::span<const std::uint8_t> ServerSession::output() { return glue::take_output(session_); }

bool ServerSession::wants_read() const { return nghttp2_session_want_read(session_) != 0; }
bool ServerSession::wants_write() const { return nghttp2_session_want_write(session_) != 0; }

void ServerSession::respond(std::int32_t stream_id, int status, std::span<const FieldView> fields, bool has_body) {
  glue::NvList nva;
  char status_text[4] = {static_cast<char>('0' + status / 100), static_cast<char>('0' + status / 10 % 10),
                         static_cast<char>('0' + status % 10), 0};
  nva.add(":status", std::string_view(status_text, 3));
  for (const FieldView& field : fields) nva.add(field.name, field.value);
  nghttp2_data_provider provider{};
  provider.read_callback = &Callbacks::read_body;
  nghttp2_submit_response(session_, stream_id, nva.data(), nva.size(), has_body ? &provider : nullptr);
}

void ServerSession::resume(std::int32_t stream_id) { nghttp2_session_resume_data(session_, stream_id); }

void ServerSession::consume(std::int32_t stream_id, std::size_t bytes) {
  nghttp2_session_consume(session_, stream_id, bytes);
}

void ServerSession::reset(std::int32_t stream_id, std::uint32_t error_code) {
  nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, stream_id, error_code);
}

void ServerSession::shut_down() {
  nghttp2_submit_goaway(session_, NGHTTP2_FLAG_NONE, nghttp2_session_get_last_proc_stream_id(session_),
                        NGHTTP2_NO_ERROR, nullptr, 0);
}

}  // namespace flexgate::http2
