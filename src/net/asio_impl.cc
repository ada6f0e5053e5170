// The one translation unit that compiles Asio's implementation (ASIO_SEPARATE_COMPILATION), so
// no other file pays for it.
#include <asio/impl/src.hpp>
