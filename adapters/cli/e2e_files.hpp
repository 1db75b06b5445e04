// SPDX-License-Identifier: Apache-2.0
// End-to-end encrypted files on the command line: `presign encrypt`, `presign decrypt`, and the
// decrypting half of `presign fetch` (presign-net). Format: adapters/crypto/FORMAT.md.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "presign/e2e/aes128gcm.hpp"
#include "presign/e2e/file_metadata.hpp"

namespace presign::cli {

/// A file written under a temporary name in its final directory and renamed into place by
/// `commit`; destroyed uncommitted (any failure), the temporary file is removed, so no partial
/// output is ever left behind. Not thread-safe. Throws cli_error(io) on I/O failures.
class output_file {
  public:
    /// `overwrite` false: commit refuses (cli_error io) when `path` exists.
    output_file(std::string path, bool overwrite);
    output_file(const output_file&) = delete;
    output_file& operator=(const output_file&) = delete;
    ~output_file();

    void write(std::span<const std::uint8_t> data);
    /// Renames to `path` (or to `final_path` when given, same directory rules).
    void commit(const std::optional<std::string>& final_path = std::nullopt);
    [[nodiscard]] std::uint64_t written() const noexcept { return written_; }

  private:
    std::string path_;
    std::string temporary_;
    bool overwrite_;
    int fd_ = -1;
    std::uint64_t written_ = 0;
};

/// Streams an encrypted body into an output_file: update with any pieces, then finish, which
/// checks the last record and the metadata's size and commits. Decryption failures throw
/// cli_error(decrypt_failed) with the library's message; the temporary file is then removed.
class decrypting_writer {
  public:
    /// `output` empty: the file is named after the decrypted metadata (safe_file_name) in
    /// `directory`, else `fallback_name`; such a derived name never overwrites.
    decrypting_writer(const e2e::secret& key, std::optional<std::string> output,
                      std::string directory, std::string fallback_name);
    void update(std::span<const std::uint8_t> ciphertext);
    /// Returns the path written.
    std::string finish();
    /// The decrypted metadata, once the header has been read (empty for a keyid-less body).
    [[nodiscard]] const std::optional<e2e::file_metadata>& metadata() const noexcept {
        return metadata_;
    }

  private:
    void check_header();
    e2e::secret key_;
    e2e::decryptor decryptor_;
    std::optional<std::string> output_;
    std::string directory_;
    std::string fallback_name_;
    output_file file_;
    e2e::bytes plaintext_;
    std::optional<e2e::file_metadata> metadata_;
    bool header_checked_ = false;
};

/// A secret given on the command line: the 22 characters, a whole share link (the part after
/// '#'), or "-" to read either from stdin. Throws cli_error(invalid_input).
[[nodiscard]] e2e::secret parse_secret_option(const std::string& text);

struct encrypt_options {
    std::string file;
    std::string output;
    std::optional<std::string> name;  ///< stored file name (default: FILE's name)
    std::optional<std::string> type;  ///< stored media type (default: from the name)
};

struct decrypt_options {
    std::string file;
    std::string key;
    std::optional<std::string> output;
};

[[nodiscard]] int run_encrypt(const encrypt_options& options);
[[nodiscard]] int run_decrypt(const decrypt_options& options);

}  // namespace presign::cli
