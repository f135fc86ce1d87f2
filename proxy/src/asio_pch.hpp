// Precompiled header for the network side of the proxy: Asio with SSL and
// coroutines is most of the compile time of every file that uses it.
#pragma once

#include <boost/asio.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ssl.hpp>
