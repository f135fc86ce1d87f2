// Content-Transfer-Encoding: undoing base64 and quoted-printable (with
// mimetic's decoders, which skip what they cannot read), and noticing input
// that was not valid in its encoding.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "lodestone/mail.hpp"

namespace lodestone::mail {

enum class TransferEncoding { identity, base64, quoted_printable };

// From a Content-Transfer-Encoding value; anything unknown (7bit, 8bit,
// binary, x-uuencode, garbage) leaves the body as it is.
TransferEncoding parse_transfer_encoding(std::string_view value);

// The decoded bytes.  Quoted-printable hard line breaks come out as "\n".
std::string decode_transfer(std::string_view body, TransferEncoding encoding,
                            Warnings* warnings = nullptr);

// The number of decoded bytes, without keeping them.
std::uint64_t decoded_size(std::string_view body, TransferEncoding encoding,
                           Warnings* warnings = nullptr);

}  // namespace lodestone::mail
